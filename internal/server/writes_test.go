package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

func init() {
	exampleHooks = append(exampleHooks, func(w *world, rt *server.Route) (any, bool) {
		switch rt.Pattern() {
		case "POST /v1/users":
			return map[string]any{"org": w.org, "id": w.org + "new", "email": w.org + "-new@example.com", "role": "viewer"}, true
		case "POST /v1/orgs/{org}/writes":
			return map[string]any{"changes": []any{map[string]any{"op": "namespace.create", "namespace": "staging"}}}, true
		}
		return nil, false
	})
}

// TestProvisionUser: POST /v1/users creates a new member without an
// invitation and hands out no credential; it never reaches an existing
// user (an email taken: TestProvisioningIsNoUserOracle), and a key
// confined to another org cannot use it.
func TestProvisionUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	other := buildWorld(t, e, "b")
	existing := e.userWithEmail("zed")

	r := e.must(201, "POST", "/v1/users", w.owner, map[string]any{"org": w.org, "id": "gina", "email": "gina@example.com", "display_name": "Gina", "role": "builder"}, nil)
	var got map[string]json.RawMessage
	r.json(t, &got)
	if len(got) != 2 || got["item"] == nil || got["revision"] == nil {
		t.Errorf("answer has %s, want only revision and item", r.Body)
	}
	if strings.Contains(string(r.Body), "gh") && strings.Contains(string(r.Body), "token") {
		t.Errorf("answer carries a credential: %s", r.Body)
	}
	var item api.User
	if err := json.Unmarshal(got["item"], &item); err != nil || item.ID != "gina" || item.Email != "" { // never the email (TestProvisioningIsNoUserOracle)
		t.Errorf("item = %+v (%v)", item, err)
	}
	e.must(200, "GET", "/v1/orgs/"+w.org+"/members/gina", w.owner, nil, nil)

	// An org-confined key of the owner of w, used for its other org.
	var kc server.KeyCreated
	e.must(201, "POST", "/v1/orgs/"+other.org+"/apikeys", other.owner, map[string]any{}, &kc)

	tests := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		field  string
	}{
		{"existing user's id", w.owner, map[string]any{"org": w.org, "id": "zed", "email": "other@example.com", "role": "viewer"}, http.StatusConflict, ""},
		{"above the caller", w.owner, map[string]any{"org": w.org, "id": "hank", "email": "hank@example.com", "role": "nope"}, http.StatusUnprocessableEntity, "role"},
		{"without members:create", w.viewer, map[string]any{"org": w.org, "id": "hank", "email": "hank@example.com", "role": "viewer"}, http.StatusForbidden, ""},
		{"another org", w.owner, map[string]any{"org": other.org, "id": "hank", "email": "hank@example.com", "role": "viewer"}, http.StatusNotFound, ""},
		{"key confined to another org", kc.Token, map[string]any{"org": w.org, "id": "hank", "email": "hank@example.com", "role": "viewer"}, http.StatusNotFound, ""},
		{"no org", w.owner, map[string]any{"id": "hank", "email": "hank@example.com", "role": "viewer"}, http.StatusUnprocessableEntity, "org"},
		{"no email", w.owner, map[string]any{"org": w.org, "id": "hank", "role": "viewer"}, http.StatusUnprocessableEntity, "email"},
	}
	for _, tc := range tests {
		r := e.do("POST", "/v1/users", tc.key, tc.body)
		if r.Status != tc.status && !(tc.status == http.StatusUnprocessableEntity && r.Status == http.StatusBadRequest) {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, r.Status, tc.status, r.Body)
			continue
		}
		if tc.field != "" {
			if p := r.problem(t); p.Field != tc.field {
				t.Errorf("%s: field %q, want %q", tc.name, p.Field, tc.field)
			}
		}
	}
	// zed is untouched and still itself; hank was never created.
	var me api.Me
	e.must(200, "GET", "/v1/me", existing, nil, &me)
	if me.Principal != "user:zed" || me.User == nil || me.User.Email != "zed@example.com" || len(me.Orgs) != 0 {
		t.Errorf("zed after the attempts: %+v", me)
	}
	e.must(404, "GET", "/v1/orgs/"+w.org+"/members/hank", w.owner, nil, nil)
}

