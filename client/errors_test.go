package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// TestProblemsAreTypedErrors: each way a call can be refused arrives as a
// *client.Error with the problem's details, classified by the sentinels.
func TestProblemsAreTypedErrors(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{ConsistencyTimeout: 50 * time.Millisecond})
	ctx := ctxT(t)
	aliceKey := srv.User("alice")
	alice := srv.Client(aliceKey)
	bob := srv.Client(srv.User("bob"))
	mallory := srv.Client(srv.User("mallory"))
	eve := srv.Client(srv.User("eve"))
	must2[client.Org](t, "create acme")(alice.CreateOrg(ctx, client.CreateOrgRequest{ID: "acme"}))
	must2[client.Org](t, "create other")(mallory.CreateOrg(ctx, client.CreateOrgRequest{ID: "other"}))
	must2[client.Member](t, "add bob")(alice.AddMember(ctx, "acme", "bob", "viewer"))
	must2[client.Member](t, "add eve")(alice.AddMember(ctx, "acme", "eve", "admin"))

	// want is what the error must say: its sentinel, kind and details.
	type want struct {
		is      error
		isNot   []error
		kind    string
		status  int
		field   string
		missing string
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want want
	}{{
		name: "no credentials are 401",
		call: func(ctx context.Context) error { _, err := alice.WithToken("").GetOrg(ctx, "acme"); return err },
		want: want{is: client.ErrUnauthenticated, kind: client.KindUnauthenticated, status: 401},
	}, {
		name: "a made-up API key is 401",
		call: func(ctx context.Context) error {
			_, err := alice.WithToken("gth_notakey_0000000000000000000000000000").GetOrg(ctx, "acme")
			return err
		},
		want: want{is: client.ErrUnauthenticated, kind: client.KindUnauthenticated, status: 401},
	}, {
		name: "a viewer creating a namespace is 403 naming the permission",
		call: func(ctx context.Context) error { _, _, err := bob.CreateNamespace(ctx, "acme", "ops"); return err },
		want: want{is: client.ErrForbidden, isNot: []error{client.ErrEscalation}, kind: client.KindForbidden, status: 403, missing: "namespaces:create"},
	}, {
		name: "a viewer asking about another principal is 403",
		call: func(ctx context.Context) error {
			_, err := bob.Check(ctx, "acme", client.CheckRequest{Principal: "user:alice", Action: "chains:run"})
			return err
		},
		want: want{is: client.ErrForbidden, kind: client.KindForbidden, status: 403, missing: "bindings:read"},
	}, {
		name: "another org's org is 404, not 403",
		call: func(ctx context.Context) error { _, err := alice.GetOrg(ctx, "other"); return err },
		want: want{is: client.ErrNotFound, isNot: []error{client.ErrForbidden}, kind: client.KindNotFound, status: 404},
	}, {
		name: "a decision about another org is 404",
		call: func(ctx context.Context) error {
			_, err := alice.Check(ctx, "other", client.CheckRequest{Action: "chains:run"})
			return err
		},
		want: want{is: client.ErrNotFound, kind: client.KindNotFound, status: 404},
	}, {
		name: "a taken namespace is 409",
		call: func(ctx context.Context) error {
			_, _, err := alice.CreateNamespace(ctx, "acme", "default")
			return err
		},
		want: want{is: client.ErrConflict, kind: client.KindConflict, status: 409},
	}, {
		name: "the last owner cannot leave",
		call: func(ctx context.Context) error { _, err := alice.RemoveMember(ctx, "acme", "alice"); return err },
		want: want{is: client.ErrConflict, kind: client.KindLastOwner, status: 409},
	}, {
		name: "a malformed namespace name is 400 naming the field",
		call: func(ctx context.Context) error {
			_, _, err := alice.CreateNamespace(ctx, "acme", "Not A Name")
			return err
		},
		want: want{is: client.ErrInvalid, kind: client.KindInvalid, status: 400, field: "name"},
	}, {
		name: "a wildcard action in a check is 400",
		call: func(ctx context.Context) error {
			_, err := alice.Check(ctx, "acme", client.CheckRequest{Action: "chains:*"})
			return err
		},
		want: want{is: client.ErrInvalid, kind: client.KindInvalid, status: 400, field: "action"},
	}, {
		name: "a policy that does not compile is 422",
		call: func(ctx context.Context) error { _, err := alice.PutPolicy(ctx, "acme", "role {", false); return err },
		want: want{is: client.ErrInvalidPolicy, kind: client.KindInvalidPolicy, status: 422},
	}, {
		name: "an admin binding herself owner is an escalation",
		call: func(ctx context.Context) error {
			_, _, err := eve.CreateBinding(ctx, "acme", client.BindingSpec{Principal: "user:eve", Role: "owner"})
			return err
		},
		want: want{is: client.ErrEscalation, kind: client.KindEscalation, status: 403},
	}, {
		name: "a revision the server has not reached is 503 not-caught-up",
		call: func(ctx context.Context) error {
			_, err := alice.Check(ctx, "acme", client.CheckRequest{Action: "chains:run"}, client.AtLeast(1<<40))
			return err
		},
		want: want{is: client.ErrNotCaughtUp, kind: client.KindNotCaughtUp, status: 503},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctxT(t))
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("want a *client.Error, got %T %v", err, err)
			}
			if !errors.Is(err, tt.want.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.want.is)
			}
			for _, not := range tt.want.isNot {
				if errors.Is(err, not) {
					t.Errorf("errors.Is(%v, %v) is true", err, not)
				}
			}
			if tt.want.kind != "" && e.Kind() != tt.want.kind {
				t.Errorf("kind %q, want %q", e.Kind(), tt.want.kind)
			}
			if e.Status != tt.want.status || e.Field != tt.want.field || e.MissingPermission != tt.want.missing {
				t.Errorf("status %d field %q missing %q; want %d %q %q", e.Status, e.Field, e.MissingPermission, tt.want.status, tt.want.field, tt.want.missing)
			}
			if e.RequestID == "" || e.Detail == "" || e.Method == "" || !strings.HasPrefix(e.Path, "/") {
				t.Errorf("the error lacks its request id, detail or request: %+v", e)
			}
			if strings.Contains(err.Error(), aliceKey) {
				t.Errorf("the error message carries a credential: %v", err)
			}
		})
	}

	// An escalation names the rule and the role.
	_, _, err := eve.CreateBinding(ctx, "acme", client.BindingSpec{Principal: "user:eve", Role: "owner"})
	var e *client.Error
	if !errors.As(err, &e) || e.Reason == "" || e.Role != "owner" || !errors.Is(err, client.ErrForbidden) {
		t.Errorf("an escalation names the rule and the role and is a 403: %+v", e)
	}
}

