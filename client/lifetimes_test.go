package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestTemporaryGrantsSDK: a share "for the next 30 minutes" through the
// SDK ends 30 minutes after the server's clock, is reported with its end,
// grants now, and a malformed duration is a 400 naming expires_in.
func TestTemporaryGrantsSDK(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{Demo: true})
	alice := srv.Client(srv.Demo.Keys["alice"])
	ctx := ctxT(t)
	org := srv.Demo.Org
	ref := client.ResourceRef{Namespace: "dev", Type: "chains", ID: "eval-harness"}
	before := time.Now()
	b, _ := must2[client.Binding](t, "share for 30m")(alice.ShareFor(ctx, org, ref, "agent:Triage", []string{"read"}, client.Lifetime{ExpiresIn: "30m"}))
	if d := b.ExpiresAt.Sub(before); d < 29*time.Minute || d > 31*time.Minute {
		t.Errorf("the share ends %v after the call, want about 30m", d)
	}
	got, err := alice.GetBinding(ctx, org, b.ID)
	if err != nil || !got.ExpiresAt.Equal(b.ExpiresAt) {
		t.Errorf("GetBinding = %+v, %v; want expires_at %v", got, err, b.ExpiresAt)
	}
	bb, _ := must2[client.Binding](t, "bind until")(alice.CreateBinding(ctx, org, client.BindingSpec{Principal: "user:carol", Role: "viewer",
		Scope: client.Scope{Namespace: "dev"}, Lifetime: client.Lifetime{ExpiresAt: before.Add(time.Hour)}}))
	if !bb.ExpiresAt.Equal(before.Add(time.Hour).UTC().Truncate(time.Microsecond)) {
		t.Errorf("binding expires_at %v, want %v", bb.ExpiresAt, before.Add(time.Hour))
	}
	for _, tc := range []struct {
		name  string
		life  client.Lifetime
		field string
	}{
		{"not a duration", client.Lifetime{ExpiresIn: "soon"}, "expires_in"},
		{"both", client.Lifetime{ExpiresIn: "1h", ExpiresAt: before.Add(time.Hour)}, "expires_at"},
		{"in the past", client.Lifetime{ExpiresAt: before.Add(-time.Hour)}, "expires_at"},
	} {
		_, _, err := alice.ShareFor(ctx, org, ref, "agent:Triage", []string{"run"}, tc.life)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Field != tc.field {
			t.Errorf("%s: error %v, want a 400 about %s", tc.name, err, tc.field)
		}
	}
}
