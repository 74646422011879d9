package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func testOrgs(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var created store.Org
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		created, err = tx.CreateOrg(ctx, store.Org{ID: "acme", Name: "Acme Corp", Template: "mentiko"})
		if err != nil {
			return err
		}
		if !created.CreatedAt.Equal(tx.Now()) {
			t.Errorf("CreatedAt = %v, want the transaction time %v", created.CreatedAt, tx.Now())
		}
		return nil
	})
	if rev != 1 {
		t.Errorf("first write revision = %d, want 1", rev)
	}
	diff(t, "GetOrg", created, must(s.GetOrg(ctx, "acme")).get(t))
	diff(t, "default namespace", []string{"default"}, names(must3(t, s.ListNamespaces, ctx, "acme")))
	diff(t, "changelog of CreateOrg", []string{"org.put acme", "namespace.put default"}, kinds(changes(t, s, 0)))

	// Unique ids; malformed input; absent orgs.
	wantErr(t, "duplicate org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "acme"})
		return err
	}), store.ErrConflict)
	for _, id := range []string{"", "Acme", "-acme", "ac me", "acme/x", string(make([]byte, 64))} {
		wantErr(t, "CreateOrg "+id, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: id})
			return err
		}), store.ErrInvalid)
	}
	wantErr(t, "GetOrg absent", second(s.GetOrg(ctx, "nope")), store.ErrNotFound)

	// Update; an empty name defaults to the id.
	updated := write(t, s, func(ctx context.Context, tx store.Tx) error {
		o, err := tx.UpdateOrg(ctx, store.Org{ID: "acme", Name: "Acme Inc", Template: "mentiko"})
		if err == nil && (o.Name != "Acme Inc" || !o.CreatedAt.Equal(created.CreatedAt)) {
			t.Errorf("UpdateOrg returned %+v", o)
		}
		return err
	})
	if updated != rev+1 {
		t.Errorf("revision after update = %d, want %d", updated, rev+1)
	}
	if got := must(s.GetOrg(ctx, "acme")).get(t); got.Name != "Acme Inc" {
		t.Errorf("name after update = %q", got.Name)
	}
	wantErr(t, "UpdateOrg absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateOrg(ctx, store.Org{ID: "nope", Name: "x"})
		return err
	}), store.ErrNotFound)

	// List in id order.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, id := range []string{"zeta", "beta"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: id}); err != nil {
				return err
			}
		}
		return nil
	})
	orgs, next, err := s.ListOrgs(ctx, store.Page{})
	if err != nil || next != "" {
		t.Fatalf("ListOrgs: next=%q err=%v", next, err)
	}
	var ids []string
	for _, o := range orgs {
		ids = append(ids, o.ID)
	}
	diff(t, "ListOrgs", []string{"acme", "beta", "zeta"}, ids)
	if o := must(s.GetOrg(ctx, "beta")).get(t); o.Name != "beta" {
		t.Errorf("empty name should default to the id, got %q", o.Name)
	}
}

func names(ns []store.Namespace) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