// TestAtLeastReadsYourWrites: a check made AtLeast the revision of a
// revocation never sees the revoked grant.
func TestAtLeastReadsYourWrites(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	ctx := ctxT(t)
	alice := srv.Client(srv.User("alice"))
	srv.User("bob")
	must2[client.Org](t, "create")(alice.CreateOrg(ctx, client.CreateOrgRequest{ID: "acme"}))
	must2[client.Member](t, "add bob")(alice.AddMember(ctx, "acme", "bob", "viewer"))
	q := client.CheckRequest{Principal: "user:bob", Action: "chains:run", Namespace: "prod", Resource: "chains/x"}
	must2[client.Namespace](t, "ns")(alice.CreateNamespace(ctx, "acme", "prod"))
	var got []bool
	for range 20 {
		b, rev := must2[client.Binding](t, "grant")(alice.CreateBinding(ctx, "acme", client.BindingSpec{Principal: "user:bob", Role: "operator", Scope: client.Scope{Namespace: "prod"}}))
		got = append(got, must[client.Decision](t, "check after grant")(alice.Check(ctx, "acme", q, client.AtLeast(rev))).Allowed)
		rev = mustRev(t, "revoke", must[uint64](t, "")(alice.DeleteBinding(ctx, "acme", b.ID)), nil)
		got = append(got, must[client.Decision](t, "check after revoke")(alice.Check(ctx, "acme", q, client.AtLeast(rev))).Allowed)
	}
	var want []bool
	for range 20 {
		want = append(want, true, false)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grant/revoke/check sequence (-want +got):\n%s", diff)
	}
}
