package authz_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

// conditionalSubjectsProbe: a subject lookup with IncludeConditional lists
// exactly the principals allowed now (without conditions, as the plain
// lookup) and, marked with conditions, those the reference allows only
// when every condition holds; each conditional principal is denied by
// Check now.
func (h *harness) conditionalSubjectsProbe(q authz.LookupSubjectsRequest) probe {
	return func(w world, sut decider) string {
		plain := q
		plain.IncludeConditional = false
		wantNow := h.ref.LookupSubjects(w, plain)
		wantCond := h.ref.ConditionalSubjects(w, plain)
		subs, _, err := sut.LookupSubjects(q)
		if err != nil {
			if !errors.Is(err, authz.ErrNotFound) && !errors.Is(err, authz.ErrInvalid) {
				return fmt.Sprintf("conditional LookupSubjects error %v", err)
			}
			return "" // the plain probe judges errors
		}
		var gotNow, gotCond []string
		for _, s := range subs {
			if len(s.Conditions) == 0 {
				id := s.Principal
				if s.ApprovalRequired { // as the reference names them
					id += "?"
				}
				gotNow = append(gotNow, id)
				continue
			}
			gotCond = append(gotCond, s.Principal)
			creq := &authz.Request{Org: q.Org, Principal: s.Principal, Namespace: q.Namespace, ResourceType: q.Type,
				ResourceID: q.ID, Action: q.Action, Context: q.Context, Now: q.Now}
			if sut.Check(creq).Allowed {
				return fmt.Sprintf("%s is listed as conditional (%v) but Check allows it now", s.Principal, s.Conditions)
			}
		}
		if diff := cmp.Diff(wantNow, gotNow); diff != "" {
			return fmt.Sprintf("conditional LookupSubjects(%+v): allowed now differs (-reference +engine):\n%s", q, diff)
		}
		if diff := cmp.Diff(wantCond, gotCond); diff != "" {
			return fmt.Sprintf("conditional LookupSubjects(%+v): conditional principals differ (-reference +engine):\n%s", q, diff)
		}
		return ""
	}
}

// conditionalResourcesProbe is conditionalSubjectsProbe for resources.
func (h *harness) conditionalResourcesProbe(q authz.LookupResourcesRequest) probe {
	return func(w world, sut decider) string {
		plain := q
		plain.IncludeConditional = false
		wantNow := h.ref.LookupResources(w, plain)
		wantCond := h.ref.ConditionalResources(w, plain)
		var gotNow, gotCond []authz.ResourceRef
		pq := q
		for page := 0; ; page++ {
			if page > 1000 {
				return "conditional paging did not end"
			}
			p, err := sut.LookupResources(pq)
			if err != nil {
				if !errors.Is(err, authz.ErrNotFound) && !errors.Is(err, authz.ErrInvalid) {
					return fmt.Sprintf("conditional LookupResources error %v", err)
				}
				return ""
			}
			conditional := map[authz.ResourceRef]bool{}
			for _, c := range p.Conditional {
				if !slices.Contains(p.Resources, c.ResourceRef) || len(c.Conditions) == 0 {
					return fmt.Sprintf("conditions %v for %v, which the page does not list", c.Conditions, c.ResourceRef)
				}
				conditional[c.ResourceRef] = true
			}
			for _, r := range p.Resources {
				if conditional[r] {
					gotCond = append(gotCond, r)
				} else {
					gotNow = append(gotNow, r)
				}
			}
			if p.NextPageToken == "" {
				break
			}
			pq.PageToken = p.NextPageToken
		}
		if diff := cmp.Diff(wantNow, gotNow); diff != "" {
			return fmt.Sprintf("conditional LookupResources(%+v): allowed now differs (-reference +engine):\n%s", q, diff)
		}
		if diff := cmp.Diff(wantCond, gotCond); diff != "" {
			return fmt.Sprintf("conditional LookupResources(%+v): conditional resources differ (-reference +engine):\n%s", q, diff)
		}
		return ""
	}
}

func TestConditionalLookups(t *testing.T) {
	e := authz.New()
	m := policy.MustLoad("c.policy", `
condition business_hours = "context.hour >= 9 && context.hour < 18"
role viewer level 10 { permission chains { read } }
role operator: viewer level 30 { permission chains { run } }
agent Triage: operator { can run chains when business_hours }
`)
	err := e.LoadOrg(1, authz.OrgData{
		Org: "acme", Policy: m, Namespaces: []string{"prod"},
		Principals: []authz.Principal{{ID: "user:ann"}, {ID: "user:bob"}, {ID: "agent:Triage"}, {ID: "user:cat"}},
		Bindings: []authz.Binding{
			{ID: "1", Principal: "user:ann", Role: "operator"},
			{ID: "2", Principal: "user:bob", Role: "operator", Condition: "on_call"},
			{ID: "3", Principal: "agent:Triage", Role: "operator"},
			{ID: "4", Principal: "user:cat", Role: "viewer"},
			{ID: "5", Principal: "user:cat", Actions: []string{"run"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "c2"}, Condition: "business_hours"},
		},
		Resources: []authz.Resource{{Namespace: "prod", Type: "chains", ID: "c1"}, {Namespace: "prod", Type: "chains", ID: "c2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	night := map[string]any{"hour": int64(22)}
	q := authz.LookupSubjectsRequest{Org: "acme", Namespace: "prod", Type: "chains", ID: "c2", Action: "run", Context: night}
	plain, _, err := e.LookupSubjects(q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]authz.Subject{{Principal: "user:ann"}}, plain); diff != "" {
		t.Errorf("plain lookup (-want +got):\n%s", diff)
	}
	q.IncludeConditional = true
	got, _, err := e.LookupSubjects(q)
	if err != nil {
		t.Fatal(err)
	}
	want := []authz.Subject{
		{Principal: "agent:Triage", Conditions: []string{"business_hours"}},
		{Principal: "user:ann"},
		{Principal: "user:bob", Conditions: []string{"on_call"}},
		{Principal: "user:cat", Conditions: []string{"business_hours"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("conditional lookup (-want +got):\n%s", diff)
	}

	page, err := e.LookupResources(authz.LookupResourcesRequest{Org: "acme", Principal: "user:cat", Type: "chains", Action: "run", Context: night, IncludeConditional: true})
	if err != nil {
		t.Fatal(err)
	}
	c2 := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "c2"}
	if diff := cmp.Diff([]authz.ResourceRef{c2}, page.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]authz.ConditionalResource{{ResourceRef: c2, Conditions: []string{"business_hours"}}}, page.Conditional); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	// In business hours nothing is conditional any more.
	page, err = e.LookupResources(authz.LookupResourcesRequest{Org: "acme", Principal: "user:cat", Type: "chains", Action: "run", Context: map[string]any{"hour": int64(10)}, IncludeConditional: true})
	if err != nil || len(page.Conditional) != 0 || len(page.Resources) != 1 {
		t.Errorf("in hours: %+v %v", page, err)
	}
}