// must3 calls a list method and fails on error or a next page.
func must3[T any](t *testing.T, f func(context.Context, string, store.Page) ([]T, string, error), ctx context.Context, org string) []T {
	t.Helper()
	v, next, err := f(ctx, org, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if next != "" {
		t.Fatalf("unexpected next page")
	}
	return v
}

func second[T any](_ T, err error) error { return err }

func testNamespaces(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, o := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: o}); err != nil {
				return err
			}
		}
		_, err := tx.CreateNamespace(ctx, "a", "prod")
		return err
	})
	ns := must(s.GetNamespace(ctx, "a", "prod")).get(t)
	if ns.Org != "a" || ns.Name != "prod" || ns.CreatedAt.IsZero() {
		t.Errorf("GetNamespace = %+v", ns)
	}
	tests := []struct {
		name      string
		org, ns   string
		wantError error
	}{
		{"same name in another org is fine", "b", "prod", nil},
		{"duplicate in the same org", "a", "prod", store.ErrConflict},
		{"default exists already", "a", "default", store.ErrConflict},
		{"org does not exist", "nope", "prod", store.ErrNotFound},
		{"not a slug", "a", "Prod", store.ErrInvalid},
		{"empty", "a", "", store.ErrInvalid},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateNamespace(ctx, tc.org, tc.ns)
			return err
		}), tc.wantError)
	}
	diff(t, "namespaces of a", []string{"default", "prod"}, names(must3(t, s.ListNamespaces, ctx, "a")))
	diff(t, "namespaces of b", []string{"default", "prod"}, names(must3(t, s.ListNamespaces, ctx, "b")))
	diff(t, "namespaces of an absent org", []string(nil), names(must3(t, s.ListNamespaces, ctx, "nope")))
	wantErr(t, "GetNamespace in another org", second(s.GetNamespace(ctx, "b", "nope")), store.ErrNotFound)

	delTests := []struct {
		name      string
		org, ns   string
		wantError error
	}{
		{"default cannot be deleted", "a", "default", store.ErrRefused},
		{"absent", "a", "staging", store.ErrNotFound},
		{"absent org", "nope", "prod", store.ErrNotFound},
		{"empty namespace", "a", "prod", nil},
	}
	for _, tc := range delTests {
		wantErr(t, "DeleteNamespace: "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteNamespace(ctx, tc.org, tc.ns, store.DeleteOptions{})
		}), tc.wantError)
	}
	wantErr(t, "deleted namespace", second(s.GetNamespace(ctx, "a", "prod")), store.ErrNotFound)
	must(s.GetNamespace(ctx, "b", "prod")).get(t) // untouched
}

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var alice store.User
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		alice, err = tx.CreateUser(ctx, store.User{ID: "alice", Email: " Alice@Example.COM ", DisplayName: "Alice A."})
		return err
	})
	if alice.Email != "alice@example.com" {
		t.Errorf("email is stored lower-case and trimmed, got %q", alice.Email)
	}
	diff(t, "GetUser", alice, must(s.GetUser(ctx, "alice")).get(t))
	diff(t, "GetUserByEmail", alice, must(s.GetUserByEmail(ctx, "ALICE@example.com")).get(t))
	wantErr(t, "GetUser absent", second(s.GetUser(ctx, "nobody")), store.ErrNotFound)
	wantErr(t, "GetUserByEmail absent", second(s.GetUserByEmail(ctx, "nobody@example.com")), store.ErrNotFound)
	wantErr(t, "GetUserByEmail empty", second(s.GetUserByEmail(ctx, "")), store.ErrNotFound)

	tests := []struct {
		name string
		u    store.User
		want error
	}{
		{"duplicate id", store.User{ID: "alice"}, store.ErrConflict},
		{"email taken, any case", store.User{ID: "alice2", Email: "ALICE@example.com"}, store.ErrConflict},
		{"no email is fine, twice", store.User{ID: "noemail1"}, nil},
		{"no email is fine, twice (2)", store.User{ID: "noemail2"}, nil},
		{"malformed id", store.User{ID: "a b"}, store.ErrInvalid},
		{"empty id", store.User{}, store.ErrInvalid},
		{"malformed email", store.User{ID: "carol", Email: "carol"}, store.ErrInvalid},
		{"control characters in the name", store.User{ID: "carol", DisplayName: "a\x00b"}, store.ErrInvalid},
	}
	for _, tc := range tests {
		wantErr(t, "CreateUser: "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateUser(ctx, tc.u)
			return err
		}), tc.want)
	}

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		u, err := tx.UpdateUser(ctx, store.User{ID: "alice", Email: "a@example.org", DisplayName: "Alice"})
		if err == nil && !u.CreatedAt.Equal(alice.CreatedAt) {
			t.Errorf("UpdateUser changed CreatedAt")
		}
		return err
	})
	wantErr(t, "old email is free", second(s.GetUserByEmail(ctx, "alice@example.com")), store.ErrNotFound)
	if u := must(s.GetUserByEmail(ctx, "a@example.org")).get(t); u.ID != "alice" || u.DisplayName != "Alice" {
		t.Errorf("after update: %+v", u)
	}
	wantErr(t, "UpdateUser absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateUser(ctx, store.User{ID: "nobody"})
		return err
	}), store.ErrNotFound)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateUser(ctx, store.User{ID: "bob", Email: "bob@example.com"})
		return err
	})
	wantErr(t, "UpdateUser to a taken email", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateUser(ctx, store.User{ID: "alice", Email: "bob@example.com"})
		return err
	}), store.ErrConflict)

	users, _, err := s.ListUsers(ctx, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	diff(t, "ListUsers", []string{"alice", "bob", "noemail1", "noemail2"}, ids)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "bob") })
	wantErr(t, "deleted user", second(s.GetUser(ctx, "bob")), store.ErrNotFound)
	wantErr(t, "DeleteUser absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteUser(ctx, "bob")
	}), store.ErrNotFound)
}

