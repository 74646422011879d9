package directory_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/google/go-cmp/cmp"
)

// TestGrantableRoles: the roles offered are exactly those §1.2 lets the
// actor hand out; someone who may grant nothing gets none.
func TestGrantableRoles(t *testing.T) {
	d := openDir(t, openSQLite(t), directory.Options{})
	ctx := ctxT(t)
	mustUsers(t, d, "ada", "bob", "val")
	_, _, err := d.CreateOrg(ctx, user("ada"), directory.OrgSpec{ID: "acme", Template: "mentiko"})
	ok(t, "create org", err)
	_, err = d.CreateRole(ctx, user("ada"), "acme", directory.RoleSpec{Name: "lead", Level: 60, Parents: []string{"builder"}, Permissions: []string{"members:create"}})
	ok(t, "create role", err)
	_, _, err = d.AddMember(ctx, user("ada"), "acme", "bob", "lead")
	ok(t, "add bob", err)
	_, _, err = d.AddMember(ctx, user("ada"), "acme", "val", "viewer")
	ok(t, "add val", err)
	names := func(who string) []string {
		t.Helper()
		rs, err := d.GrantableRoles(ctx, user(who), "acme")
		ok(t, "grantable roles", err)
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		who  string
		want []string
	}{
		{"ada", []string{"admin", "builder", "operator", "viewer", "lead"}},
		{"bob", []string{"builder", "operator", "viewer", "lead"}},
		{"val", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, names(tt.who)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.who, diff)
		}
	}
	_, err = d.GrantableRoles(ctx, user("val"), "nosuch")
	wantErr(t, "another org", err, directory.ErrNotFound)
}

// TestReplacePolicyAt: a save at the current version goes through; one
// from an older version is a conflict and writes nothing.
func TestReplacePolicyAt(t *testing.T) {
	d := openDir(t, openSQLite(t), directory.Options{})
	ctx := ctxT(t)
	mustUsers(t, d, "ada")
	_, _, err := d.CreateOrg(ctx, user("ada"), directory.OrgSpec{ID: "acme", Template: "mentiko"})
	ok(t, "create org", err)
	p, err := d.GetPolicy(ctx, user("ada"), "acme")
	ok(t, "get policy", err)
	first := p.Text + "\nrole first level 1 { permission chains { read } }\n"
	_, err = d.ReplacePolicyAt(ctx, user("ada"), "acme", first, false, p.Version)
	ok(t, "save at the current version", err)
	_, err = d.ReplacePolicyAt(ctx, user("ada"), "acme", p.Text, false, p.Version)
	wantErr(t, "save from a stale version", err, directory.ErrConflict)
	now, err := d.GetPolicy(ctx, user("ada"), "acme")
	ok(t, "get policy", err)
	if now.Text != first || now.Version != p.Version+1 {
		t.Errorf("policy is version %d, text changed: %v", now.Version, now.Text != first)
	}
}
