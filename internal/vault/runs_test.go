package vault

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

var triage = authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "escalation-triage"}

// runFx is the fixture with two prod secrets and a chain referencing them,
// written by bob (a builder).
func runFx(t *testing.T, b backend) *fx {
	f := newFx(t, b)
	f.secret("prod", "OPENAI_API_KEY", canary, Meta{})
	f.secret("prod", "DB_PASSWORD", "db-"+canary, Meta{})
	if _, err := f.chain(bob, "prod", triage.ID, "OPENAI_API_KEY", "DB_PASSWORD"); err != nil {
		t.Fatalf("bob writes the chain: %v", err)
	}
	return f
}

func values(r Release) map[string]string {
	m := map[string]string{}
	for _, s := range r.Secrets {
		m[s.Name] = s.Value
	}
	return m
}

// The seed's use without reveal: an operator runs a chain that uses
// secrets it can never read; the runtime gets exactly those values.
func TestUseWithoutReveal(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		g, err := f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{})
		if err != nil {
			t.Fatalf("olga (operator) issues a run token: %v", err)
		}
		if !strings.HasPrefix(g.Token, RunTokenPrefix) || g.ResourceVersion != 1 || g.SecretCount != 2 || g.Secrets != nil {
			t.Errorf("grant = %+v (the operator sees how many secrets, not which)", g)
		}
		if s := g.String() + g.GoString(); strings.Contains(s, g.Token) {
			t.Errorf("the grant prints its token: %s", s)
		}
		wantErr(t, "olga reveals", second(f.v.Reveal(f.ctx, olga, org, "prod", "OPENAI_API_KEY", 0)), ErrNotFound)
		wantErr(t, "olga exchanges her own token", second(f.v.Exchange(f.ctx, olga, org, g.Token)), ErrForbidden)

		rel, err := f.v.Exchange(f.ctx, runner, org, g.Token)
		if err != nil {
			t.Fatalf("the runtime exchanges: %v", err)
		}
		if got := values(rel); len(got) != 2 || got["OPENAI_API_KEY"] != canary || got["DB_PASSWORD"] != "db-"+canary {
			t.Errorf("released %v", rel)
		}
		if rel.Resource != triage || rel.ResourceVersion != 1 || rel.IssuedBy != "user:olga" {
			t.Errorf("release = %v", rel)
		}
		if s := rel.String() + rel.GoString(); strings.Contains(s, canary) {
			t.Errorf("a release prints values: %s", s)
		}
		wantErr(t, "replay", second(f.v.Exchange(f.ctx, runner, org, g.Token)), ErrTokenRefused)
		if meta, _ := f.v.Get(f.ctx, alice, org, "prod", "OPENAI_API_KEY"); meta.LastUsedAt.IsZero() {
			t.Error("the exchange did not stamp last use")
		}

		// A builder holds secrets:list, so its grant names the secrets.
		gb, err := f.v.IssueRunToken(f.ctx, bob, org, triage, RunOptions{})
		if err != nil || strings.Join(gb.Secrets, ",") != "DB_PASSWORD,OPENAI_API_KEY" {
			t.Errorf("bob's grant = %+v, %v", gb, err)
		}
		// A viewer may not run the chain at all.
		wantErr(t, "vic issues", second(f.v.IssueRunToken(f.ctx, vic, org, triage, RunOptions{})), ErrForbidden)
		wantErr(t, "eve issues", second(f.v.IssueRunToken(f.ctx, eve, org, triage, RunOptions{})), ErrNotFound)
		wantErr(t, "a missing chain", second(f.v.IssueRunToken(f.ctx, olga, org, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "nope"}, RunOptions{})), ErrNotFound)
	})
}