func testMembers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var m store.Member
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := ensureUsers(ctx, tx, "alice", "bob"); err != nil {
			return err
		}
		for _, o := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: o}); err != nil {
				return err
			}
		}
		var err error
		m, err = tx.AddMember(ctx, store.Member{Org: "a", UserID: "alice", Attributes: map[string]any{"dept": "ops", "level": 3.0}})
		if err != nil {
			return err
		}
		_, err = tx.AddMember(ctx, store.Member{Org: "b", UserID: "alice"})
		return err
	})
	diff(t, "GetMember", m, must(s.GetMember(ctx, "a", "alice")).get(t))
	if m.PrincipalID() != "user:alice" {
		t.Errorf("PrincipalID = %q", m.PrincipalID())
	}
	tests := []struct {
		name string
		m    store.Member
		want error
		msg  string // what the error says (its detail names the member)
	}{
		{"already a member", store.Member{Org: "a", UserID: "alice"}, store.ErrConflict, `member "alice" of org "a" already exists`},
		{"user does not exist", store.Member{Org: "a", UserID: "nobody"}, store.ErrNotFound, `user "nobody"`},
		{"org does not exist", store.Member{Org: "nope", UserID: "bob"}, store.ErrNotFound, `org "nope"`},
		{"malformed user id", store.Member{Org: "a", UserID: "b b"}, store.ErrInvalid, `user id "b b" is malformed`},
		{"attributes that are not JSON", store.Member{Org: "a", UserID: "bob", Attributes: map[string]any{"f": func() {}}}, store.ErrInvalid, ""},
	}
	for _, tc := range tests {
		err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddMember(ctx, tc.m)
			return err
		})
		wantErr(t, "AddMember: "+tc.name, err, tc.want)
		if err != nil && !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("AddMember: %s: error %q does not say %q", tc.name, err, tc.msg)
		}
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateMember(ctx, store.Member{Org: "a", UserID: "alice", Attributes: map[string]any{"dept": "sales"}})
		return err
	})
	diff(t, "attributes after update", map[string]any{"dept": "sales"}, must(s.GetMember(ctx, "a", "alice")).get(t).Attributes)
	wantErr(t, "UpdateMember not a member", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateMember(ctx, store.Member{Org: "a", UserID: "bob"})
		return err
	}), store.ErrNotFound)

	ms, _, err := s.ListMemberships(ctx, "alice", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for _, m := range ms {
		orgs = append(orgs, m.Org)
	}
	diff(t, "ListMemberships", []string{"a", "b"}, orgs)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, "a", "alice") })
	wantErr(t, "removed member", second(s.GetMember(ctx, "a", "alice")), store.ErrNotFound)
	must(s.GetMember(ctx, "b", "alice")).get(t) // the other org's membership stays
	must(s.GetUser(ctx, "alice")).get(t)        // and the user
	wantErr(t, "RemoveMember twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RemoveMember(ctx, "a", "alice")
	}), store.ErrNotFound)

	// Deleting the user removes every membership, each with its entry.
	before := must(s.CurrentRevision(ctx)).get(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, "alice") })
	diff(t, "changelog of DeleteUser", []string{"member.delete user:alice", "user.delete alice"}, kinds(changes(t, s, before)))
	wantErr(t, "membership of a deleted user", second(s.GetMember(ctx, "b", "alice")), store.ErrNotFound)
}

