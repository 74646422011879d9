package directory_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// auditActions lists the actions of acme's audit entries after seq.
func (f *fixture) auditActions(after uint64) []string {
	f.t.Helper()
	es, _, err := f.d.ListAudit(f.ctx, alice, "acme", store.AuditFilter{After: after}, store.Page{Size: 1000})
	ok(f.t, "ListAudit", err)
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" "+e.Target)
	}
	return out
}

func (f *fixture) auditSeq() uint64 {
	f.t.Helper()
	es, _, err := f.d.ListAudit(f.ctx, alice, "acme", store.AuditFilter{Newest: true}, store.Page{Size: 1})
	ok(f.t, "ListAudit", err)
	if len(es) == 0 {
		return 0
	}
	return es[0].Seq
}

// TestWriteBatch: a batch is one revision; every change is authorized and
// audited as if sent alone; the keys name what each change made.
func TestWriteBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seq := f.auditSeq()
	gina := authz.ResourceRef{Namespace: "staging", Type: "chains", ID: "nightly"}
	keys, rev, err := f.d.Write(f.ctx, bob, "acme", []directory.WriteChange{
		{Op: directory.OpNamespaceCreate, Namespace: "staging"},
		{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: "staging", Type: "chains", ID: "nightly"}},
		{Op: directory.OpUserCreate, User: directory.UserSpec{ID: "gina", Email: "Gina@Example.com", Role: "viewer"}},
		{Op: directory.OpMemberAdd, User: directory.UserSpec{ID: "erin", Role: "viewer"}},
		{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:gina", Role: "builder", Scope: authz.Scope{Namespace: "staging"}}},
		{Op: directory.OpShareCreate, Ref: triage, Principal: "user:erin", Actions: []string{"run", "run"}},
	})
	ok(t, "Write", err)
	if rev != f.rev+1 {
		t.Errorf("revision %d, want %d (one for the batch)", rev, f.rev+1)
	}
	if len(keys) != 6 || keys[0] != "staging" || keys[1] != "staging/chains/nightly" || keys[2] != "gina" || keys[3] != "erin" || keys[4] == "" || keys[5] == "" {
		t.Errorf("keys = %q", keys)
	}
	ginaActor, erinActor := user("gina"), user("erin")
	if !f.can(ginaActor, gina, "run") {
		t.Errorf("gina cannot run staging/chains/nightly after the batch bound her builder there")
	}
	if f.can(ginaActor, triage, "run") {
		t.Errorf("gina (viewer at org) can run default/chains/triage")
	}
	if !f.can(erinActor, triage, "run") {
		t.Errorf("erin cannot run the chain shared with her")
	}
	want := []string{
		"namespace.create namespace/staging",
		"resource.create resource/staging/chains/nightly",
		"user.provision user/gina",
		"member.add member/user:erin",
		"binding.create binding/" + keys[4],
		"share share/" + keys[5],
	}
	got := f.auditActions(seq)
	// Targets of changes whose key the store chooses are compared by prefix.
	if len(got) != len(want) {
		t.Fatalf("audit entries:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		w, _, _ := strings.Cut(want[i], " ")
		if !strings.HasPrefix(got[i], w+" ") {
			t.Errorf("audit entry %d = %q, want %q", i, got[i], want[i])
		}
	}
	bes, _, err := f.d.ListAudit(f.ctx, alice, "acme", store.AuditFilter{After: seq, Action: "binding.create"}, store.Page{})
	ok(t, "ListAudit", err)
	if len(bes) != 1 || len(bes[0].Before) != 0 || !strings.Contains(string(bes[0].After), `"builder"`) {
		t.Errorf("the batch's binding entry: %+v, want no before and the binding after", bes)
	}
	es, _, err := f.d.ListAudit(f.ctx, alice, "acme", store.AuditFilter{After: seq, Action: "user.provision"}, store.Page{})
	ok(t, "ListAudit", err)
	if len(es) != 1 || strings.Contains(string(es[0].After)+string(es[0].Before)+string(es[0].Details), "@") {
		t.Errorf("the provisioning entry shows the email: %+v", es)
	}
	// A change that made several store changes lists them in its details.
	var details struct {
		Changes []struct{ Kind, Key string } `json:"changes"`
	}
	if len(es) == 1 {
		ok(t, "the provisioning entry's details", json.Unmarshal(es[0].Details, &details))
	}
	var kinds []string
	for _, c := range details.Changes {
		kinds = append(kinds, c.Kind)
	}
	if want := []string{"user.put", "member.put", "binding.put"}; !cmp.Equal(kinds, want) {
		t.Errorf("the provisioning entry's details list the changes %q, want %q", kinds, want)
	}
}

