package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/google/go-cmp/cmp"
)

// answerView is what a caller can compare between two answers without
// knowing the values it sent: the status, the JSON shape (object keys,
// recursively, with each leaf's JSON kind), and a problem's type, field
// and detail with the id and email it sent replaced by placeholders.
type answerView struct {
	Status int
	Shape  string
	Type   string
	Field  string
	Detail string
	Creds  bool
}

func viewOf(t *testing.T, r resp, id, email string) answerView {
	t.Helper()
	v := answerView{Status: r.Status, Creds: strings.Contains(string(r.Body), "gth_") || strings.Contains(string(r.Body), "gti_")}
	var doc any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("answer is not JSON: %s", r.Body)
	}
	v.Shape = shapeOf(doc)
	if r.Status >= 400 {
		var p struct {
			Type, Field, Detail string
		}
		r.json(t, &p)
		hide := strings.NewReplacer(id, "ID", email, "EMAIL")
		v.Type, v.Field, v.Detail = p.Type, p.Field, hide.Replace(p.Detail)
	}
	return v
}

// shapeOf is doc's keys and kinds: {a:string,b:[number]}.
func shapeOf(doc any) string {
	switch d := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + shapeOf(d[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case []any:
		kinds := map[string]bool{}
		for _, x := range d {
			kinds[shapeOf(x)] = true
		}
		ks := make([]string, 0, len(kinds))
		for k := range kinds {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return "[" + strings.Join(ks, "|") + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	default:
		return "null"
	}
}

// TestProvisioningIsNoUserOracle: provisioning a user (POST /v1/users and
// a bulk write's user.create) tells a caller nothing about users it cannot
// see. Whoever asks, an email that some user already has is answered as a
// fresh one (a new user, the address not attached to it: the address stays
// its owner's), and an id taken by a user the caller cannot see is answered
// as one taken by a member it can see — the answer POST .../members by id
// gives it anyway. The existing user is never touched.
func TestProvisioningIsNoUserOracle(t *testing.T) {
	t.Parallel()
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) { provisioningIsNoUserOracle(t, backend) })
	}
}

func provisioningIsNoUserOracle(t *testing.T, backend string) {
	e := newEnv(t, backend, envOpts{})
	a := buildWorld(t, e, "")
	b := buildWorld(t, e, "b")
	// An admin of a (not its owner), users with emails in a, in b, and in
	// no org.
	admin := e.userWithEmail("aadmin")
	e.must(201, "POST", "/v1/orgs/"+a.org+"/members", a.owner, map[string]any{"user_id": "aadmin", "role": "admin"}, nil)
	inA, inB := e.userWithEmail("ina"), e.userWithEmail("inb")
	loner := e.userWithEmail("loner")
	e.must(201, "POST", "/v1/orgs/"+a.org+"/members", a.owner, map[string]any{"user_id": "ina", "role": "viewer"}, nil)
	e.must(201, "POST", "/v1/orgs/"+b.org+"/members", b.owner, map[string]any{"user_id": "inb", "role": "viewer"}, nil)

	type caller struct {
		name, key, org string
		seen           string   // a member of the caller's org, with an email
		unseen         []string // users it cannot see
	}
	callers := []caller{
		{"admin of the same org", admin, a.org, "ina", []string{"inb", "loner"}},
		{"owner of the org", a.owner, a.org, "ina", []string{"inb", "loner"}},
		{"admin of another org", b.owner, b.org, "inb", []string{"ina", "loner"}},
	}
	n := 0
	fresh := func() string { n++; return fmt.Sprintf("fresh%d", n) }
	single := func(c caller, id, email string) answerView {
		t.Helper()
		r := e.do("POST", "/v1/users", c.key, map[string]any{"org": c.org, "id": id, "email": email, "role": "viewer"})
		return viewOf(t, r, id, email)
	}
	bulk := func(c caller, id, email string) answerView {
		t.Helper()
		r := e.do("POST", "/v1/orgs/"+c.org+"/writes", c.key, map[string]any{"changes": []any{
			map[string]any{"op": "user.create", "user": id, "email": email, "role": "viewer"}}})
		return viewOf(t, r, id, email)
	}
	for _, route := range []struct {
		name string
		ask  func(caller, string, string) answerView
		ok   int
	}{{"POST /v1/users", single, http.StatusCreated}, {"user.create", bulk, http.StatusOK}} {
		for _, c := range callers {
			name := route.name + ", " + c.name
			// Emails: fresh, a visible member's, and each invisible user's
			// are all answered alike, as a new user.
			id := fresh()
			want := route.ask(c, id, id+"@example.com")
			if want.Status != route.ok || want.Creds {
				t.Fatalf("%s: fresh email answered %+v", name, want)
			}
			for _, owner := range append([]string{c.seen}, c.unseen...) {
				id := fresh()
				if d := cmp.Diff(want, route.ask(c, id, owner+"@example.com")); d != "" {
					t.Errorf("%s: the email of %s tells (-fresh +taken):\n%s", name, owner, d)
				}
			}
			// Ids: a fresh one is created; one taken by a user the caller
			// cannot see is answered as one taken by a member it can see.
			if got := route.ask(c, fresh(), fresh()+"@example.com"); got.Status != route.ok {
				t.Errorf("%s: fresh id answered %+v", name, got)
			}
			seen := route.ask(c, c.seen, fresh()+"@example.com")
			if seen.Status != http.StatusConflict || seen.Creds {
				t.Errorf("%s: a visible member's id answered %+v", name, seen)
			}
			for _, u := range c.unseen {
				if d := cmp.Diff(seen, route.ask(c, u, fresh()+"@example.com")); d != "" {
					t.Errorf("%s: the id of %s tells (-visible +invisible):\n%s", name, u, d)
				}
			}
		}
	}
	// The users whose emails and ids were asked for are untouched: still
	// their email, in their own orgs only.
	for _, u := range []struct {
		key, id string
		orgs    int
	}{{inA, "ina", 1}, {inB, "inb", 1}, {loner, "loner", 0}} {
		var me api.Me
		e.must(200, "GET", "/v1/me", u.key, nil, &me)
		if me.User == nil || me.User.Email != u.id+"@example.com" || len(me.Orgs) != u.orgs {
			t.Errorf("%s after the provisioning: %+v", u.id, me)
		}
	}
	// A user provisioned with a taken address did not get it.
	got, err := e.st.GetUser(ctxT(t), "fresh2")
	if err != nil || got.Email != "" {
		t.Errorf("fresh2, provisioned with ina's address: %+v, %v", got, err)
	}
}
