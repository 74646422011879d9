package directory_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestDocsEscalationTable runs the examples table of docs/directory.md
// ("Escalation rules") row by row on the fixture (whose users are the
// table's) and requires each documented result, reason and numbers
// included: the table is executable, so it cannot go stale.
func TestDocsEscalationTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/directory.md")
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(f *fixture) error{
		"admin bob | bind dave as viewer in `prod`": func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}))
		},
		"admin bob | bind dave as owner": func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:dave", Role: "owner"}))
		},
		"admin bob | change owner alice's role to viewer": func(f *fixture) error {
			return third(f.d.ChangeMemberRole(f.ctx, bob, "acme", "alice", "viewer"))
		},
		"admin bob | bind owner alice as viewer in `prod`": func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, bob, "acme", directory.BindingSpec{Principal: "user:alice", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}))
		},
		"admin bob | create role `x` with `*:*` at level 50": func(f *fixture) error {
			return second(f.d.CreateRole(f.ctx, bob, "acme", directory.RoleSpec{Name: "x", Level: 50, Permissions: []string{"*:*"}}))
		},
		"admin bob | add `permission * { * }` to `admin` via ReplacePolicy": func(f *fixture) error {
			p, err := f.d.GetPolicy(f.ctx, alice, "acme")
			if err != nil {
				return err
			}
			const decl = "role admin: builder level 80 {\n"
			if !strings.Contains(p.Text, decl) {
				return fmt.Errorf("the policy has no %q", decl)
			}
			text := strings.Replace(p.Text, decl, decl+"    permission * { * }\n", 1)
			return second(f.d.ReplacePolicy(f.ctx, bob, "acme", text, false))
		},
		"admin bob | share `chains/triage` for `approve`": func(f *fixture) error {
			return third(f.d.Share(f.ctx, bob, "acme", triage, "user:dave", []string{"approve"}))
		},
		"admin bob | add frank to team `support`, which is owner in `prod`": func(f *fixture) error {
			ok(f.t, "bind support", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "team:support", Role: "owner", Scope: authz.Scope{Namespace: "prod"}})))
			return second(f.d.AddTeamMember(f.ctx, bob, "acme", "support", "user:frank"))
		},
		"builder carol | bind anyone": func(f *fixture) error {
			return third(f.d.CreateBinding(f.ctx, carol, "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer"}))
		},
		"owner alice (only owner) | leave, or step down to admin": func(f *fixture) error {
			leave := second(f.d.RemoveMember(f.ctx, alice, "acme", "alice"))
			down := third(f.d.ChangeMemberRole(f.ctx, alice, "acme", "alice", "admin"))
			if describe(leave) != describe(down) {
				return fmt.Errorf("leave: %v; step down: %v", leave, down)
			}
			return leave
		},
		"anyone not in acme | anything about acme": func(f *fixture) error {
			return second(f.d.GetOrg(f.ctx, erin, "acme"))
		},
	}
	text := string(doc)
	start := strings.Index(text, "| actor | operation | result |")
	if start < 0 {
		t.Fatal("docs/directory.md has no examples table")
	}
	rowRE := regexp.MustCompile(`^\| (.+?) \| (.+?) \| (.+) \|$`)
	n := 0
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unreadable row %q", line)
		}
		// The result is its first code span (or word); the rest is prose.
		key, want := m[1]+" | "+m[2], strings.Fields(m[3])[0]
		if strings.HasPrefix(m[3], "`") {
			want = m[3][:strings.Index(m[3][1:], "`")+2]
		}
		op, known := ops[key]
		if !known {
			t.Errorf("row %q has no executable case in this test: add one", key)
			continue
		}
		n++
		t.Run(key, func(t *testing.T) {
			got := op(newFixture(t))
			if d := describe(got); d != want {
				t.Errorf("docs say %s; the directory answers %s (%v)", want, d, got)
			}
		})
	}
	if n != len(ops) {
		t.Errorf("the table has %d of the %d known rows", n, len(ops))
	}
}

// describe renders an error as the docs' table writes results.
func describe(err error) string {
	var ee *directory.EscalationError
	var fe *directory.ForbiddenError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ee):
		s := "`EscalationError{Reason: " + ee.Reason
		switch {
		case ee.Reason == directory.ReasonLevel && ee.Role != "":
			s += fmt.Sprintf(", RoleLevel: %d, ActorLevel: %d", ee.RoleLevel, ee.ActorLevel)
		case ee.Reason == directory.ReasonTarget:
			s += fmt.Sprintf(", Target: %s, TargetLevel: %d, ActorLevel: %d", ee.Target, ee.TargetLevel, ee.ActorLevel)
		case ee.Reason == directory.ReasonPermissions && len(ee.Missing) > 0:
			var ps []string
			for _, p := range ee.Missing {
				ps = append(ps, p.String())
			}
			s += ", Missing: [" + strings.Join(ps, ", ") + "]"
		}
		return s + "}`"
	case errors.As(err, &fe):
		return "`ForbiddenError{" + fe.Permission + "}`"
	case errors.Is(err, directory.ErrLastOwner):
		return "`ErrLastOwner`"
	case errors.Is(err, directory.ErrNotFound):
		return "`ErrNotFound`"
	}
	return err.Error()
}
