package authz

import (
	"testing"
)

// FuzzRequests feeds arbitrary strings to every read operation: nothing
// may panic, Explain must agree with Check, and the administrative queries
// must stay within their contracts. `go test -fuzz FuzzRequests ./authz`
// explores further; the seeds run with every `go test`.
func FuzzRequests(f *testing.F) {
	f.Add("acme", "user:alice", "prod", "chains", "x", "read", "", "")
	f.Add("acme", "agent:Triage", "", "chains", "", "run", "user:bob", "tok")
	f.Add("acme", "team:support", "prod", "*", "x", "*", "", "")
	f.Add("globex", "user:", "Prod!", "chains:run", "a/b", "", "alice", "\x00")
	f.Add("", "", "", "", "", "", "", "")
	e, _ := newFixture(f)
	f.Fuzz(func(t *testing.T, org, principal, ns, typ, id, action, obo, token string) {
		req := Request{Org: org, Principal: principal, Namespace: ns, ResourceType: typ, ResourceID: id, Action: action, OnBehalfOf: obo,
			Context: map[string]any{"hour": 10, "critical": true}}
		d := e.Check(&req)
		if ex := e.Explain(&req); ex.Decision.Allowed != d.Allowed || ex.Summary == "" {
			t.Fatalf("Explain %v (%q), Check %v", ex.Decision.Allowed, ex.Summary, d.Allowed)
		}
		page, err := e.LookupResources(LookupResourcesRequest{Org: org, Principal: principal, Type: typ, Action: action, Namespace: ns, OnBehalfOf: obo, PageToken: token, PageSize: 2})
		if err == nil {
			for _, r := range page.Resources {
				c := Request{Org: org, Principal: principal, Namespace: r.Namespace, ResourceType: r.Type, ResourceID: r.ID, Action: action, OnBehalfOf: obo}
				if !e.Check(&c).Allowed {
					t.Fatalf("lookup returned %v, which Check denies", r)
				}
			}
		}
		subs, _, _ := e.LookupSubjects(LookupSubjectsRequest{Org: org, Namespace: ns, Type: typ, ID: id, Action: action})
		for _, s := range subs {
			c := Request{Org: org, Principal: s.Principal, Namespace: ns, ResourceType: typ, ResourceID: id, Action: action}
			if !e.Check(&c).Allowed {
				t.Fatalf("subject %s is denied by Check", s.Principal)
			}
		}
		e.Permissions(org, principal, ns)
		sc := Scope{Namespace: ns, Type: typ, ID: id}
		if lvl := e.HighestLevel(org, principal, sc); lvl < -1 || lvl > 100 {
			t.Fatalf("level %d", lvl)
		}
		e.Missing(org, principal, sc, nil)
	})
}

// FuzzApply feeds arbitrary changes: Apply either accepts them whole or
// refuses them whole with ErrInvalid, and never panics; checks keep working.
func FuzzApply(f *testing.F) {
	f.Add(uint8(OpPutBinding), "acme", "b9", "user:alice", "owner", "run", "prod", "chains", "x", "cond")
	f.Add(uint8(OpDeleteNamespace), "acme", "prod", "", "", "", "", "", "", "")
	f.Add(uint8(OpPutTeam), "acme", "", "user:x", "", "", "", "", "", "")
	f.Add(uint8(99), "", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, op uint8, org, id, principal, role, action, ns, typ, rid, cond string) {
		e, _ := newFixture(t)
		c := Change{Org: org, Op: ChangeOp(op), ID: id,
			Binding:   Binding{ID: id, Principal: principal, Role: role, Scope: Scope{Namespace: ns, Type: typ, ID: rid}, Condition: cond},
			Principal: Principal{ID: principal, Role: role},
			Team:      Team{Slug: id, Members: []string{principal}},
			Resource:  Resource{Namespace: ns, Type: typ, ID: rid},
		}
		if action != "" {
			c.Binding.Actions = []string{action}
		}
		before := e.Revision()
		if err := e.Apply(before+1, c); err != nil {
			if e.Revision() != before {
				t.Fatalf("a refused Apply moved the revision")
			}
		} else if e.Revision() != before+1 {
			t.Fatalf("revision %d after an accepted Apply at %d", e.Revision(), before+1)
		}
		req := mkReq(principal, typ+":"+action, ns+"/"+typ+"/"+rid)
		e.Check(&req)
		e.Explain(&req)
		r2 := mkReq("user:root", "chains:read", "prod/chains/x")
		e.Check(&r2)
	})
}
