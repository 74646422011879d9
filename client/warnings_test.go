package client_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestWritesReportWhatTheyStopped: a write that stops an API key a member
// minted (credentials-outrank-minter, docs/api.md) reports it to a
// context from CollectWarnings, whichever family of method made it — one
// answering (revision), one answering (item, revision), the policy's —
// and a write that stops nothing reports nothing.
func TestWritesReportWhatTheyStopped(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	alice := srv.Client(srv.User("alice"))
	bob := srv.Client(srv.User("bob"))
	n := 0
	// minted is a new org where bob, a builder, minted a key of service
	// ci (role svcrole: level 10, chains:read), which bob outranks.
	minted := func() (org, keyID string) {
		t.Helper()
		ctx := ctxT(t)
		n++
		org = fmt.Sprintf("warn%d", n)
		must2[client.Org](t, "create org")(alice.CreateOrg(ctx, client.CreateOrgRequest{ID: org}))
		must2[client.Member](t, "add bob")(alice.AddMember(ctx, org, "bob", "builder"))
		mustRev(t, "create role", must[uint64](t, "create role")(alice.CreateRole(ctx, org, client.RoleSpec{Name: "svcrole", Level: 10, Permissions: []string{"chains:read"}})), nil)
		must2[client.Service](t, "create service")(alice.CreateService(ctx, org, client.ServiceSpec{Name: "ci", Role: "svcrole"}))
		kc := must[client.KeyCreated](t, "mint")(bob.CreateKey(ctx, org, client.KeySpec{Principal: "service:ci"}))
		return org, kc.Item.ID
	}
	for _, tc := range []struct {
		name  string
		write func(ctx context.Context, org string) error
	}{
		{"a revision answer (RemoveMember)", func(ctx context.Context, org string) error {
			_, err := alice.RemoveMember(ctx, org, "bob")
			return err
		}},
		{"an item answer (CreateBinding)", func(ctx context.Context, org string) error {
			_, _, err := alice.CreateBinding(ctx, org, client.BindingSpec{Principal: "service:ci", Role: "admin"})
			return err
		}},
		{"the policy (PutPolicy)", func(ctx context.Context, org string) error {
			p, err := alice.GetPolicy(ctx, org)
			if err != nil {
				return err
			}
			raised := strings.Replace(p.Text, "role svcrole level 10", "role svcrole level 60", 1)
			if raised == p.Text {
				return fmt.Errorf("no svcrole in the policy")
			}
			_, err = alice.PutPolicy(ctx, org, raised, false)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org, keyID := minted()
			ctx, ws := client.CollectWarnings(ctxT(t))
			if err := tc.write(ctx, org); err != nil {
				t.Fatal(err)
			}
			got := ws.List()
			for i := range got {
				got[i].Message = ""
				for j := range got[i].Credentials {
					got[i].Credentials[j].Reason, got[i].Credentials[j].Scope = "", ""
				}
			}
			want := []client.WriteWarning{{Code: "credentials-outrank-minter", Count: 1,
				Credentials: []client.OutrankedCredential{{Kind: client.CredentialAPIKey, ID: keyID, Principal: "service:ci", Minter: "user:bob"}}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a write that stops nothing", func(t *testing.T) {
		org, _ := minted()
		ctx, ws := client.CollectWarnings(ctxT(t))
		if _, err := alice.UpdateRole(ctx, org, client.RoleSpec{Name: "svcrole", Level: 10, Permissions: []string{"chains:read"}}); err != nil {
			t.Fatal(err)
		}
		if got := ws.List(); got != nil {
			t.Errorf("warnings %+v", got)
		}
	})
}
