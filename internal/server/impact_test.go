package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/templates"
)

func init() {
	exampleHooks = append(exampleHooks, func(w *world, rt *server.Route) (any, bool) {
		switch rt.Pattern() {
		case "POST /v1/orgs/{org}/policy/impact":
			src, _ := templates.Source(templates.Default)
			return map[string]any{"text": string(src)}, true
		case "POST /v1/orgs/{org}/bindings/impact":
			return map[string]any{"principal": "user:" + w.viewerID, "role": "builder", "scope": map[string]any{"namespace": w.params["namespace"]}}, true
		}
		return nil, false
	})
}

// The answer names each principal, scope and permission gained or lost,
// with counts; the analysis stores nothing.
func TestPolicyImpactRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	src, err := templates.Source(templates.Default)
	if err != nil {
		t.Fatal(err)
	}
	before := dump(t, e, w)
	// Operators lose chains:run; the member is an operator in the namespace
	// (and, through the team, holds a share of run on one chain), the agent
	// has operator as its ceiling.
	text := strings.Replace(string(src), "chains { run }", "chains { read }", 1)
	if text == string(src) {
		t.Fatal("the template has no `chains { run }` to change")
	}
	var imp api.Impact
	e.must(200, "POST", "/v1/orgs/"+w.org+"/policy/impact", w.owner, map[string]any{"text": text}, &imp)
	if imp.Org != w.org || imp.Subject != "policy" || imp.Revision == 0 {
		t.Errorf("header %+v", imp)
	}
	// operator and every role inheriting it change.
	if !slices.Contains(imp.Summary.RolesChanged, "operator") || slices.Contains(imp.Summary.RolesChanged, "viewer") {
		t.Errorf("roles changed: %v", imp.Summary.RolesChanged)
	}
	want := map[string]bool{
		"user:" + w.memberID + " loses chains:run at ns/" + w.params["namespace"]: false,
		"agent:" + w.params["agent"] + " loses chains:run at org":                 false,
	}
	for _, c := range imp.Changes {
		if _, ok := want[c.Text]; ok {
			want[c.Text] = true
		}
		if c.Change == "gained" {
			t.Errorf("unexpected gain %s", c.Text)
		}
		if c.Principal == "user:"+w.ownerID {
			t.Errorf("the owner holds *:* and loses nothing: %s", c.Text)
		}
	}
	for text, seen := range want {
		if !seen {
			t.Errorf("no change %q in %+v", text, imp.Changes)
		}
	}
	if imp.Summary.Lost != len(imp.Changes) || imp.Summary.Gained != 0 || imp.Summary.Principals < 2 {
		t.Errorf("summary %+v for %d changes", imp.Summary, len(imp.Changes))
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("impact analysis changed the org:\n%s", diffLines(before, after))
	}

	// A text that does not compile: 422 with positioned errors, as PUT.
	r := e.do("POST", "/v1/orgs/"+w.org+"/policy/impact", w.owner, map[string]any{"text": "role x {"})
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("bad policy: status %d: %s", r.Status, r.Body)
	}
	// A viewer may not read bindings: 403.
	r = e.do("POST", "/v1/orgs/"+w.org+"/policy/impact", w.viewer, map[string]any{"text": text})
	if r.Status != http.StatusForbidden {
		t.Errorf("viewer: status %d: %s", r.Status, r.Body)
	}
}

func TestBindingImpactRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	before := dump(t, e, w)
	ns := w.params["namespace"]
	var imp api.Impact
	e.must(200, "POST", "/v1/orgs/"+w.org+"/bindings/impact", w.owner, map[string]any{
		"principal": "user:" + w.viewerID, "role": "operator", "scope": map[string]any{"namespace": ns}}, &imp)
	var got []string
	for _, c := range imp.Changes {
		got = append(got, c.Text)
	}
	// The viewer reads chains already (org-wide viewer); it gains what
	// operator adds, in the namespace only.
	for _, w := range []string{"user:" + w.viewerID + " gains chains:run at ns/" + ns} {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("no %q in %q", w, got)
		}
	}
	for _, c := range imp.Changes {
		if c.Change != "gained" || c.ScopeText != "ns/"+ns || c.Permission == "chains:read" {
			t.Errorf("unexpected change %+v", c)
		}
	}
	if after := dump(t, e, w); after != before {
		t.Errorf("a dry run changed the org:\n%s", diffLines(before, after))
	}
	r := e.do("POST", "/v1/orgs/"+w.org+"/bindings/impact", w.owner, map[string]any{"principal": "user:" + w.viewerID, "role": "nope"})
	if r.Status != http.StatusBadRequest && r.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown role: status %d: %s", r.Status, r.Body)
	}
}