func testAgents(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	expires := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	var a store.Agent
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := ensureUsers(ctx, tx, "alice", "bob"); err != nil {
			return err
		}
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, store.Member{Org: "a", UserID: "alice"}); err != nil {
			return err
		}
		var err error
		a, err = tx.CreateAgent(ctx, store.Agent{Org: "a", Name: "Triage", Role: "operator", Sponsor: "alice",
			ExpiresAt: expires.In(time.FixedZone("X", 3600)), Attributes: map[string]any{"model": "m1"}})
		return err
	})
	got := must(s.GetAgent(ctx, "a", "Triage")).get(t)
	diff(t, "GetAgent", a, got)
	if !got.ExpiresAt.Equal(expires) {
		t.Errorf("ExpiresAt = %v, want %v", got.ExpiresAt, expires)
	}
	p := got.Principal()
	if p.ID != "agent:Triage" || p.Role != "operator" || !p.ExpiresAt.Equal(expires) {
		t.Errorf("Principal() = %+v", p)
	}
	tests := []struct {
		name string
		a    store.Agent
		want error
	}{
		{"duplicate name", store.Agent{Org: "a", Name: "Triage", Role: "viewer"}, store.ErrConflict},
		{"sponsor is not a member", store.Agent{Org: "a", Name: "B", Role: "viewer", Sponsor: "bob"}, store.ErrNotFound},
		{"org does not exist", store.Agent{Org: "nope", Name: "B", Role: "viewer"}, store.ErrNotFound},
		{"no role", store.Agent{Org: "a", Name: "B"}, store.ErrInvalid},
		{"malformed name", store.Agent{Org: "a", Name: "1abc", Role: "viewer"}, store.ErrInvalid},
	}
	for _, tc := range tests {
		wantErr(t, "CreateAgent: "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateAgent(ctx, tc.a)
			return err
		}), tc.want)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateAgent(ctx, store.Agent{Org: "a", Name: "Triage", Role: "viewer"})
		return err
	})
	got = must(s.GetAgent(ctx, "a", "Triage")).get(t)
	if got.Role != "viewer" || !got.ExpiresAt.IsZero() || got.Sponsor != "" || got.Attributes != nil || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("after UpdateAgent: %+v", got)
	}
	wantErr(t, "UpdateAgent absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateAgent(ctx, store.Agent{Org: "a", Name: "Nope", Role: "viewer"})
		return err
	}), store.ErrNotFound)
	agents := must3(t, s.ListAgents, ctx, "a")
	if len(agents) != 1 || agents[0].Name != "Triage" {
		t.Errorf("ListAgents = %+v", agents)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteAgent(ctx, "a", "Triage") })
	wantErr(t, "deleted agent", second(s.GetAgent(ctx, "a", "Triage")), store.ErrNotFound)
	wantErr(t, "DeleteAgent absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteAgent(ctx, "a", "Triage")
	}), store.ErrNotFound)
}

func testServices(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var sv store.Service
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateOrg(ctx, store.Org{ID: "a"}); err != nil {
			return err
		}
		var err error
		sv, err = tx.CreateService(ctx, store.Service{Org: "a", Name: "ci", Attributes: map[string]any{"runner": "gh"}})
		return err
	})
	diff(t, "GetService", sv, must(s.GetService(ctx, "a", "ci")).get(t))
	if sv.Principal().ID != "service:ci" {
		t.Errorf("Principal().ID = %q", sv.Principal().ID)
	}
	wantErr(t, "duplicate service", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateService(ctx, store.Service{Org: "a", Name: "ci"})
		return err
	}), store.ErrConflict)
	wantErr(t, "service in an absent org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateService(ctx, store.Service{Org: "nope", Name: "ci"})
		return err
	}), store.ErrNotFound)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateService(ctx, store.Service{Org: "a", Name: "ci", Attributes: map[string]any{"runner": "gl"}})
		return err
	})
	diff(t, "attributes after update", map[string]any{"runner": "gl"}, must(s.GetService(ctx, "a", "ci")).get(t).Attributes)
	if got := must3(t, s.ListServices, ctx, "a"); len(got) != 1 {
		t.Errorf("ListServices = %+v", got)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteService(ctx, "a", "ci") })
	wantErr(t, "deleted service", second(s.GetService(ctx, "a", "ci")), store.ErrNotFound)
	wantErr(t, "UpdateService absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateService(ctx, store.Service{Org: "a", Name: "ci"})
		return err
	}), store.ErrNotFound)
}

