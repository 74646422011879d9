package directory_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

// TestReachApprovals: the blast radius counts what a principal could do
// with a person's approval — it is still within reach if hijacked — and
// says so: the engine's entries carry the ask rule, an MCP tool callable
// only with approval is listed among the tools with its rule, and a
// secret injected only into runs that need approval is listed with those
// runs apart from the ones that need none.
func TestReachApprovals(t *testing.T) {
	f := newApvFixture(t, nil, directory.Options{})
	ctx, d := f.ctx, f.d
	alice := user("alice")
	policy := approvalPolicy(t) + `
role caller level 20 {
    permission tools { call }
    ask before call tools
}
role freecaller level 20 {
    permission tools { call }
}
`
	ok(t, "policy", second(d.ReplacePolicy(ctx, alice, "acme", policy, false)))
	for who, role := range map[string]string{"bob": "caller", "carl": "freecaller"} {
		ok(t, "bind "+who, third(d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:" + who, Role: role, Scope: authz.Scope{Namespace: "prod"}})))
	}
	ok(t, "tool", third(d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: "prod", Type: "tools", ID: "github.create_issue"})))
	_, err := f.st.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateSecret(ctx, store.Secret{Org: "acme", Namespace: "prod", Name: "DB_PASSWORD", CreatedBy: "user:alice"},
			store.SecretVersion{Org: "acme", Namespace: "prod", Name: "DB_PASSWORD", Version: 1, KeyID: 1, WrappedKey: []byte("k"), Ciphertext: []byte("c"), CreatedBy: "user:alice"})
		return err
	})
	ok(t, "secret", err)
	ok(t, "chain", third(d.CreateResource(ctx, alice, "acme", directory.ResourceSpec{Namespace: "prod", Type: "chains", ID: "etl",
		Spec: json.RawMessage(`{"secrets":["DB_PASSWORD"]}`)})))

	tool := authz.ResourceRef{Namespace: "prod", Type: "tools", ID: "github.create_issue"}
	etl := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "etl"}
	for _, tc := range []struct {
		who          string
		toolRule     string // "" none; "-" not listed
		via, viaAppr []authz.ResourceRef
		runRule      string // the rule marked on prod chains:run ("" none)
	}{
		{who: "user:bob", toolRule: "ask before call tools", via: []authz.ResourceRef{etl}},
		{who: "user:carl", toolRule: "", via: []authz.ResourceRef{etl}},
		{who: "agent:Deployer", toolRule: "-", viaAppr: []authz.ResourceRef{etl}, runRule: "ask before run chains when in_prod"},
	} {
		r, err := d.Reach(ctx, alice, "acme", tc.who)
		ok(t, "reach of "+tc.who, err)
		got := "-"
		for _, tr := range r.Tools {
			if tr.ResourceRef == tool {
				got = ""
				for _, a := range tr.Asks {
					got = a.Text()
				}
			}
		}
		if got != tc.toolRule {
			t.Errorf("%s: tool %s marked %q, want %q (tools %+v)", tc.who, tool.ID, got, tc.toolRule, r.Tools)
		}
		var sec *directory.SecretReach
		for i := range r.Secrets {
			if r.Secrets[i].Name == "DB_PASSWORD" {
				sec = &r.Secrets[i]
			}
		}
		if sec == nil {
			t.Errorf("%s: DB_PASSWORD is not among the secrets it could have injected: %+v", tc.who, r.Secrets)
		} else {
			if diff := cmp.Diff(tc.via, sec.Via, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: DB_PASSWORD via (-want +got):\n%s", tc.who, diff)
			}
			if diff := cmp.Diff(tc.viaAppr, sec.ViaApproval, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: DB_PASSWORD via, with approval (-want +got):\n%s", tc.who, diff)
			}
		}
		runRule := "-"
		for _, nr := range r.Namespaces {
			for _, e := range nr.Entries {
				if nr.Namespace == "prod" && e.Permission.String() == "chains:run" && e.Resource == (authz.ResourceRef{}) {
					runRule = ""
					for _, a := range e.Asks {
						runRule = a.Rule.Text()
					}
				}
			}
		}
		if runRule != tc.runRule {
			t.Errorf("%s: prod chains:run marked %q, want %q", tc.who, runRule, tc.runRule)
		}
	}
}
