package authz

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
)

func perms(s ...string) []policy.Permission {
	var out []policy.Permission
	for _, x := range s {
		out = append(out, policy.MustPermission(x))
	}
	return out
}

func held(perm string, conds ...string) Grant {
	return Grant{Permission: policy.MustPermission(perm), Conditions: conds}
}

func TestPermissions(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		principal, ns string
		want          []Grant
	}{
		// Org and namespace grants, deduplicated and sorted; the unknown
		// role and the resource-scoped binding add nothing.
		{"user:alice", "dev", []Grant{
			held("audit:read"), held("chains:create"), held("chains:read"), held("chains:run"),
			held("chains:update"), held("decisions:approve"), held("schedules:*"),
		}},
		{"user:alice", "prod", []Grant{held("audit:read"), held("chains:read")}},
		{"user:alice", "", []Grant{held("audit:read"), held("chains:read")}},
		// Through a team.
		{"user:bob", "prod", []Grant{held("audit:read"), held("chains:read"), held("chains:run"), held("decisions:approve")}},
		// Conditional grants carry their condition.
		{"user:erin", "prod", []Grant{
			held("audit:read", "vip"), held("chains:read", "vip"), held("chains:run", "vip"), held("decisions:approve", "vip"),
		}},
		// Wildcards are listed as such.
		{"user:rita", "prod", []Grant{held("*:read")}},
		// An agent: owner (*:*) capped by its operator ceiling, pattern by
		// pattern; its conditional permission is listed with its condition.
		{"agent:Triage", "prod", []Grant{
			held("audit:read"), held("chains:read"), held("chains:run", "business_hours"), held("decisions:approve"),
		}},
		{"agent:Loose", "prod", []Grant{
			held("audit:read"), held("chains:create"), held("chains:read"), held("chains:run"),
			held("chains:update"), held("decisions:approve"), held("schedules:*"),
		}},
		{"agent:Loose", "dev", nil},
		// Shares are per resource, not listed here.
		{"user:sam", "prod", nil},
		// Nothing for the expired, agents without a ceiling, unknown namespaces.
		{"user:dave", "prod", nil},
		{"agent:NoRole", "prod", nil},
		{"user:root", "staging", nil},
	}
	for _, tt := range tests {
		t.Run(tt.principal+"@"+tt.ns, func(t *testing.T) {
			got, rev, err := e.Permissions("acme", tt.principal, tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if rev != e.Revision() {
				t.Errorf("revision %d, want %d", rev, e.Revision())
			}
			if len(got) == 0 {
				got = nil
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	errs := []struct {
		org, principal, ns string
		want               error
	}{
		{"initech", "user:alice", "prod", ErrNotFound},
		{"acme", "user:frank", "prod", ErrNotFound},
		{"acme", "user:zed", "prod", ErrNotFound},
		{"acme", "alice", "prod", ErrInvalid},
		{"acme", "team:support", "prod", ErrInvalid},
		{"acme", "user:alice", "a b", ErrInvalid},
	}
	for _, tt := range errs {
		if _, _, err := e.Permissions(tt.org, tt.principal, tt.ns); !errors.Is(err, tt.want) {
			t.Errorf("Permissions(%q, %q, %q): %v, want %v", tt.org, tt.principal, tt.ns, err, tt.want)
		}
	}
}

func TestHighestLevel(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		principal string
		scope     Scope
		want      int
	}{
		{"user:alice", orgScope(), 10},
		{"user:alice", nsScope("dev"), 50},  // builder in dev
		{"user:alice", nsScope("prod"), 10}, // only the org grant encloses prod
		{"user:alice", resScope("dev", "chains", "y"), 50},
		{"user:bob", nsScope("prod"), 30}, // through team support
		{"user:bob", orgScope(), -1},
		{"team:support", nsScope("prod"), 30}, // a team's own bindings
		{"team:support", orgScope(), -1},
		{"agent:Triage", orgScope(), 30},     // owner capped at its operator ceiling
		{"agent:Loose", nsScope("prod"), 50}, // owner capped at builder
		{"agent:NoRole", orgScope(), -1},     // no ceiling
		{"user:hank", orgScope(), -1},        // conditional bindings do not count
		{"user:root", resScope("prod", "chains", "x"), 100},
		{"user:uma", resScope("prod", "chains", "gone"), -1}, // the resource does not exist
		{"user:gina", resScope("prod", "chains", "x"), -1},   // a share has no level
		{"user:frank", orgScope(), -1},                       // not a member
		{"user:dave", orgScope(), -1},                        // expired
		{"user:ghost", orgScope(), -1},
		{"alice", orgScope(), -1},
	}
	for _, tt := range tests {
		if got := e.HighestLevel("acme", tt.principal, tt.scope); got != tt.want {
			t.Errorf("HighestLevel(%s, %s) = %d, want %d", tt.principal, tt.scope, got, tt.want)
		}
	}
	if got := e.HighestLevel("initech", "user:root", orgScope()); got != -1 {
		t.Errorf("unknown org: %d", got)
	}
}

func TestMissing(t *testing.T) {
	e, _ := newFixture(t)
	tests := []struct {
		principal string
		scope     Scope
		want      []policy.Permission
		missing   []policy.Permission
	}{
		{"user:alice", nsScope("dev"), perms("chains:create", "chains:delete", "schedules:*", "chains:*", "*:read"), perms("chains:delete", "chains:*", "*:read")},
		{"user:alice", nsScope("prod"), perms("chains:create"), perms("chains:create")},
		{"user:root", orgScope(), perms("*:*", "chains:run"), nil},
		{"user:rita", orgScope(), perms("chains:read", "*:read", "*:*"), perms("*:*")},
		{"user:bob", nsScope("prod"), perms("chains:run"), nil},
		{"user:bob", orgScope(), perms("chains:run"), perms("chains:run")},
		{"agent:Triage", orgScope(), perms("chains:read"), nil},
		{"agent:Triage", orgScope(), perms("chains:run"), perms("chains:run")}, // only when business_hours
		{"agent:Triage", orgScope(), perms("chains:*"), perms("chains:*")},
		{"agent:Triage", orgScope(), perms("decisions:*", "decisions:approve"), perms("decisions:*")},
		{"user:sam", resScope("prod", "chains", "shared"), perms("chains:run", "chains:read", "chains:*"), perms("chains:*")},
		{"user:sam", resScope("prod", "chains", "x"), perms("chains:run"), perms("chains:run")},
		{"user:gina", resScope("prod", "chains", "x"), perms("chains:*", "chains:zap"), nil},
		{"user:hank", orgScope(), perms("chains:read"), perms("chains:read")}, // conditional only
		{"team:support", nsScope("prod"), perms("chains:run"), perms("chains:run")},
		{"user:frank", orgScope(), perms("chains:read"), perms("chains:read")},
		{"user:dave", orgScope(), perms("chains:read"), perms("chains:read")},
	}
	for _, tt := range tests {
		got := e.Missing("acme", tt.principal, tt.scope, tt.want)
		if diff := cmp.Diff(tt.missing, got); diff != "" {
			t.Errorf("Missing(%s, %s, %v) (-want +got):\n%s", tt.principal, tt.scope, tt.want, diff)
		}
	}
}

// TestMissingAllocations: asking whether a user or a team holds a
// permission allocates nothing beyond the list of its grants at the scope
// (the server asks it on every deny of an action the policy does not
// name).
func TestMissingAllocations(t *testing.T) {
	e, _ := newFixture(t)
	o, ok := e.cur.Load().org("acme")
	if !ok {
		t.Fatal("no acme")
	}
	tests := []struct {
		principal string
		scope     Scope
		want      []policy.Permission
	}{
		{"user:root", orgScope(), perms("policy:read")},
		{"user:bob", nsScope("prod"), perms("chains:run")},
		{"user:alice", nsScope("dev"), perms("chains:create")},
		{"user:alice", nsScope("dev"), perms("chains:delete")}, // missing
	}
	for _, tt := range tests {
		a, ok := o.levelHolder(tt.principal, false)
		if !ok {
			t.Fatalf("%s: not a holder", tt.principal)
		}
		grants := testing.AllocsPerRun(100, func() { o.grantsAt(a.h, a.kind == KindTeam, tt.scope, true, time.Time{}) })
		if n := testing.AllocsPerRun(100, func() { e.Missing("acme", tt.principal, tt.scope, tt.want) }); n > grants+float64(len(e.Missing("acme", tt.principal, tt.scope, tt.want))) {
			t.Errorf("Missing(%s, %s, %v): %v allocations, want at most the grants' %v (and the answer's)", tt.principal, tt.scope, tt.want, n, grants)
		}
	}
}