func testTeams(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	team := must(s.GetTeam(ctx, f.org, "support")).get(t)
	diff(t, "seeded team members", []string{"agent:Triage", "user:alice"}, team.Members)
	if team.Name != "Support" || team.PrincipalID() != "team:support" {
		t.Errorf("GetTeam = %+v", team)
	}

	before := must(s.CurrentRevision(ctx)).get(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.AddTeamMember(ctx, f.org, "support", "service:ci")
		if err == nil {
			diff(t, "AddTeamMember result", []string{"agent:Triage", "service:ci", "user:alice"}, got.Members)
		}
		return err
	})
	cs := changes(t, s, before)
	diff(t, "changelog of AddTeamMember", []string{"team.put team:support"}, kinds(cs))
	if len(cs) == 1 {
		v := must(cs[0].Decode()).get(t)
		diff(t, "team.put payload members", []string{"agent:Triage", "service:ci", "user:alice"}, v.(store.Team).Members)
	}

	tests := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"add: already a member", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddTeamMember(ctx, f.org, "support", "user:alice")
			return err
		}, store.ErrConflict},
		{"add: user is not a member of the org", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddTeamMember(ctx, f.org, "support", "user:carol")
			return err
		}, store.ErrNotFound},
		{"add: teams cannot nest", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddTeamMember(ctx, f.org, "support", "team:support")
			return err
		}, store.ErrInvalid},
		{"add: malformed principal", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddTeamMember(ctx, f.org, "support", "alice")
			return err
		}, store.ErrInvalid},
		{"add: team does not exist", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AddTeamMember(ctx, f.org, "nope", "user:bob")
			return err
		}, store.ErrNotFound},
		{"remove: not in the team", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.RemoveTeamMember(ctx, f.org, "support", "user:bob")
			return err
		}, store.ErrNotFound},
		{"create: duplicate slug", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateTeam(ctx, store.Team{Org: f.org, Slug: "support"})
			return err
		}, store.ErrConflict},
		{"create: member does not exist", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateTeam(ctx, store.Team{Org: f.org, Slug: "x", Members: []string{"agent:Nope"}})
			return err
		}, store.ErrNotFound},
		{"create: malformed slug", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateTeam(ctx, store.Team{Org: f.org, Slug: "X Y"})
			return err
		}, store.ErrInvalid},
		{"update: absent", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateTeam(ctx, store.Team{Org: f.org, Slug: "nope", Name: "n"})
			return err
		}, store.ErrNotFound},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, writeErr(t, s, tc.fn), tc.want)
	}

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.RemoveTeamMember(ctx, f.org, "support", "agent:Triage")
		if err == nil {
			diff(t, "RemoveTeamMember result", []string{"service:ci", "user:alice"}, got.Members)
		}
		if _, err := tx.UpdateTeam(ctx, store.Team{Org: f.org, Slug: "support", Name: "Tier 1"}); err != nil {
			return err
		}
		_, err = tx.CreateTeam(ctx, store.Team{Org: f.org, Slug: "empty"})
		return err
	})
	members, _, err := s.ListTeamMembers(ctx, f.org, "support", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListTeamMembers", []string{"service:ci", "user:alice"}, members)
	wantErr(t, "ListTeamMembers of an absent team", third(s.ListTeamMembers(ctx, f.org, "nope", store.Page{})), store.ErrNotFound)
	teams := must3(t, s.ListTeams, ctx, f.org)
	var slugs []string
	for _, tm := range teams {
		slugs = append(slugs, tm.Slug+"="+tm.Name)
	}
	diff(t, "ListTeams", []string{"empty=", "support=Tier 1"}, slugs)
	if tm := must(s.GetTeam(ctx, f.org, "empty")).get(t); tm.Members == nil || len(tm.Members) != 0 {
		t.Errorf("an empty team has an empty, non-nil member list, got %#v", tm.Members)
	}
}