// TestWriteBatchAllOrNothing: the first change that fails fails the batch,
// located, with its own kind; nothing of the batch is kept, and the
// refusal is audited.
func TestWriteBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		actor     directory.Actor
		changes   []directory.WriteChange
		want      error
		wantField string
		wantIndex int
	}{
		{"escalation at the end", bob, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
			{Op: directory.OpBindingCreate, Binding: directory.BindingSpec{Principal: "user:carol", Role: "owner"}},
		}, directory.ErrEscalation, "", 1},
		{"forbidden", carol, []directory.WriteChange{
			{Op: directory.OpResourceCreate, Resource: directory.ResourceSpec{Namespace: "default", Type: "chains", ID: "x"}},
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
		}, directory.ErrForbidden, "", 1},
		{"duplicate", bob, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
		}, directory.ErrConflict, "", 1},
		{"non-member", erin, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
		}, directory.ErrNotFound, "", -1},
		{"unknown op", bob, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
			{Op: "namespace.drop"},
		}, directory.ErrInvalid, "changes[1].op", -1},
		{"malformed share", bob, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
			{Op: directory.OpShareCreate, Ref: triage, Principal: "user:erin"},
		}, directory.ErrInvalid, "changes[1].actions", -1},
		{"last owner", alice, []directory.WriteChange{
			{Op: directory.OpNamespaceCreate, Namespace: "staging"},
			{Op: directory.OpBindingDelete, BindingID: "OWNER"},
		}, directory.ErrLastOwner, "", -1},
		{"empty", bob, nil, directory.ErrInvalid, "changes", -1},
		{"too many", bob, make([]directory.WriteChange, directory.MaxBatch+1), directory.ErrInvalid, "changes", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			for i := range tc.changes {
				if tc.changes[i].BindingID == "OWNER" {
					tc.changes[i].BindingID = f.bindingID("user:alice", "owner")
				}
			}
			_, _, err := f.d.Write(f.ctx, tc.actor, "acme", tc.changes)
			wantErr(t, "Write", err, tc.want)
			var ie *directory.InvalidError
			if tc.wantField != "" && (!errors.As(err, &ie) || ie.Field != tc.wantField) {
				t.Errorf("error %v does not name field %q", err, tc.wantField)
			}
			var be *directory.BatchError
			if tc.wantIndex >= 0 && (!errors.As(err, &be) || be.Index != tc.wantIndex) {
				t.Errorf("error %v does not name change %d", err, tc.wantIndex)
			}
			if f.d.Revision() != f.rev {
				t.Errorf("revision moved from %d to %d: part of a failed batch was kept", f.rev, f.d.Revision())
			}
			if _, err := f.d.GetNamespace(f.ctx, alice, "acme", "staging"); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("namespace staging after a failed batch: %v", err)
			}
		})
	}
}

// TestProvisionUser: members:create provisions a new user as a member; it
// never reaches an existing user (an id taken is a conflict, an email taken
// is not attached) and follows §1.2.
func TestProvisionUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, rev, err := f.d.ProvisionUser(f.ctx, bob, "acme", directory.UserSpec{ID: "gina", Email: "gina@example.com", DisplayName: "Gina", Role: "builder"})
	ok(t, "ProvisionUser", err)
	if d := cmp.Diff("gina@example.com", u.Email); d != "" || rev != f.rev+1 {
		t.Errorf("user %+v at revision %d", u, rev)
	}
	if !f.can(user("gina"), triage, "run") {
		t.Errorf("the provisioned builder cannot run triage")
	}
	tests := []struct {
		name  string
		actor directory.Actor
		spec  directory.UserSpec
		want  error
	}{
		{"existing id", bob, directory.UserSpec{ID: "alice", Email: "x@example.com", Role: "viewer"}, directory.ErrConflict},
		{"above the actor", bob, directory.UserSpec{ID: "hank", Email: "hank@example.com", Role: "owner"}, directory.ErrEscalation},
		{"without members:create", dave, directory.UserSpec{ID: "hank", Email: "hank@example.com", Role: "viewer"}, directory.ErrForbidden},
		{"without members:create, taken email", dave, directory.UserSpec{ID: "hank", Email: "gina@example.com", Role: "viewer"}, directory.ErrForbidden},
		{"non-member", erin, directory.UserSpec{ID: "hank", Email: "hank@example.com", Role: "viewer"}, directory.ErrNotFound},
		{"no email", bob, directory.UserSpec{ID: "hank", Role: "viewer"}, directory.ErrInvalid},
		{"unknown role", bob, directory.UserSpec{ID: "hank", Email: "hank@example.com", Role: "nope"}, directory.ErrInvalid},
	}
	for _, tc := range tests {
		_, _, err := f.d.ProvisionUser(f.ctx, tc.actor, "acme", tc.spec)
		wantErr(t, tc.name, err, tc.want)
	}
	if _, err := f.st.GetUser(f.ctx, "hank"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused provisioning left user hank: %v", err)
	}
	if a, err := f.st.GetUser(f.ctx, "alice"); err != nil || a.Email != "" {
		t.Errorf("alice after the refused provisioning: %+v, %v", a, err)
	}
	// An email taken is not a refusal (it would tell who has it): the new
	// user is made without it, and gina keeps hers.
	ivy, _, err := f.d.ProvisionUser(f.ctx, bob, "acme", directory.UserSpec{ID: "ivy", Email: "GINA@example.com", Role: "viewer"})
	ok(t, "ProvisionUser with gina's email", err)
	if ivy.Email != "" {
		t.Errorf("ivy got gina's address: %+v", ivy)
	}
	if g, err := f.st.GetUser(f.ctx, "gina"); err != nil || g.Email != "gina@example.com" {
		t.Errorf("gina after ivy: %+v, %v", g, err)
	}
}
