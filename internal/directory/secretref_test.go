package directory_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Secret names are hidden by every directory, with nothing installed
// (package secretref): these directories are opened with no vault and no
// other wiring, exactly as a program that forgot one would open them.

const secretCanary = "CANARY_SECRET_NAME"

// secretsWorld is org acme of the mentiko template in a plain directory:
// alice admin, bob builder (secrets:list), vic viewer (audit:read,
// chains:read, no secrets:list).
func secretsWorld(t *testing.T) (*directory.Directory, store.Store) {
	t.Helper()
	ctx := ctxT(t)
	st := openSQLite(t)
	d := openDir(t, st, directory.Options{})
	mustUsers(t, d, "alice", "bob", "vic")
	ok(t, "create acme", third(d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme", Template: "mentiko"})))
	for u, role := range map[string]string{"bob": "builder", "vic": "viewer"} {
		ok(t, "add "+u, third(d.AddMember(ctx, alice, "acme", u, role)))
	}
	ok(t, "create prod", third(d.CreateNamespace(ctx, alice, "acme", "prod")))
	return d, st
}

func TestAuditNamesHiddenWithoutWiring(t *testing.T) {
	d, _ := secretsWorld(t)
	ctx := ctxT(t)
	vic := user("vic")
	for _, e := range []audit.Entry{
		{Org: "acme", Actor: audit.Actor{Principal: "user:alice"}, Action: "secrets.read", Target: "prod/secrets/" + secretCanary,
			Result: audit.Success, Details: json.RawMessage(`{"name":"` + secretCanary + `","version":1}`)},
		{Org: "acme", Actor: audit.Actor{Principal: "user:bob"}, Action: "resource.create", Target: "resource/prod/chains/c",
			Result: audit.Denied, Message: `secret "` + secretCanary + `" in namespace "prod" may be referenced only by role:admin`},
	} {
		ok(t, "record "+e.Action, d.RecordEvent(ctx, e))
	}

	tests := []struct {
		name       string
		reader     directory.Actor
		filter     store.AuditFilter
		wantNames  bool // the canary is in the answer
		wantHashes bool
		wantN      int // entries naming secrets answered
	}{
		{"the admin sees the log as stored", alice, store.AuditFilter{}, true, true, 2},
		{"a viewer sees no name", vic, store.AuditFilter{}, false, false, 2},
		{"a viewer's filter by the name answers nothing", vic, store.AuditFilter{Target: "prod/secrets/" + secretCanary}, false, false, 0},
		{"the admin's filter by the name answers the entry", alice, store.AuditFilter{Target: "prod/secrets/" + secretCanary}, true, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, _, err := d.ListAudit(ctx, tc.reader, "acme", tc.filter, store.Page{Size: store.MaxPageSize})
			ok(t, "ListAudit", err)
			var about []audit.Entry
			for _, e := range es {
				if strings.HasPrefix(e.Action, "secrets.") || e.Result == audit.Denied && e.Target == "resource/prod/chains/c" {
					about = append(about, e)
				}
			}
			if len(about) != tc.wantN {
				t.Fatalf("%d entries about the secret, want %d: %+v", len(about), tc.wantN, about)
			}
			out, err := json.Marshal(es)
			ok(t, "marshal", err)
			if got := strings.Contains(string(out), secretCanary); got != tc.wantNames {
				t.Errorf("names in the answer = %v, want %v: %s", got, tc.wantNames, out)
			}
			for _, e := range about {
				if got := e.Hash != (audit.Hash{}); got != tc.wantHashes {
					t.Errorf("entry %d: hash shown = %v, want %v", e.Seq, got, tc.wantHashes)
				}
				if e.Redacted == tc.wantNames {
					t.Errorf("entry %d: redacted = %v, want %v", e.Seq, e.Redacted, !tc.wantNames)
				}
			}
		})
	}

	_, err := d.AuditCheckpoints(ctx, vic, "acme", 0)
	wantErr(t, "a viewer's checkpoints", err, directory.ErrForbidden)
	if got := d.AuditView(vic, "acme").Missing(); got != "secrets:list" {
		t.Errorf("the viewer's view misses %q, want secrets:list", got)
	}
	if got := d.AuditView(alice, "acme").Missing(); got != "" {
		t.Errorf("the admin's view misses %q, want nothing", got)
	}
}

func TestSpecReferencesCheckedWithoutWiring(t *testing.T) {
	d, _ := secretsWorld(t)
	ctx := ctxT(t)
	tests := []struct {
		name string
		spec string
		want error
	}{
		{"a secret that does not exist", `{"secrets":["NOPE"]}`, directory.ErrInvalid},
		{"a malformed name", `{"secrets":["nope"]}`, directory.ErrInvalid},
		{"not an array", `{"secrets":"NOPE"}`, directory.ErrInvalid},
		{"no references", `{"steps":["a"]}`, nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "c" + string(rune('a'+i))
			_, _, err := d.CreateResource(ctx, bob, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: id, Spec: json.RawMessage(tc.spec)})
			if tc.want != nil && err == nil {
				t.Fatalf("bob writes %s: no error, want %v", tc.spec, tc.want)
			}
			wantErr(t, tc.name, err, tc.want)
		})
	}

	// vic may update a chain shared with it, but without secrets:list in
	// prod it may not reference secrets there.
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "shared"}
	ok(t, "bob creates the chain", third(d.CreateResource(ctx, bob, "acme", directory.ResourceSpec{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID})))
	ok(t, "share it with vic", third(d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:vic", Role: "builder",
		Scope: authz.Scope(ref)})))
	ok(t, "vic updates it without references", third(d.UpdateResource(ctx, user("vic"), "acme", ref, directory.ResourceChange{Spec: json.RawMessage(`{"steps":["v"]}`)})))
	_, _, err := d.UpdateResource(ctx, user("vic"), "acme", ref, directory.ResourceChange{Spec: json.RawMessage(`{"secrets":["NOPE"]}`)})
	var fe *directory.ForbiddenError
	if !errors.As(err, &fe) || fe.Permission != "secrets:list" || fe.Scope != (authz.Scope{Namespace: "prod"}) {
		t.Errorf("vic references a secret: %v, want ForbiddenError for secrets:list in prod", err)
	}
}