func third[A, B any](_ A, _ B, err error) error { return err }

// ids of bindings.
func bindingIDs(bs []store.Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ID)
	}
	return out
}

func testBindings(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	share := must(s.GetBinding(ctx, f.org, "share")).get(t)
	want := store.Binding{Org: f.org, Binding: authz.Binding{ID: "share", Principal: "user:bob", Actions: []string{"run", "read"},
		Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}}, CreatedAt: share.CreatedAt}
	diff(t, "GetBinding", want, share)

	var generated store.Binding
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		generated, err = tx.CreateBinding(ctx, store.Binding{Org: f.org, CreatedBy: "user:alice",
			Binding: authz.Binding{Principal: "service:ci", Role: "builder", Scope: authz.Scope{Namespace: "prod"}, Condition: "business_hours"}})
		return err
	})
	if generated.ID == "" {
		t.Fatal("CreateBinding did not generate an id")
	}
	diff(t, "generated binding", generated, must(s.GetBinding(ctx, f.org, generated.ID)).get(t))

	list := func(fl store.BindingFilter) []string {
		bs, _, err := s.ListBindings(ctx, f.org, fl, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return bindingIDs(bs)
	}
	prod := authz.Scope{Namespace: "prod"}
	filters := []struct {
		name string
		f    store.BindingFilter
		want []string
	}{
		{"all, by id", store.BindingFilter{}, sortedIDs("agent", generated.ID, "owner", "share", "viewer")},
		{"by principal", store.BindingFilter{Principal: "user:alice"}, []string{"owner"}},
		{"by role", store.BindingFilter{Role: "operator"}, []string{"agent"}},
		{"in a namespace (namespace and resource scopes)", store.BindingFilter{Namespace: "prod"}, sortedIDs(generated.ID, "share", "viewer")},
		{"exactly the org scope", store.BindingFilter{Scope: &authz.Scope{}}, []string{"agent", "owner"}},
		{"the org scope by flag", store.BindingFilter{OrgScopeOnly: true}, []string{"agent", "owner"}},
		{"the org scope by flag, one principal", store.BindingFilter{OrgScopeOnly: true, Principal: "user:alice"}, []string{"owner"}},
		{"exactly a namespace scope", store.BindingFilter{Scope: &prod}, sortedIDs(generated.ID, "viewer")},
		{"principal and role", store.BindingFilter{Principal: "team:support", Role: "viewer"}, []string{"viewer"}},
		{"nothing matches", store.BindingFilter{Principal: "user:nobody"}, nil},
	}
	for _, tc := range filters {
		diff(t, "ListBindings "+tc.name, tc.want, list(tc.f))
	}

	wantErr(t, "duplicate id", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{ID: "owner", Principal: "user:bob", Role: "viewer"}})
		return err
	}), store.ErrConflict)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, f.org, "owner") })
	wantErr(t, "deleted binding", second(s.GetBinding(ctx, f.org, "owner")), store.ErrNotFound)
	wantErr(t, "DeleteBinding twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteBinding(ctx, f.org, "owner")
	}), store.ErrNotFound)
}

