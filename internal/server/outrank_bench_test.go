package server_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
)

// BenchmarkWarnedWrite is one write that stops minted keys and warns of
// them — PUT …/roles/{role} giving the role a permission the keys'
// minter lacks — and one that takes it back (no key stops: judged, no
// warning), in an org whose 100 services bound to the role each hold a
// key minted by a builder. A role's change judges every minted key of
// the org (threat-model rows 98 and 99): the cost of the warning on the
// write path, over HTTP on SQLite.
func BenchmarkWarnedWrite(b *testing.B) {
	const keys = 100
	e, w, org, builder := warnedWorld(b)
	for i := range keys {
		name := fmt.Sprintf("s%d", i)
		e.must(201, "POST", org+"/services", w.owner, map[string]any{"name": name, "role": "svcrole"}, nil)
		e.must(201, "POST", org+"/apikeys", builder, map[string]any{"principal": "service:" + name}, nil)
	}
	raiseAndRestore(b, e, org, w.owner, keys)
}

// BenchmarkWarnedWriteAgentTokens is BenchmarkWarnedWrite with agent
// tokens in place of API keys: 100 agents whose role (their ceiling) is
// the one redefined, each with one unexpired token minted by the
// builder (threat-model row 107: agent tokens are judged and named too).
func BenchmarkWarnedWriteAgentTokens(b *testing.B) {
	const tokens = 100
	e, w, org, builder := warnedWorld(b)
	for i := range tokens {
		name := fmt.Sprintf("A%d", i)
		e.must(201, "POST", org+"/agents", w.owner, map[string]any{"name": name, "role": "svcrole"}, nil)
		e.must(201, "POST", org+"/agents/"+name+"/tokens", builder, map[string]any{"audience": "https://gw.example/mcp/" + w.org + "/default/x", "ttl": "1h"}, nil)
	}
	raiseAndRestore(b, e, org, w.owner, tokens)
}

// raiseAndRestore is the benchmarks' loop: PUT …/roles/svcrole giving
// the role chains:delete, which must warn of stopped credentials, then
// taking it back, which must warn of none.
func raiseAndRestore(b *testing.B, e *env, org, owner string, stopped int) {
	b.Helper()
	raise := map[string]any{"level": 10, "permissions": []string{"chains:read", "chains:delete"}}
	restore := map[string]any{"level": 10, "permissions": []string{"chains:read"}}
	var warned, quiet struct {
		Warnings []api.WriteWarning `json:"warnings"`
	}
	for b.Loop() {
		e.must(200, "PUT", org+"/roles/svcrole", owner, raise, &warned)
		if len(warned.Warnings) != 1 || warned.Warnings[0].Count != stopped {
			b.Fatalf("the raise warned %+v, want %d credentials", warned.Warnings, stopped)
		}
		e.must(200, "PUT", org+"/roles/svcrole", owner, restore, &quiet)
		if len(quiet.Warnings) != 0 {
			b.Fatalf("the restore warned %+v", quiet.Warnings)
		}
	}
}

// warnedWorld is the benchmarks' org: the fixture world, a builder (the
// credentials' minter, returned as its key) and the role svcrole that
// raiseAndRestore redefines.
func warnedWorld(b *testing.B) (e *env, w *world, org, builder string) {
	b.Helper()
	e = newEnv(b, "sqlite", envOpts{})
	w = buildWorldTB(b, e, "")
	org = "/v1/orgs/" + w.org
	builder = e.userWithEmail("bld")
	e.must(201, "POST", org+"/members", w.owner, map[string]any{"user_id": "bld", "role": "builder"}, nil)
	e.must(201, "POST", org+"/roles", w.owner, map[string]any{"name": "svcrole", "level": 10, "permissions": []string{"chains:read"}}, nil)
	return e, w, org, builder
}
