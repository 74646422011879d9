package authz

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func refs(s ...string) []ResourceRef {
	var out []ResourceRef
	for _, x := range s {
		p := strings.SplitN(x, "/", 3)
		out = append(out, ResourceRef{Namespace: p[0], Type: p[1], ID: p[2]})
	}
	return out
}

// lookupAll pages through a lookup with the given page size.
func lookupAll(t *testing.T, e *Engine, q LookupResourcesRequest) []ResourceRef {
	t.Helper()
	var out []ResourceRef
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		p, err := e.LookupResources(q)
		if err != nil {
			t.Fatalf("LookupResources(%+v): %v", q, err)
		}
		if p.Revision != e.Revision() {
			t.Fatalf("page at revision %d, engine at %d", p.Revision, e.Revision())
		}
		size := q.PageSize
		if size == 0 {
			size = defaultPageSize
		}
		if len(p.Resources) > size {
			t.Fatalf("page of %d for page size %d", len(p.Resources), size)
		}
		out = append(out, p.Resources...)
		if p.NextPageToken == "" {
			return out
		}
		q.PageToken = p.NextPageToken
	}
}

func TestLookupResources(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		name string
		q    LookupResourcesRequest
		want []ResourceRef
	}{
		{"org-wide role: every chain, ordered by namespace then id",
			LookupResourcesRequest{Principal: "user:alice", Type: "chains", Action: "read"},
			refs("dev/chains/y", "prod/chains/labeled", "prod/chains/plain", "prod/chains/shared", "prod/chains/x")},
		{"namespace filter",
			LookupResourcesRequest{Principal: "user:alice", Type: "chains", Action: "read", Namespace: "dev"},
			refs("dev/chains/y")},
		{"through a team, one namespace",
			LookupResourcesRequest{Principal: "user:bob", Type: "chains", Action: "run"},
			refs("prod/chains/labeled", "prod/chains/plain", "prod/chains/shared", "prod/chains/x")},
		{"shares only",
			LookupResourcesRequest{Principal: "user:sam", Type: "chains", Action: "run"},
			refs("prod/chains/shared")},
		{"share of every action",
			LookupResourcesRequest{Principal: "user:gina", Type: "chains", Action: "delete"},
			refs("prod/chains/x")},
		{"conditional resource grant: evaluated per resource",
			LookupResourcesRequest{Principal: "user:ivan", Type: "chains", Action: "read"},
			refs("prod/chains/labeled")},
		{"conditional org grant: evaluated per resource",
			LookupResourcesRequest{Principal: "user:vars", Type: "chains", Action: "read"},
			refs("prod/chains/x")},
		{"context",
			LookupResourcesRequest{Principal: "user:hank", Type: "chains", Action: "delete", Context: map[string]any{"hour": 10}},
			refs("dev/chains/y", "prod/chains/labeled", "prod/chains/plain", "prod/chains/shared", "prod/chains/x")},
		{"context false",
			LookupResourcesRequest{Principal: "user:hank", Type: "chains", Action: "delete", Context: map[string]any{"hour": 22}},
			nil},
		{"agent with a conditional permission",
			LookupResourcesRequest{Principal: "agent:Triage", Type: "chains", Action: "run", Context: map[string]any{"hour": 10}, Namespace: "dev"},
			refs("dev/chains/y")},
		{"agent ceiling",
			LookupResourcesRequest{Principal: "agent:Triage", Type: "chains", Action: "delete"},
			nil},
		{"on behalf of: the intersection",
			LookupResourcesRequest{Principal: "service:ci", OnBehalfOf: "user:bob", Type: "chains", Action: "run"},
			refs("prod/chains/labeled", "prod/chains/plain", "prod/chains/shared", "prod/chains/x")},
		{"on behalf of a user with shares only",
			LookupResourcesRequest{Principal: "service:ci", OnBehalfOf: "user:sam", Type: "chains", Action: "run"},
			refs("prod/chains/shared")},
		{"on behalf of, by a user: nothing",
			LookupResourcesRequest{Principal: "user:root", OnBehalfOf: "user:sam", Type: "chains", Action: "run"},
			nil},
		{"expired: nothing",
			LookupResourcesRequest{Principal: "user:dave", Type: "chains", Action: "read"},
			nil},
		{"unknown namespace: nothing",
			LookupResourcesRequest{Principal: "user:root", Type: "chains", Action: "read", Namespace: "staging"},
			nil},
		{"no resources of the type",
			LookupResourcesRequest{Principal: "user:root", Type: "spaceships", Action: "read"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{0, 1, 2, 3} {
				q := tt.q
				q.Org, q.PageSize = "acme", size
				got := lookupAll(t, e, q)
				if diff := gocmp.Diff(tt.want, got); diff != "" {
					t.Errorf("page size %d (-want +got):\n%s", size, diff)
				}
			}
		})
	}
}

