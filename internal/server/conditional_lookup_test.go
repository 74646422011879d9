package server_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/google/go-cmp/cmp"
)

// Lookups with include_conditional list who (and what) is allowed only
// under a condition, naming it, instead of leaving them out; without it
// the answers are as before.
func TestConditionalLookups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", envOpts{})
	w := buildWorld(t, e, "")
	ns, res := w.params["namespace"], w.params["id"]
	var pol api.Policy
	e.must(200, "GET", "/v1/orgs/"+w.org+"/policy", w.owner, nil, &pol)
	e.must(200, "PUT", "/v1/orgs/"+w.org+"/policy", w.owner, map[string]any{
		"text": pol.Text + "\ncondition on_call = \"context.on_call == true\"\n"}, nil)
	e.must(201, "POST", "/v1/orgs/"+w.org+"/bindings", w.owner, map[string]any{
		"principal": "user:" + w.viewerID, "role": "operator", "scope": map[string]any{"namespace": ns}, "condition": "on_call"}, nil)

	subjects := func(conditional bool) map[string][]string {
		var out api.LookupSubjectsResponse
		e.must(200, "POST", "/v1/orgs/"+w.org+"/lookup/subjects", w.owner, map[string]any{
			"action": "chains:run", "resource": "chains/" + res, "namespace": ns, "include_conditional": conditional}, &out)
		m := map[string][]string{}
		for _, s := range out.Items {
			m[s.Principal] = s.Conditions
		}
		return m
	}
	plain, cond := subjects(false), subjects(true)
	if _, ok := plain["user:"+w.viewerID]; ok {
		t.Errorf("the plain lookup lists the viewer, allowed only on call: %v", plain)
	}
	if diff := cmp.Diff([]string{"on_call"}, cond["user:"+w.viewerID]); diff != "" {
		t.Errorf("the viewer's conditions (-want +got):\n%s\nall: %v", diff, cond)
	}
	for p, cs := range plain {
		if c, ok := cond[p]; !ok || len(c) != 0 || len(cs) != 0 {
			t.Errorf("%s: allowed now in the plain lookup, %v in the conditional one", p, c)
		}
	}
	// On call, the viewer is allowed outright.
	var onCall api.LookupSubjectsResponse
	e.must(200, "POST", "/v1/orgs/"+w.org+"/lookup/subjects", w.owner, map[string]any{
		"action": "chains:run", "resource": "chains/" + res, "namespace": ns, "include_conditional": true,
		"context": map[string]any{"on_call": true}}, &onCall)
	for _, s := range onCall.Items {
		if s.Principal == "user:"+w.viewerID && len(s.Conditions) != 0 {
			t.Errorf("on call the viewer is still conditional: %+v", s)
		}
	}

	// What can the viewer run? The chain, when on call.
	var page api.LookupResourcesResponse
	e.must(200, "POST", "/v1/orgs/"+w.org+"/lookup/resources", w.owner, map[string]any{
		"principal": "user:" + w.viewerID, "action": "chains:run", "include_conditional": true}, &page)
	want := []api.ConditionalRef{{ResourceRef: api.ResourceRef{Namespace: ns, Type: "chains", ID: res}, Conditions: []string{"on_call"}}}
	if diff := cmp.Diff(want, page.Conditional); diff != "" {
		t.Errorf("conditional resources (-want +got):\n%s", diff)
	}
	if len(page.Items) != 1 {
		t.Errorf("items %v", page.Items)
	}
	var plainPage api.LookupResourcesResponse
	e.must(200, "POST", "/v1/orgs/"+w.org+"/lookup/resources", w.owner, map[string]any{
		"principal": "user:" + w.viewerID, "action": "chains:run"}, &plainPage)
	if len(plainPage.Items) != 0 || len(plainPage.Conditional) != 0 {
		t.Errorf("plain lookup: %+v", plainPage)
	}
}