// TestWrites: POST /v1/orgs/{org}/writes makes its changes under one
// revision, or none of them, saying which change failed and why.
func TestWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	ns := w.params["namespace"]
	var before api.Written[api.Namespace]
	e.must(201, "POST", "/v1/orgs/"+w.org+"/namespaces", w.owner, map[string]any{"name": "first"}, &before)
	var res api.WriteResult
	e.must(200, "POST", "/v1/orgs/"+w.org+"/writes", w.owner, map[string]any{"changes": []any{
		map[string]any{"op": "namespace.create", "namespace": "staging"},
		map[string]any{"op": "resource.create", "namespace": "staging", "type": "chains", "id": "nightly"},
		map[string]any{"op": "user.create", "user": "gina", "email": "gina@example.com", "role": "viewer"},
		map[string]any{"op": "binding.create", "principal": "user:gina", "role": "builder", "scope": map[string]any{"namespace": "staging"}},
		map[string]any{"op": "share.create", "namespace": ns, "type": "chains", "id": w.params["id"], "principal": "user:gina", "actions": []string{"run"}},
	}}, &res)
	if res.Revision != before.Revision+1 || len(res.Keys) != 5 || res.Keys[2] != "gina" {
		t.Errorf("result %+v, want revision %d and 5 keys", res, before.Revision+1)
	}
	var b server.Written[json.RawMessage]
	e.must(200, "GET", "/v1/orgs/"+w.org+"/bindings/"+res.Keys[3], w.owner, nil, &b)

	tests := []struct {
		name   string
		key    string
		body   any
		status int
		field  string
		detail string
	}{
		{"forbidden in change 0", w.mkey, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other"},
		}}, http.StatusForbidden, "changes[0]", "change 0: "},
		{"unknown op", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other"},
			map[string]any{"op": "user.delete", "user": "gina"},
		}}, http.StatusUnprocessableEntity, "changes[1].op", ""},
		{"conflict", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other"},
			map[string]any{"op": "namespace.create", "namespace": "staging"},
		}}, http.StatusConflict, "changes[1]", "change 1: "},
		{"a resource that does not exist", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other"},
			map[string]any{"op": "share.create", "namespace": ns, "type": "chains", "id": "ghost", "principal": "user:gina", "actions": []string{"run"}},
		}}, http.StatusNotFound, "changes[1]", "change 1: "},
		{"empty", w.owner, map[string]any{"changes": []any{}}, http.StatusUnprocessableEntity, "changes", ""},
		// The body's decode errors, as encoding/json's decoder words them
		// (the fast decoder leaves anything it does not take to it).
		{"wrong type", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other"},
			map[string]any{"op": "member.add", "role": 5},
		}}, http.StatusBadRequest, "changes.role", `field "changes.role" must be a string`},
		{"unknown field", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "other", "colour": "red"},
		}}, http.StatusBadRequest, "colour", `unknown field "colour"`},
		{"other casing", w.owner, map[string]any{"changes": []any{
			map[string]any{"OP": "namespace.create", "Namespace": "other"},
			map[string]any{"op": "namespace.create", "namespace": "staging"},
		}}, http.StatusConflict, "changes[1]", "change 1: "},
		{"null body", w.owner, json.RawMessage(`null`), http.StatusBadRequest, "", "the request body is null"},
	}
	for _, tc := range tests {
		r := e.do("POST", "/v1/orgs/"+w.org+"/writes", tc.key, tc.body)
		if r.Status != tc.status && !(tc.status == http.StatusUnprocessableEntity && r.Status == http.StatusBadRequest) {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, r.Status, tc.status, r.Body)
			continue
		}
		p := r.problem(t)
		if p.Field != tc.field || !strings.HasPrefix(p.Detail, tc.detail) {
			t.Errorf("%s: field %q detail %q, want field %q detail %q…", tc.name, p.Field, p.Detail, tc.field, tc.detail)
		}
	}
	e.must(404, "GET", "/v1/orgs/"+w.org+"/namespaces/other", w.owner, nil, nil)
}