func TestSpecReferencesHiddenWithoutWiring(t *testing.T) {
	d, st := secretsWorld(t)
	ctx := ctxT(t)
	ref := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "stored"}
	// A spec referencing a secret, stored as the vault-checked write path
	// would have stored it.
	spec := json.RawMessage(`{"steps":["a"],"secrets":["` + secretCanary + `"]}`)
	rev, err := st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.CreateResource(ctx, store.Resource{Resource: authz.Resource{Namespace: ref.Namespace, Type: ref.Type, ID: ref.ID}, Org: "acme", Spec: spec}, "user:bob"); err != nil {
			return err
		}
		_, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: "acme", Ref: ref, Spec: json.RawMessage(`{"steps":["a","b"],"secrets":["OTHER_` + secretCanary + `"]}`), Author: "user:bob"})
		return err
	})
	ok(t, "store the chain", err)
	ok(t, "catch up", d.WaitFor(ctx, rev))

	tests := []struct {
		reader    directory.Actor
		wantNames bool
	}{
		{bob, true},
		{user("vic"), false},
	}
	for _, tc := range tests {
		t.Run(tc.reader.Principal, func(t *testing.T) {
			r, err := d.GetResource(ctx, tc.reader, "acme", ref)
			ok(t, "GetResource", err)
			v1, err := d.GetResourceVersion(ctx, tc.reader, "acme", ref, 1)
			ok(t, "GetResourceVersion", err)
			diff, err := d.DiffResourceVersions(ctx, tc.reader, "acme", ref, 1, 2)
			ok(t, "DiffResourceVersions", err)
			hist, err := d.ResourceHistory(ctx, tc.reader, "acme", ref)
			ok(t, "ResourceHistory", err)
			for what, v := range map[string]any{"spec": r.Spec, "version 1": v1.Spec, "diff": diff, "history": hist} {
				out, err := json.Marshal(v)
				ok(t, "marshal "+what, err)
				if got := strings.Contains(string(out), secretCanary); got != tc.wantNames {
					t.Errorf("%s: names shown = %v, want %v: %s", what, got, tc.wantNames, out)
				}
			}
			if !tc.wantNames {
				if diff := cmp.Diff(`{"steps":["a","b"]}`, string(r.Spec)); diff != "" {
					t.Errorf("the viewer's spec (-want +got):\n%s", diff)
				}
			}
		})
	}
}