// Every way a token can be invalid is refused, the same way, and recorded.
func TestRunTokenRefusals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		issue := func(o RunOptions) RunGrant {
			t.Helper()
			g, err := f.v.IssueRunToken(f.ctx, olga, org, triage, o)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		refusedWith := func(what string, who Actor, token string, want error) {
			t.Helper()
			_, err := f.v.Exchange(f.ctx, who, org, token)
			wantErr(t, what, err, want)
			if err != nil && token != "" && strings.Contains(err.Error(), token) {
				t.Errorf("%s: the error quotes the token", what)
			}
		}

		g := issue(RunOptions{})
		f.clock.advance(DefaultRunTokenTTL + time.Second)
		refusedWith("expired", runner, g.Token, ErrTokenRefused)

		g = issue(RunOptions{TTL: time.Second})
		if ttl := g.ExpiresAt.Sub(f.clock.now()); ttl > 2*time.Second {
			t.Errorf("a 1s token expires in %v", ttl)
		}
		g = issue(RunOptions{TTL: time.Hour})
		if ttl := g.ExpiresAt.Sub(f.clock.now()); ttl > DefaultRunTokenTTL+time.Second {
			t.Errorf("a token asked for an hour lives %v, more than the vault allows", ttl)
		}

		refusedWith("malformed", runner, "ghrun_short", ErrTokenRefused)
		refusedWith("unknown", runner, RunTokenPrefix+strings.Repeat("A", 43), ErrTokenRefused)
		refusedWith("empty", runner, "", ErrTokenRefused)

		// Bound to one runtime.
		bound := issue(RunOptions{Runtime: "service:runner"})
		f.ok("alice binds ci to operator", third(f.dir.CreateBinding(f.ctx, alice, org, directory.BindingSpec{Principal: "service:ci", Role: "operator"})))
		refusedWith("another runtime", ci, bound.Token, ErrTokenRefused)
		f.ok("the named runtime", second(f.v.Exchange(f.ctx, runner, org, bound.Token)))
		wantErr(t, "a runtime that is not a service", second(f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{Runtime: "user:bob"})), ErrInvalid)
		wantErr(t, "a runtime that does not exist", second(f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{Runtime: "service:ghost"})), ErrNotFound)

		// Bound to the resource version: editing the chain voids it.
		g = issue(RunOptions{})
		spec := json.RawMessage(`{"steps":["triage","summarize"],"secrets":["OPENAI_API_KEY"]}`)
		f.ok("bob edits the chain", third(f.dir.UpdateResource(f.ctx, bob, org, triage, directory.ResourceChange{Spec: spec})))
		refusedWith("the chain changed", runner, g.Token, ErrTokenRefused)
		g = issue(RunOptions{})
		rel, err := f.v.Exchange(f.ctx, runner, org, g.Token)
		if err != nil || len(rel.Secrets) != 1 || rel.ResourceVersion != 2 {
			t.Errorf("the new version releases only its one secret: %v, %v", rel, err)
		}

		// Bound to the issuer's permission: revoking it voids the token.
		g = issue(RunOptions{})
		f.ok("olga becomes a viewer", third(f.dir.ChangeMemberRole(f.ctx, alice, org, "olga", "viewer")))
		refusedWith("the issuer lost chains:run", runner, g.Token, ErrTokenRefused)
		f.ok("olga is an operator again", third(f.dir.ChangeMemberRole(f.ctx, alice, org, "olga", "operator")))

		// The runtime must itself be allowed to run the chain; a refusal
		// for that consumes nothing.
		f.ok("ci loses its role", func() error {
			bs, _, err := f.dir.ListBindings(f.ctx, alice, org, directory.BindingFilter{Principal: "service:ci"}, store.Page{})
			for _, bnd := range bs {
				if _, err := f.dir.DeleteBinding(f.ctx, alice, org, bnd.ID); err != nil {
					return err
				}
			}
			return err
		}())
		g = issue(RunOptions{})
		refusedWith("a runtime that may not run the chain", ci, g.Token, ErrForbidden)
		f.ok("the token is still good for the runner", second(f.v.Exchange(f.ctx, runner, org, g.Token)))

		// Another org's token.
		g = issue(RunOptions{})
		if _, err := f.v.Exchange(f.ctx, actor("service:runner"), "other", g.Token); !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTokenRefused) {
			t.Errorf("exchange through another org: %v", err)
		}
		// A secret deleted after issue: the exchange fails and consumes nothing.
		f.ok("delete", second(f.v.Delete(f.ctx, alice, org, "prod", "OPENAI_API_KEY", DeleteOptions{Force: true})))
		wantErr(t, "a released secret is gone", second(f.v.Exchange(f.ctx, runner, org, g.Token)), ErrConflict)
		wantErr(t, "issuing now names the problem", second(f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{})), ErrConflict)

		var denied []string
		for _, r := range f.auditRows(org) {
			if r.Action == "secrets.exchange" && r.Result == "denied" {
				denied = append(denied, string(r.Body))
			}
			if strings.Contains(string(r.Body), RunTokenPrefix) {
				t.Errorf("an audit entry carries a run token: %s", r.Body)
			}
		}
		joined := strings.Join(denied, "\n")
		for _, reason := range []string{"expired", "malformed", "unknown token", "is for runtime", "resource changed", "may no longer run"} {
			if !strings.Contains(joined, reason) {
				t.Errorf("no denied exchange entry says %q:\n%s", reason, joined)
			}
		}
	})
}