// TestWritesGrantsExpire: a batch's bindings and shares take expires_at
// or expires_in like the single routes (the grant carries its expiry);
// a malformed or misplaced lifetime is refused naming the change's field,
// and nothing of the batch is written.
func TestWritesGrantsExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	ns := w.params["namespace"]
	e.must(201, "POST", "/v1/users", w.owner, map[string]any{"org": w.org, "id": "ivy", "email": "ivy@example.com", "role": "viewer"}, nil)
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	var res api.WriteResult
	e.must(200, "POST", "/v1/orgs/"+w.org+"/writes", w.owner, map[string]any{"changes": []any{
		map[string]any{"op": "binding.create", "principal": "user:ivy", "role": "builder", "scope": map[string]any{"namespace": ns}, "expires_in": "2h"},
		map[string]any{"op": "share.create", "namespace": ns, "type": "chains", "id": w.params["id"], "principal": "user:ivy", "actions": []string{"run"}, "expires_at": until},
		map[string]any{"op": "binding.create", "principal": "user:ivy", "role": "viewer", "scope": map[string]any{"namespace": ns}},
	}}, &res)
	if len(res.Keys) != 3 {
		t.Fatalf("result %+v", res)
	}
	for i, want := range []struct {
		min, max time.Time
	}{
		{time.Now().Add(2*time.Hour - time.Minute), time.Now().Add(2*time.Hour + time.Minute)},
		{until, until},
		{},
	} {
		var b api.Binding
		e.must(200, "GET", "/v1/orgs/"+w.org+"/bindings/"+res.Keys[i], w.owner, nil, &b)
		got := b.ExpiresAt
		if want.min.IsZero() != got.IsZero() || got.Before(want.min) || got.After(want.max) {
			t.Errorf("change %d: expires_at %v, want %v … %v", i, got, want.min, want.max)
		}
	}

	for _, tc := range []struct {
		name   string
		change map[string]any
		field  string
	}{
		{"bad duration", map[string]any{"op": "binding.create", "principal": "user:ivy", "role": "builder", "scope": map[string]any{"namespace": ns}, "expires_in": "soon"}, "changes[1].expires_in"},
		{"in the past", map[string]any{"op": "share.create", "namespace": ns, "type": "chains", "id": w.params["id"], "principal": "user:ivy", "actions": []string{"read"}, "expires_at": time.Now().Add(-time.Hour).UTC()}, "changes[1].expires_at"},
		{"both", map[string]any{"op": "binding.create", "principal": "user:ivy", "role": "builder", "scope": map[string]any{"namespace": ns}, "expires_in": "1h", "expires_at": until}, "changes[1].expires_at"},
		{"on a namespace", map[string]any{"op": "namespace.create", "namespace": "temp", "expires_in": "1h"}, "changes[1].expires_in"},
	} {
		r := e.do("POST", "/v1/orgs/"+w.org+"/writes", w.owner, map[string]any{"changes": []any{
			map[string]any{"op": "namespace.create", "namespace": "never"},
			tc.change,
		}})
		if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, body %s", tc.name, r.Status, r.Body)
			continue
		}
		if p := r.problem(t); p.Field != tc.field {
			t.Errorf("%s: field %q, want %q (%s)", tc.name, p.Field, tc.field, p.Detail)
		}
	}
	e.must(404, "GET", "/v1/orgs/"+w.org+"/namespaces/never", w.owner, nil, nil)
}
