package directory_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestReach: the blast radius of bob (builder) names the secrets the
// chains he may run reference (to a caller who may list them), the tools
// he may call, and is refused to a caller without bindings:read.
func TestReach(t *testing.T) {
	d, st := secretsWorld(t)
	ctx := ctxT(t)
	_, err := st.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateSecret(ctx, store.Secret{Org: "acme", Namespace: "prod", Name: "DB_PASSWORD", CreatedBy: "user:alice"},
			store.SecretVersion{Org: "acme", Namespace: "prod", Name: "DB_PASSWORD", Version: 1, KeyID: 1, WrappedKey: []byte("k"), Ciphertext: []byte("c"), CreatedBy: "user:alice"})
		return err
	})
	ok(t, "secret", err)
	ok(t, "chain", third(d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "etl",
		Spec: json.RawMessage(`{"secrets":["DB_PASSWORD"]}`)})))
	ok(t, "tool", third(d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: "prod", Type: "tools", ID: "github.create_issue"})))

	r, err := d.Reach(ctx, alice, "acme", "user:bob")
	ok(t, "reach of bob", err)
	if len(r.Secrets) != 1 || r.Secrets[0].Name != "DB_PASSWORD" || len(r.Secrets[0].Via) != 1 || r.Secrets[0].Via[0].ID != "etl" {
		t.Errorf("bob's secrets: %+v", r.Secrets)
	}
	if len(r.Namespaces) == 0 || r.Status != "" {
		t.Errorf("bob's reach: %+v", r.Reach)
	}
	for _, who := range []string{"alice", "bob", "vic"} {
		r, err := d.Reach(ctx, alice, "acme", "user:"+who)
		ok(t, "reach of "+who, err)
		dec, err := d.Check(ctx, alice, authz.Request{Org: "acme", Principal: "user:" + who, Namespace: "prod", ResourceType: "tools", ResourceID: "github.create_issue", Action: "call"}, 0)
		ok(t, "check", err)
		if got := len(r.Tools) == 1 && r.Tools[0].ID == "github.create_issue"; got != dec.Allowed {
			t.Errorf("%s's tools %+v, but may call it: %v", who, r.Tools, dec.Allowed)
		}
	}
	v, err := d.Reach(ctx, user("vic"), "acme", "user:vic")
	ok(t, "vic's own reach", err)
	if len(v.Secrets) != 0 {
		t.Errorf("vic (viewer) could inject %+v", v.Secrets)
	}
	wantErr(t, "vic asks about bob", second(d.Reach(ctx, user("vic"), "acme", "user:bob")), directory.ErrForbidden)
	wantErr(t, "a team", second(d.Reach(ctx, alice, "acme", "team:x")), directory.ErrInvalid)
	wantErr(t, "a non-member", second(d.Reach(ctx, alice, "acme", "user:nobody")), directory.ErrNotFound)
}