// The issuer learns nothing about secrets it may not list, even from an
// error.
func TestIssueErrorsHideNames(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		f.ok("delete", second(f.v.Delete(f.ctx, alice, org, "prod", "DB_PASSWORD", DeleteOptions{Force: true})))
		_, err := f.v.IssueRunToken(f.ctx, olga, org, triage, RunOptions{})
		wantErr(t, "olga issues", err, ErrConflict)
		if err != nil && (strings.Contains(err.Error(), "DB_PASSWORD") || strings.Contains(err.Error(), "OPENAI")) {
			t.Errorf("the operator's error names secrets: %v", err)
		}
		_, err = f.v.IssueRunToken(f.ctx, bob, org, triage, RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "DB_PASSWORD") {
			t.Errorf("the builder's error should name the missing secret: %v", err)
		}
	})
}

// Writing a spec that references secrets needs secrets:list there, the
// secrets must exist in the resource's namespace, and their reference
// restriction must admit the writer.
func TestSpecReferences(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := newFx(t, b)
		f.secret("prod", "OPEN", "v", Meta{})
		f.secret("prod", "ADMINS_ONLY", "v", Meta{ReferableBy: []string{"role:admin"}})
		f.secret("prod", "BUILDERS", "v", Meta{ReferableBy: []string{"role:builder"}})
		f.secret("prod", "FOR_BOB", "v", Meta{ReferableBy: []string{"user:bob"}})
		f.secret("prod", "FOR_TEAM", "v", Meta{ReferableBy: []string{"team:platform"}})
		f.ok("team", third(f.dir.CreateTeam(f.ctx, alice, org, "platform", "Platform", []string{"user:bob"})))
		f.ok("a custom role with chains:create but no secrets", second(f.dir.CreateRole(f.ctx, alice, org, directory.RoleSpec{
			Name: "chainwriter", Level: 20, Permissions: []string{"chains:create", "chains:update", "chains:read"}})))
		f.ok("add carol", third(f.dir.CreateUser(f.ctx, store.User{ID: "carol"})))
		f.ok("carol is a chainwriter", third(f.dir.AddMember(f.ctx, alice, org, "carol", "chainwriter")))
		carol := actor("user:carol")

		tests := []struct {
			name string
			by   Actor
			refs []string
			want error
		}{
			{"builder, unrestricted secret", bob, []string{"OPEN"}, nil},
			{"builder, restricted to builders", bob, []string{"BUILDERS"}, nil},
			{"builder, restricted to bob", bob, []string{"FOR_BOB"}, nil},
			{"builder, restricted to bob's team", bob, []string{"FOR_TEAM"}, nil},
			{"builder, restricted to admins", bob, []string{"ADMINS_ONLY"}, directory.ErrForbidden},
			{"admin, restricted to admins", alice, []string{"ADMINS_ONLY"}, nil},
			{"admin, restricted to bob", alice, []string{"FOR_BOB"}, directory.ErrForbidden},
			{"no secrets:list", carol, []string{"OPEN"}, directory.ErrForbidden},
			{"no secrets:list, no references", carol, nil, nil},
			{"a secret that does not exist", bob, []string{"NOPE"}, directory.ErrInvalid},
			{"a malformed name", bob, []string{"nope"}, directory.ErrInvalid},
			{"one bad among good", bob, []string{"OPEN", "ADMINS_ONLY"}, directory.ErrForbidden},
		}
		for i, tc := range tests {
			id := "c" + string(rune('a'+i))
			_, err := f.chain(tc.by, "prod", id, tc.refs...)
			wantErr(t, tc.name, err, tc.want)
		}
		for _, spec := range []string{`{"secrets":"OPEN"}`, `{"secrets":[1]}`, `{"secrets":{"A":"B"}}`} {
			_, _, err := f.dir.CreateResource(f.ctx, bob, org, directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "bad", Spec: json.RawMessage(spec)})
			wantErr(t, "spec "+spec, err, directory.ErrInvalid)
		}
		// Not-objects and specs without the member reference nothing.
		for _, spec := range []string{`[1,2]`, `"x"`, `{"secrets":null}`, `{"other":["OPEN"]}`} {
			names, err := SpecSecrets(json.RawMessage(spec))
			if err != nil || len(names) != 0 {
				t.Errorf("SpecSecrets(%s) = %v, %v", spec, names, err)
			}
		}
		// Updates are checked too.
		f.ok("carol writes a chain without secrets", second(f.chain(carol, "prod", "plain")))
		_, _, err := f.dir.UpdateResource(f.ctx, carol, org, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "plain"},
			directory.ResourceChange{Spec: json.RawMessage(`{"secrets":["OPEN"]}`)})
		wantErr(t, "carol adds a reference", err, directory.ErrForbidden)

		// A restriction tightened after the spec was written stops runs.
		f.ok("bob's chain", second(f.chain(bob, "prod", "tight", "BUILDERS")))
		refs := []string{"role:admin"}
		f.ok("alice tightens", third(f.v.Update(f.ctx, alice, org, "prod", "BUILDERS", Update{ReferableBy: &refs})))
		wantErr(t, "a run of bob's chain", second(f.v.IssueRunToken(f.ctx, olga, org, authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "tight"}, RunOptions{})), ErrConflict)
	})
}

