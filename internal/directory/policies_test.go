package directory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// TestRoleEditsKeepTheRestOfThePolicy: custom-role operations change the
// stored policy text only where the role is. The header below has two
// blank lines on purpose (a layout the formatter would not produce):
// deleting role b must keep both — the old splice ran
// strings.ReplaceAll(text, "\n\n\n", "\n\n") over the whole text and
// removed one.
func TestRoleEditsKeepTheRestOfThePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol, err := f.d.GetPolicy(f.ctx, alice, "acme")
	ok(t, "get policy", err)
	const header = "# Acme's policy.\n\n\n# Custom roles are at the end.\n\n"
	role := func(name, actions string) string {
		return "role " + name + " level 5 {\n    permission tickets {\n" + actions + "    }\n}\n"
	}
	a, b, c := role("a", "        read\n"), role("b", "        read\n"), role("c", "        read\n")
	base := header + pol.Text + "\n"
	ok(t, "replace", second(f.d.ReplacePolicy(f.ctx, alice, "acme", base+a+"\n"+b+"\n"+c, false)))

	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"delete b", func() error {
			return second(f.d.DeleteRole(f.ctx, alice, "acme", "b"))
		}, base + a + "\n" + c},
		{"update a", func() error {
			return second(f.d.UpdateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "a", Level: 5, Permissions: []string{"tickets:read", "tickets:update"}}))
		}, base + role("a", "        read,\n        update\n") + "\n" + c},
		{"create d", func() error {
			return second(f.d.CreateRole(f.ctx, alice, "acme", directory.RoleSpec{Name: "d", Level: 5, Permissions: []string{"tickets:read"}}))
		}, base + role("a", "        read,\n        update\n") + "\n" + c + "\n" + role("d", "        read\n")},
		{"delete c, the middle one", func() error {
			return second(f.d.DeleteRole(f.ctx, alice, "acme", "c"))
		}, base + role("a", "        read,\n        update\n") + "\n" + role("d", "        read\n")},
		{"delete d, the last one", func() error {
			return second(f.d.DeleteRole(f.ctx, alice, "acme", "d"))
		}, base + role("a", "        read,\n        update\n")},
	}
	for _, s := range steps {
		ok(t, s.name, s.do())
		got, err := f.d.GetPolicy(f.ctx, alice, "acme")
		ok(t, "get policy", err)
		if d := cmp.Diff(s.want, got.Text); d != "" {
			t.Fatalf("%s: policy text (-want +got):\n%s", s.name, d)
		}
	}
}