func TestLookupResourcesLastPageHasNoToken(t *testing.T) {
	e, _ := newFixture(t)
	q := LookupResourcesRequest{Org: "acme", Principal: "user:bob", Type: "chains", Action: "run", PageSize: 4}
	p, err := e.LookupResources(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Resources) != 4 || p.NextPageToken != "" {
		t.Errorf("exactly one full page: got %d resources, token %q", len(p.Resources), p.NextPageToken)
	}
}

func TestLookupResourcesErrors(t *testing.T) {
	e, _ := newFixture(t)
	base := LookupResourcesRequest{Org: "acme", Principal: "user:alice", Type: "chains", Action: "read", PageSize: 1}
	p, err := e.LookupResources(base)
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %v, token %q", err, p.NextPageToken)
	}
	token := p.NextPageToken
	tests := []struct {
		name   string
		modify func(*LookupResourcesRequest)
		want   error
	}{
		{"unknown org", func(q *LookupResourcesRequest) { q.Org = "initech" }, ErrNotFound},
		{"not a member", func(q *LookupResourcesRequest) { q.Principal = "user:frank" }, ErrNotFound},
		{"member of another org only", func(q *LookupResourcesRequest) { q.Principal = "user:zed" }, ErrNotFound},
		{"malformed principal", func(q *LookupResourcesRequest) { q.Principal = "alice" }, ErrInvalid},
		{"team", func(q *LookupResourcesRequest) { q.Principal = "team:support" }, ErrInvalid},
		{"bad type", func(q *LookupResourcesRequest) { q.Type = "*" }, ErrInvalid},
		{"bad action", func(q *LookupResourcesRequest) { q.Action = "" }, ErrInvalid},
		{"bad namespace", func(q *LookupResourcesRequest) { q.Namespace = "a/b" }, ErrInvalid},
		{"negative page size", func(q *LookupResourcesRequest) { q.PageSize = -1 }, ErrInvalid},
		{"garbage token", func(q *LookupResourcesRequest) { q.PageToken = "\x00not a token" }, ErrInvalid},
		{"truncated token", func(q *LookupResourcesRequest) { q.PageToken = token[:len(token)-3] }, ErrInvalid},
		{"token of another query", func(q *LookupResourcesRequest) { q.PageToken = token; q.Action = "run" }, ErrInvalid},
		{"token of another principal", func(q *LookupResourcesRequest) { q.PageToken = token; q.Principal = "user:root" }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := base
			tt.modify(&q)
			if _, err := e.LookupResources(q); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	q := base
	q.PageToken = token
	if _, err := e.LookupResources(q); err != nil {
		t.Errorf("the token itself: %v", err)
	}
}

// TestLookupsAgreeWithCheck is the defining property of both lookups on
// the whole fixture: LookupResources returns exactly the known resources
// Check allows, and LookupSubjects exactly the members Check allows.
func TestLookupsAgreeWithCheck(t *testing.T) {
	m := mustPolicy(t, testPolicy)
	d := acmeData(m)
	e, _ := newFixture(t)
	types := []string{"chains", "widgets", "members"}
	actions := []string{"read", "run", "create", "delete", "poke"}
	contexts := []map[string]any{nil, {"hour": 10, "critical": true, "break_glass": true}}
	var principals []string
	for _, p := range d.Principals {
		principals = append(principals, p.ID)
	}
	allowedSomething := false
	for _, c := range contexts {
		for _, typ := range types {
			for _, action := range actions {
				// Resources.
				for _, p := range principals {
					var want []ResourceRef
					for _, r := range d.Resources {
						if r.Type != typ {
							continue
						}
						req := Request{Org: "acme", Principal: p, Namespace: r.Namespace, ResourceType: typ, ResourceID: r.ID, Action: action, Context: c}
						if e.Check(&req).Allowed {
							want = append(want, ResourceRef{r.Namespace, r.Type, r.ID})
						}
					}
					slices.SortFunc(want, func(a, b ResourceRef) int {
						return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.ID, b.ID))
					})
					got := lookupAll(t, e, LookupResourcesRequest{Org: "acme", Principal: p, Type: typ, Action: action, Context: c, PageSize: 2})
					if diff := gocmp.Diff(want, got); diff != "" {
						t.Errorf("LookupResources(%s, %s:%s, ctx %v) (-check +lookup):\n%s", p, typ, action, c, diff)
					}
					allowedSomething = allowedSomething || len(want) > 0
				}
				// Subjects, on every resource and type level.
				targets := []Resource{{Namespace: "prod", Type: typ}, {Namespace: "dev", Type: typ}, {Namespace: "prod", Type: typ, ID: "nope"}}
				for _, r := range d.Resources {
					if r.Type == typ {
						targets = append(targets, r)
					}
				}
				for _, r := range targets {
					var want []string
					for _, p := range principals {
						req := Request{Org: "acme", Principal: p, Namespace: r.Namespace, ResourceType: typ, ResourceID: r.ID, Action: action, Context: c}
						if e.Check(&req).Allowed {
							want = append(want, p)
						}
					}
					slices.Sort(want)
					subs, rev, err := e.LookupSubjects(LookupSubjectsRequest{Org: "acme", Namespace: r.Namespace, Type: typ, ID: r.ID, Action: action, Context: c})
					if err != nil || rev != e.Revision() {
						t.Fatalf("LookupSubjects: %v at %d", err, rev)
					}
					var got []string
					for _, s := range subs {
						got = append(got, s.Principal)
					}
					if diff := gocmp.Diff(want, got); diff != "" {
						t.Errorf("LookupSubjects(%s/%s/%s %s, ctx %v) (-check +lookup):\n%s", r.Namespace, typ, r.ID, action, c, diff)
					}
				}
			}
		}
	}
	if !allowedSomething {
		t.Fatal("nothing allowed: the property is vacuous")
	}
}