// Operators and viewers do not see secret names in chain configs (seed
// 002): the spec they read, its versions and diffs leave them out.
func TestSpecRedaction(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		spec := json.RawMessage(`{"steps":["triage","summarize"],"secrets":["OPENAI_API_KEY"],"z":1}`)
		f.ok("bob edits", third(f.dir.UpdateResource(f.ctx, bob, org, triage, directory.ResourceChange{Spec: spec})))
		for _, who := range []Actor{olga, vic} {
			r, err := f.dir.GetResource(f.ctx, who, org, triage)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Spec) != `{"steps":["triage","summarize"],"z":1}` {
				t.Errorf("%s reads spec %s", who.Principal, r.Spec)
			}
			v1, err := f.dir.GetResourceVersion(f.ctx, who, org, triage, 1)
			if err != nil || strings.Contains(string(v1.Spec), "OPENAI") || !strings.Contains(string(v1.Spec), "triage") {
				t.Errorf("%s reads version 1: %s, %v", who.Principal, v1.Spec, err)
			}
			d, err := f.dir.DiffResourceVersions(f.ctx, who, org, triage, 1, 2)
			out, _ := json.Marshal(d)
			if err != nil || strings.Contains(string(out), "OPENAI") || strings.Contains(string(out), "DB_PASSWORD") || !strings.Contains(string(out), "summarize") {
				t.Errorf("%s reads the diff: %s, %v", who.Principal, out, err)
			}
			hist, err := f.dir.ResourceHistory(f.ctx, who, org, triage)
			var diffs []any
			for _, h := range hist {
				diffs = append(diffs, h.Diff)
			}
			out, _ = json.Marshal(diffs)
			if err != nil || len(hist) != 2 || strings.Contains(string(out), "OPENAI") || strings.Contains(string(out), "DB_PASSWORD") || !strings.Contains(string(out), "summarize") {
				t.Errorf("%s reads the history's diffs: %s, %v", who.Principal, out, err)
			}
		}
		r, err := f.dir.GetResource(f.ctx, bob, org, triage)
		if err != nil || string(r.Spec) != string(spec) {
			t.Errorf("bob (builder) reads %s, %v", r.Spec, err)
		}
		d, _ := f.dir.DiffResourceVersions(f.ctx, bob, org, triage, 1, 2)
		if out, _ := json.Marshal(d); !strings.Contains(string(out), "DB_PASSWORD") {
			t.Errorf("bob's diff lacks the removed reference: %s", out)
		}
	})
}