func sortedIDs(ids ...string) []string {
	out := append([]string(nil), ids...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func testBindingShapes(t *testing.T, s store.Store) {
	f := seed(t, s, "a")
	res := authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}
	tests := []struct {
		name string
		b    authz.Binding
		want error
	}{
		{"role at org scope", authz.Binding{Principal: "user:bob", Role: "viewer"}, nil},
		{"role at namespace scope", authz.Binding{Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}}, nil},
		{"role at resource scope", authz.Binding{Principal: "user:bob", Role: "viewer", Scope: res}, nil},
		{"actions at resource scope, wildcard", authz.Binding{Principal: "team:support", Actions: []string{"*"}, Scope: res}, nil},
		{"neither role nor actions", authz.Binding{Principal: "user:bob"}, store.ErrInvalid},
		{"both role and actions", authz.Binding{Principal: "user:bob", Role: "viewer", Actions: []string{"run"}, Scope: res}, store.ErrInvalid},
		{"actions at namespace scope", authz.Binding{Principal: "user:bob", Actions: []string{"run"}, Scope: authz.Scope{Namespace: "prod"}}, store.ErrInvalid},
		{"actions at org scope", authz.Binding{Principal: "user:bob", Actions: []string{"run"}}, store.ErrInvalid},
		{"type without id", authz.Binding{Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Namespace: "prod", Type: "chains"}}, store.ErrInvalid},
		{"id without namespace", authz.Binding{Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Type: "chains", ID: "triage"}}, store.ErrInvalid},
		{"malformed action", authz.Binding{Principal: "user:bob", Actions: []string{"ru n"}, Scope: res}, store.ErrInvalid},
		{"malformed role", authz.Binding{Principal: "user:bob", Role: "a b"}, store.ErrInvalid},
		{"malformed condition", authz.Binding{Principal: "user:bob", Role: "viewer", Condition: "x y"}, store.ErrInvalid},
		{"unknown principal kind", authz.Binding{Principal: "robot:x", Role: "viewer"}, store.ErrInvalid},
		{"principal without kind", authz.Binding{Principal: "bob", Role: "viewer"}, store.ErrInvalid},
		{"malformed id", authz.Binding{ID: "a b", Principal: "user:bob", Role: "viewer"}, store.ErrInvalid},
		{"user who is not a member", authz.Binding{Principal: "user:carol", Role: "viewer"}, store.ErrNotFound},
		{"team that does not exist", authz.Binding{Principal: "team:nope", Role: "viewer"}, store.ErrNotFound},
		{"agent that does not exist", authz.Binding{Principal: "agent:Nope", Role: "viewer"}, store.ErrNotFound},
		{"service that does not exist", authz.Binding{Principal: "service:nope", Role: "viewer"}, store.ErrNotFound},
		{"namespace that does not exist", authz.Binding{Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Namespace: "staging"}}, store.ErrNotFound},
		{"resource that does not exist", authz.Binding{Principal: "user:bob", Actions: []string{"run"},
			Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "nope"}}, store.ErrNotFound},
	}
	for _, tc := range tests {
		wantErr(t, tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: tc.b})
			return err
		}), tc.want)
	}
	wantErr(t, "org that does not exist", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateBinding(ctx, store.Binding{Org: "nope", Binding: authz.Binding{Principal: "user:bob", Role: "viewer"}})
		return err
	}), store.ErrNotFound)
}