func TestLookupSubjectsVia(t *testing.T) {
	e, _ := newFixture(t)
	subs, _, err := e.LookupSubjects(LookupSubjectsRequest{Org: "acme", Namespace: "prod", Type: "chains", ID: "shared", Action: "run", Context: map[string]any{"hour": 10}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Subject{
		{Principal: "agent:Loose"},
		{Principal: "agent:Triage", Via: []string{"team:oncall"}},
		{Principal: "service:ci"},
		{Principal: "user:bob", Via: []string{"team:support"}},
		{Principal: "user:carol", Via: []string{"team:oncall", "team:support"}},
		{Principal: "user:dora"},
		{Principal: "user:erin"}, // operator when vip
		{Principal: "user:hank"},
		{Principal: "user:root"},
		{Principal: "user:sam"},
	}
	if diff := gocmp.Diff(want, subs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		q    LookupSubjectsRequest
		want error
	}{
		{LookupSubjectsRequest{Org: "initech", Type: "chains", Action: "run"}, ErrNotFound},
		{LookupSubjectsRequest{Org: "acme", Type: "chains", Action: "*"}, ErrInvalid},
		{LookupSubjectsRequest{Org: "acme", Type: "", Action: "run"}, ErrInvalid},
	} {
		if _, _, err := e.LookupSubjects(tt.q); !errors.Is(err, tt.want) {
			t.Errorf("LookupSubjects(%+v): %v, want %v", tt.q, err, tt.want)
		}
	}
}