// BenchmarkExchange10 is the vault's part of an exchange of a 10-secret
// run token (no HTTP): the write transaction with its single-use check,
// engine checks, 10 unwraps and decryptions and the audit entry. Issuing
// is not timed.
func BenchmarkExchange10(b *testing.B) {
	for _, sync := range []string{"NORMAL", "FULL"} {
		b.Run("sqlite-synchronous="+sync, func(b *testing.B) {
			benchExchange10(b, backend{"sqlite", func(t testing.TB) (store.Store, *sql.DB, string) { return openSQLiteSync(t, sync) }})
		})
	}
}

func benchExchange10(b *testing.B, bk backend) {
	f := newFx(b, bk)
	names := make([]string, 10)
	for i := range names {
		names[i] = "SECRET_" + string(rune('A'+i))
		if _, _, err := f.v.Create(f.ctx, alice, org, "prod", names[i], []byte(strings.Repeat("v", 40)), Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := f.chain(bob, "prod", "bench", names...); err != nil {
		b.Fatal(err)
	}
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "bench"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g, err := f.v.IssueRunToken(f.ctx, olga, org, ref, RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rel, err := f.v.Exchange(f.ctx, runner, org, g.Token)
		if err != nil || len(rel.Secrets) != 10 {
			b.Fatalf("exchange: %v", err)
		}
	}
}

// An MCP server's credential is injected only by the gateway (DESIGN §9):
// no run token releases it, even to an owner holding *:* who may run it.
func TestNoRunTokenForAnMCPServer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		f := runFx(t, b)
		const ap = "ap"
		f.ok("alice creates an org she owns", third(f.dir.CreateOrg(f.ctx, alice, directory.OrgSpec{ID: ap, Template: "agent-platform"})))
		f.ok("namespace", third(f.dir.CreateNamespace(f.ctx, alice, ap, "prod")))
		f.ok("secret", third(f.v.Create(f.ctx, alice, ap, "prod", "GITHUB_TOKEN", []byte("canary-"+t.Name()), Meta{})))
		chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "c"}
		server := authz.ResourceRef{Namespace: "prod", Type: GatewayOnlyType, ID: "github"}
		f.ok("a chain", third(f.dir.CreateResource(f.ctx, alice, ap, directory.ResourceSpec{Namespace: "prod", Type: chain.Type, ID: chain.ID,
			Spec: json.RawMessage(`{"secrets":["GITHUB_TOKEN"]}`)})))
		f.ok("an MCP server", third(f.dir.CreateResource(f.ctx, alice, ap, directory.ResourceSpec{Namespace: "prod", Type: server.Type, ID: server.ID,
			Spec: json.RawMessage(`{"url":"http://127.0.0.1:1/mcp","secrets":["GITHUB_TOKEN"],"credential":{"secret":"GITHUB_TOKEN"}}`)})))
		// The owner may run both and the secret is fine: the chain gets a
		// token, the MCP server never does.
		f.ok("a run token for the chain", second(f.v.IssueRunToken(f.ctx, alice, ap, chain, RunOptions{})))
		wantErr(t, "a run token for the MCP server", second(f.v.IssueRunToken(f.ctx, alice, ap, server, RunOptions{})), ErrInvalid)
	})
}
