package client_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestDenyReasonReachesClient: the SDK's Decision, batch results and
// Explanation carry the server's deny reason, and a malformed principal is
// an invalid-request error, not a deny.
func TestDenyReasonReachesClient(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	c := srv.Client(srv.Demo.Keys["alice"])
	ctx := t.Context()
	org := srv.Demo.Org
	req := client.CheckRequest{Principal: "user:ghost", Action: "chains:read"}
	d, err := c.Check(ctx, org, req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(client.Decision{Revision: d.Revision, Reason: "not_member"}, d); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}
	b, err := c.Checks(ctx, org, []client.CheckRequest{req, {Action: "chains:read", Namespace: "staging"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range b.Results {
		got = append(got, r.Reason)
	}
	if diff := cmp.Diff([]string{"not_member", "unknown_namespace"}, got); diff != "" {
		t.Errorf("batch reasons (-want +got):\n%s", diff)
	}
	ex, err := c.Explain(ctx, org, req)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Allowed || ex.Reason != "not_member" {
		t.Errorf("explain: allowed %v reason %q", ex.Allowed, ex.Reason)
	}
	_, err = c.Check(ctx, org, client.CheckRequest{Principal: "ghost", Action: "chains:read"})
	if !client.IsInvalid(err) {
		t.Errorf("malformed principal: %v, want an invalid-request error", err)
	}
}