func testPolicies(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateOrg(ctx, store.Org{ID: "a"})
		return err
	})
	wantErr(t, "GetPolicy before any", second(s.GetPolicy(ctx, "a")), store.ErrNotFound)
	var v1, v2 store.Policy
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		if v1, err = tx.SetPolicy(ctx, "a", "role viewer level 10 {}\n", "user:alice"); err != nil {
			return err
		}
		v2, err = tx.SetPolicy(ctx, "a", "role viewer level 20 {}\n", "user:bob")
		return err
	})
	if v1.Version != 1 || v2.Version != 2 {
		t.Errorf("versions = %d, %d; want 1, 2", v1.Version, v2.Version)
	}
	diff(t, "GetPolicy is the newest", v2, must(s.GetPolicy(ctx, "a")).get(t))
	diff(t, "GetPolicyVersion 1", v1, must(s.GetPolicyVersion(ctx, "a", 1)).get(t))
	wantErr(t, "GetPolicyVersion 3", second(s.GetPolicyVersion(ctx, "a", 3)), store.ErrNotFound)
	wantErr(t, "GetPolicyVersion 0", second(s.GetPolicyVersion(ctx, "a", 0)), store.ErrNotFound)
	ps, _, err := s.ListPolicyVersions(ctx, "a", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListPolicyVersions newest first", []store.Policy{v2, v1}, ps)
	tests := []struct {
		name, org, text string
		want            error
	}{
		{"org does not exist", "nope", "x", store.ErrNotFound},
		{"not UTF-8", "a", "\xff", store.ErrInvalid},
		{"NUL", "a", "a\x00b", store.ErrInvalid},
		{"too large", "a", strings.Repeat("a", store.MaxPolicyBytes+1), store.ErrInvalid},
		{"empty text is a policy too", "a", "", nil},
	}
	for _, tc := range tests {
		wantErr(t, "SetPolicy: "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.SetPolicy(ctx, tc.org, tc.text, "user:alice")
			return err
		}), tc.want)
	}
}

// testChangeValues: a transaction that keeps its changes' decoded payloads
// (ChangeValuesFrom, which the directory applies to its engine instead of
// decoding the changelog payloads it has just encoded) keeps exactly what
// Change.Decode returns for each of them, whatever the binding's shape.
func testChangeValues(t *testing.T, s store.Store) {
	f := seed(t, s, "a")
	res := authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}
	soon := time.Now().Add(time.Hour)
	bindings := []authz.Binding{
		{Principal: "user:bob", Role: "viewer"},
		{Principal: "user:bob", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}, Condition: "business_hours"},
		{ID: "given-id", Principal: "team:support", Actions: []string{"run", "read"}, Scope: res, ExpiresAt: soon},
		{Principal: "role:operator", Actions: []string{"*"}, Scope: res},
		{Principal: "agent:Triage", Role: "viewer", Scope: res, ExpiresAt: soon},
	}
	const keptMembers = 2 // carol's member.put, bob's update
	kept := -1
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		cv, ok := tx.(interface{ ChangeValuesFrom(i int) []any })
		if !ok {
			return nil
		}
		from := len(tx.Changes())
		for _, b := range bindings {
			if _, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: b, CreatedBy: "user:alice"}); err != nil {
				return err
			}
		}
		if _, err := tx.CreateTeam(ctx, store.Team{Org: f.org, Slug: "values"}); err != nil {
			return err
		}
		// Members: kept without attributes (carol, bob's update to none),
		// decoded by the reader with them (dave: a map of any).
		if err := ensureUsers(ctx, tx, "carol", "dave"); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, store.Member{Org: f.org, UserID: "carol"}); err != nil {
			return err
		}
		if _, err := tx.AddMember(ctx, store.Member{Org: f.org, UserID: "dave", Attributes: map[string]any{"dept": "ops", "level": 3}}); err != nil {
			return err
		}
		if _, err := tx.UpdateMember(ctx, store.Member{Org: f.org, UserID: "bob", Attributes: map[string]any{}}); err != nil {
			return err
		}
		changes, values := tx.Changes()[from:], cv.ChangeValuesFrom(from)
		if len(values) != len(changes) {
			t.Fatalf("%d values for %d changes", len(values), len(changes))
		}
		kept = 0
		for i, c := range changes {
			if values[i] == nil {
				continue
			}
			kept++
			want, err := c.Decode()
			if err != nil {
				t.Fatalf("change %d: Decode: %v", i, err)
			}
			if diff := cmp.Diff(want, values[i]); diff != "" {
				t.Errorf("change %d (%s): kept value differs from the decoded payload (-Decode +kept):\n%s", i, c.Kind, diff)
			}
		}
		return nil
	})
	switch kept {
	case -1:
		t.Skip("the store keeps no decoded change values")
	case len(bindings) + keptMembers:
	default:
		t.Errorf("kept %d values, want one per binding (%d) and per member without attributes (%d)", kept, len(bindings), keptMembers)
	}
}
