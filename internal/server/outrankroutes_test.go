package server_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
)

// TestEveryRaiseWarnsOfOutrankedKeys: every write route that can make a
// service outrank the member that minted one of its API keys — by raising
// the service (a binding, a share, a team joined, a role or the policy
// redefined, a suspension lifted) or by lowering the minter (demoted,
// removed, a binding, a team membership or a team lost, a minter service
// suspended or deleted) — answers the credentials-outrank-minter warning
// naming the keys it stopped, and only those (a key already refused
// before the write is not the write's doing), and records them in the
// audit log (apikey.outranked, its cause the route). A write of the same
// route that stops no key warns of nothing; a caller without
// apikeys:read is told only how many.
//
// Minters are builders (level 50, apikeys:create, chains
// create/update/run/read); each mints a key of its own service, a viewer
// (level 10, chains:read), which it outranks until the write.
func TestEveryRaiseWarnsOfOutrankedKeys(t *testing.T) {
	t.Parallel()
	ow := newOutrankWorld(t)
	e, owner := ow.e, ow.owner
	n := 0
	// builder is a new member with role builder (its key), named after
	// the row.
	builder := func(name string) (id, tok string) {
		t.Helper()
		n++
		id = fmt.Sprintf("b%d%s", n, name)
		tok = e.userWithEmail(id)
		ow.as(t, 201, "POST", "/members", map[string]any{"user_id": id, "role": "builder"})
		return "user:" + id, tok
	}
	// svcKey creates service name (role) as the owner and mints it a key
	// as minter; it returns the key's id.
	svcKey := func(minter, name, role string) string {
		t.Helper()
		body := map[string]any{"name": name}
		if role != "" {
			body["role"] = role
		}
		ow.as(t, 201, "POST", "/services", body)
		var kc api.KeyCreated
		e.must(201, "POST", ow.org+"/apikeys", minter, map[string]any{"principal": "service:" + name}, &kc)
		return kc.Item.ID
	}
	var bindingID string
	bind := func(principal, role string) {
		t.Helper()
		var b api.BindingWritten
		e.must(201, "POST", ow.org+"/bindings", owner, map[string]any{"principal": principal, "role": role}, &b)
		bindingID = b.Item.ID
	}
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "svcrole", "level": 10, "permissions": []string{"chains:read"}})
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "polrole", "level": 10, "permissions": []string{"chains:read"}})
	// xrole: what no builder holds (chains:delete), for minters to lose.
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "xrole", "level": 10, "permissions": []string{"chains:delete"}})
	ow.as(t, 201, "POST", "/roles", map[string]any{"name": "teamer", "level": 60, "permissions": []string{"teams:update", "teams:read", "chains:delete"}})
	teamerTok := e.userWithEmail("teamer")
	ow.as(t, 201, "POST", "/members", map[string]any{"user_id": "teamer", "role": "teamer"})

	type write struct {
		method, path string
		body         any
		caller       string // "" the owner
	}
	type row struct {
		name  string
		setup func() (w write, stopped []string) // the write and the key ids it stops
	}
	rows := []row{
		{"binding.create raises", func() (write, []string) {
			_, tok := builder("bc")
			k := svcKey(tok, "bc", "viewer")
			return write{"POST", "/bindings", map[string]any{"principal": "service:bc", "role": "admin"}, ""}, []string{k}
		}},
		{"binding.create of a service already refused", func() (write, []string) {
			_, tok := builder("bc2")
			svcKey(tok, "bc2", "viewer")
			bind("service:bc2", "admin")
			return write{"POST", "/bindings", map[string]any{"principal": "service:bc2", "role": "owner"}, ""}, nil
		}},
		{"share.create raises", func() (write, []string) {
			_, tok := builder("sh")
			k := svcKey(tok, "sh", "viewer")
			return write{"POST", "/namespaces/prod/resources/chains/triage/shares",
				map[string]any{"principal": "service:sh", "actions": []string{"delete"}}, ""}, []string{k}
		}},
		{"share.create within the minter's", func() (write, []string) {
			_, tok := builder("sh2")
			svcKey(tok, "sh2", "viewer")
			return write{"POST", "/namespaces/prod/resources/chains/triage/shares",
				map[string]any{"principal": "service:sh2", "actions": []string{"run"}}, ""}, nil
		}},
		{"team.member.add raises", func() (write, []string) {
			_, tok := builder("tm")
			k := svcKey(tok, "tm", "viewer")
			ow.as(t, 201, "POST", "/teams", map[string]any{"slug": "hi"})
			bind("team:hi", "admin")
			return write{"POST", "/teams/hi/members", map[string]any{"principal": "service:tm"}, ""}, []string{k}
		}},
		{"team.member.add, the caller without apikeys:read", func() (write, []string) {
			_, tok := builder("tm2")
			k := svcKey(tok, "tm2", "viewer")
			ow.as(t, 201, "POST", "/teams", map[string]any{"slug": "hi2"})
			ow.as(t, 201, "POST", "/roles", map[string]any{"name": "hi2role", "level": 10, "permissions": []string{"chains:delete"}})
			bind("team:hi2", "hi2role")
			return write{"POST", "/teams/hi2/members", map[string]any{"principal": "service:tm2"}, teamerTok}, []string{k}
		}},
		{"role.update raises", func() (write, []string) {
			_, tok := builder("rl")
			k := svcKey(tok, "rl", "svcrole")
			return write{"PUT", "/roles/svcrole", map[string]any{"level": 10, "permissions": []string{"chains:read", "chains:delete"}}, ""}, []string{k}
		}},
		{"role.update within the minter's", func() (write, []string) {
			return write{"PUT", "/roles/svcrole", map[string]any{"level": 10, "permissions": []string{"chains:read", "chains:delete", "chains:run"}}, ""}, nil
		}},
		{"policy.update raises", func() (write, []string) {
			_, tok := builder("pl")
			k := svcKey(tok, "pl", "polrole")
			var p api.Policy
			e.must(200, "GET", ow.org+"/policy", owner, nil, &p)
			re := regexp.MustCompile(`role polrole level 10`)
			if !re.MatchString(p.Text) {
				t.Fatalf("no polrole in the policy:\n%s", p.Text)
			}
			return write{"PUT", "/policy", map[string]any{"text": re.ReplaceAllString(p.Text, "role polrole level 60")}, ""}, []string{k}
		}},
		{"member.update lowers the minter", func() (write, []string) {
			id, tok := builder("mu")
			k := svcKey(tok, "mu", "viewer")
			return write{"PATCH", "/members/" + strings.TrimPrefix(id, "user:"), map[string]any{"role": "nothing"}, ""}, []string{k}
		}},
		{"member.update raises the minter", func() (write, []string) {
			id, tok := builder("mu2")
			svcKey(tok, "mu2", "viewer")
			return write{"PATCH", "/members/" + strings.TrimPrefix(id, "user:"), map[string]any{"role": "admin"}, ""}, nil
		}},
		{"member.delete removes the minter", func() (write, []string) {
			id, tok := builder("md")
			k := svcKey(tok, "md", "viewer")
			return write{"DELETE", "/members/" + strings.TrimPrefix(id, "user:"), nil, ""}, []string{k}
		}},
		{"binding.delete lowers the minter", func() (write, []string) {
			id, tok := builder("bd")
			bind(id, "xrole")
			k := svcKey(tok, "bd", "xrole")
			return write{"DELETE", "/bindings/" + bindingID, nil, ""}, []string{k}
		}},
		{"writes: binding.delete lowers the minter", func() (write, []string) {
			id, tok := builder("wd")
			bind(id, "xrole")
			k := svcKey(tok, "wd", "xrole")
			return write{"POST", "/writes", map[string]any{"changes": []any{map[string]any{"op": "binding.delete", "binding": bindingID}}}, ""}, []string{k}
		}},
		{"team.member.delete lowers the minter", func() (write, []string) {
			id, tok := builder("td")
			ow.as(t, 201, "POST", "/teams", map[string]any{"slug": "ops", "members": []string{id}})
			bind("team:ops", "xrole")
			k := svcKey(tok, "td", "xrole")
			return write{"DELETE", "/teams/ops/members/" + id, nil, ""}, []string{k}
		}},
		{"team.delete lowers the minter", func() (write, []string) {
			id, tok := builder("tx")
			ow.as(t, 201, "POST", "/teams", map[string]any{"slug": "gone", "members": []string{id}})
			bind("team:gone", "xrole")
			k := svcKey(tok, "tx", "xrole")
			return write{"DELETE", "/teams/gone", nil, ""}, []string{k}
		}},
		{"service.suspend lowers a minter service", func() (write, []string) {
			ow.as(t, 201, "POST", "/services", map[string]any{"name": "boss", "role": "builder"})
			var kc api.KeyCreated
			e.must(201, "POST", ow.org+"/apikeys", owner, map[string]any{"principal": "service:boss"}, &kc)
			k := svcKey(kc.Token, "ss", "viewer")
			return write{"POST", "/services/boss/suspend", nil, ""}, []string{k}
		}},
		{"service.resume of the minter stops nothing", func() (write, []string) {
			return write{"POST", "/services/boss/resume", nil, ""}, nil
		}},
		{"service.delete removes a minter service", func() (write, []string) {
			ow.as(t, 201, "POST", "/services", map[string]any{"name": "boss2", "role": "builder"})
			var kc api.KeyCreated
			e.must(201, "POST", ow.org+"/apikeys", owner, map[string]any{"principal": "service:boss2"}, &kc)
			k := svcKey(kc.Token, "sd", "viewer")
			return write{"DELETE", "/services/boss2", nil, ""}, []string{k}
		}},
		{"org.lifecycle stops nothing", func() (write, []string) {
			return write{"PUT", "/lifecycle", map[string]any{"inactive_days": 30}, ""}, nil
		}},
	}
	type answer struct {
		Warnings      []api.WriteWarning `json:"warnings"`
		WriteWarnings []api.WriteWarning `json:"write_warnings"`
	}
	type outcome struct {
		Count  int
		Listed []string
	}
	got, want := map[string]outcome{}, map[string]outcome{}
	causes := map[string]bool{}
	for _, r := range rows {
		w, stopped := r.setup()
		caller := w.caller
		if caller == "" {
			caller = owner
		}
		res := e.do(w.method, ow.org+w.path, caller, w.body)
		if res.Status >= 300 {
			t.Fatalf("%s: %s %s: %d %s", r.name, w.method, w.path, res.Status, res.Body)
		}
		var a answer
		if err := json.Unmarshal(res.Body, &a); err != nil && len(res.Body) > 0 {
			t.Fatalf("%s: %v: %s", r.name, err, res.Body)
		}
		var o outcome
		for _, ww := range append(a.Warnings, a.WriteWarnings...) {
			if ww.Code != api.WarningCredentialsOutranked {
				continue
			}
			o.Count += ww.Count
			for _, c := range ww.Credentials {
				o.Listed = append(o.Listed, c.ID)
			}
		}
		slices.Sort(o.Listed)
		got[r.name] = o
		wo := outcome{Count: len(stopped), Listed: slices.Sorted(slices.Values(stopped))}
		if w.caller != "" {
			wo.Listed = nil // no apikeys:read: a count only
		}
		want[r.name] = wo
		if len(stopped) > 0 {
			causes[strings.TrimRight(strings.SplitN(r.name, " ", 2)[0], ":,")] = true
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings per route (-want +got):\n%s", diff)
	}
	var l struct {
		Items []struct {
			Details struct {
				Cause string `json:"cause"`
			} `json:"details"`
		} `json:"items"`
	}
	e.must(200, "GET", ow.org+"/audit?action=apikey.outranked&page_size=1000", owner, nil, &l)
	logged := map[string]bool{}
	for _, it := range l.Items {
		logged[it.Details.Cause] = true
	}
	if diff := cmp.Diff(causes, logged); diff != "" {
		t.Errorf("audit causes (-want +got):\n%s", diff)
	}
}
