package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Authentication data (store/auth.go): API keys and invitations.

func hash32(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	created := must(s.GetUser(ctx, "alice")).get(t).CreatedAt
	org := must(s.GetOrg(ctx, f.org)).get(t)
	exp := time.Date(2100, 1, 2, 3, 4, 5, 6000, time.UTC)
	before := must(s.CurrentRevision(ctx)).get(t)
	var personal, orgKey store.APIKey
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		personal, err = tx.CreateAPIKey(ctx, store.APIKey{ID: "0123456789abcdef", Principal: "user:alice", Name: "laptop",
			Hash: hash32("p"), PrincipalCreatedAt: created, CreatedBy: "user:alice"})
		if err != nil {
			return err
		}
		orgKey, err = tx.CreateAPIKey(ctx, store.APIKey{ID: "fedcba9876543210", Org: f.org, Principal: "service:ci", Name: "ci",
			Hash: hash32("o"), PrincipalCreatedAt: created, OrgCreatedAt: org.CreatedAt, CreatedBy: "user:alice", ExpiresAt: exp})
		return err
	})
	if rev != before+1 {
		t.Errorf("creating keys committed revision %d, want %d", rev, before+1)
	}
	got := must(s.GetAPIKey(ctx, "fedcba9876543210")).get(t)
	diff(t, "GetAPIKey", orgKey, got)
	if !bytes.Equal(got.Hash, hash32("o")) || !got.ExpiresAt.Equal(exp) || !got.OrgCreatedAt.Equal(org.CreatedAt) {
		t.Errorf("GetAPIKey lost hash, expiry or org time: %+v", got)
	}
	// Lists: exact org ("" = personal), optional principal, no hashes.
	ks := must3(t, func(ctx context.Context, _ string, p store.Page) ([]store.APIKey, string, error) {
		return s.ListAPIKeys(ctx, store.APIKeyFilter{}, p)
	}, ctx, "")
	if len(ks) != 1 || ks[0].ID != personal.ID || ks[0].Hash != nil {
		t.Errorf("personal keys = %+v", ks)
	}
	ks = must3(t, func(ctx context.Context, _ string, p store.Page) ([]store.APIKey, string, error) {
		return s.ListAPIKeys(ctx, store.APIKeyFilter{Org: f.org, Principal: "user:alice"}, p)
	}, ctx, "")
	if len(ks) != 0 {
		t.Errorf("org keys of alice = %+v, want none", ks)
	}
	// Minted keys (created by someone else than their principal), and
	// keys by creator.
	for _, tc := range []struct {
		f    store.APIKeyFilter
		want []string
	}{
		{store.APIKeyFilter{Org: f.org, Minted: true}, []string{orgKey.ID}},
		{store.APIKeyFilter{Org: f.org, Minted: true, CreatedBy: "user:alice"}, []string{orgKey.ID}},
		{store.APIKeyFilter{Org: f.org, Minted: true, CreatedBy: "user:bob"}, nil},
		{store.APIKeyFilter{Org: f.org, Principal: "service:ci", CreatedBy: "user:alice"}, []string{orgKey.ID}},
		{store.APIKeyFilter{Minted: true}, nil}, // alice's personal key is her own
		{store.APIKeyFilter{CreatedBy: "user:alice"}, []string{personal.ID}},
	} {
		ks := must3(t, func(ctx context.Context, _ string, p store.Page) ([]store.APIKey, string, error) {
			return s.ListAPIKeys(ctx, tc.f, p)
		}, ctx, "")
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		diff(t, fmt.Sprintf("ListAPIKeys(%+v)", tc.f), tc.want, ids)
	}
	// The changelog carries deployment-wide entries without the hash.
	cs := changes(t, s, before)
	diff(t, "changelog", []string{"apikey.put apikey:0123456789abcdef", "apikey.put apikey:fedcba9876543210"}, kinds(cs))
	for _, c := range cs {
		if c.Org != "" || bytes.Contains(c.Payload, []byte("hash")) {
			t.Errorf("changelog entry %s: org %q, payload %s", c.Key, c.Org, c.Payload)
		}
		v, err := c.Decode()
		if err != nil {
			t.Errorf("Decode(%s): %v", c.Kind, err)
		} else if _, ok := v.(store.APIKey); !ok {
			t.Errorf("Decode(%s) = %T", c.Kind, v)
		}
	}
	// Contracts.
	for _, tc := range []struct {
		name string
		k    store.APIKey
		want error
	}{
		{"duplicate id", store.APIKey{ID: "0123456789abcdef", Principal: "user:bob", Hash: hash32("x"), PrincipalCreatedAt: created}, store.ErrConflict},
		{"short hash", store.APIKey{ID: "aaaaaaaaaaaaaaaa", Principal: "user:bob", Hash: []byte("x"), PrincipalCreatedAt: created}, store.ErrInvalid},
		{"bad id", store.APIKey{ID: "NOT-AN-ID", Principal: "user:bob", Hash: hash32("x"), PrincipalCreatedAt: created}, store.ErrInvalid},
		{"team principal", store.APIKey{ID: "bbbbbbbbbbbbbbbb", Principal: "team:support", Org: "a", OrgCreatedAt: created, Hash: hash32("x"), PrincipalCreatedAt: created}, store.ErrInvalid},
		{"personal service key", store.APIKey{ID: "cccccccccccccccc", Principal: "service:ci", Hash: hash32("x"), PrincipalCreatedAt: created}, store.ErrInvalid},
	} {
		wantErr(t, tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateAPIKey(ctx, tc.k)
			return err
		}), tc.want)
	}
	wantErr(t, "get absent", second(s.GetAPIKey(ctx, "aaaaaaaaaaaaaaaa")), store.ErrNotFound)
	// Revoke once; twice is a conflict.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAPIKey(ctx, personal.ID)
		return err
	})
	if must(s.GetAPIKey(ctx, personal.ID)).get(t).RevokedAt.IsZero() {
		t.Error("revoked key has no revoked_at")
	}
	wantErr(t, "revoke twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAPIKey(ctx, personal.ID)
		return err
	}), store.ErrConflict)
	wantErr(t, "revoke absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAPIKey(ctx, "aaaaaaaaaaaaaaaa")
		return err
	}), store.ErrNotFound)
	// Usage: no revision, only later times win, unknown ids ignored.
	revBefore := must(s.CurrentRevision(ctx)).get(t)
	t1 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.RecordAPIKeyUse(ctx, map[string]time.Time{orgKey.ID: t1, "ffffffffffffffff": t1}); err != nil {
		t.Fatalf("RecordAPIKeyUse: %v", err)
	}
	if err := s.RecordAPIKeyUse(ctx, map[string]time.Time{orgKey.ID: t1.Add(-time.Hour)}); err != nil {
		t.Fatalf("RecordAPIKeyUse: %v", err)
	}
	if got := must(s.GetAPIKey(ctx, orgKey.ID)).get(t).LastUsedAt; !got.Equal(t1) {
		t.Errorf("last used = %v, want %v", got, t1)
	}
	if r := must(s.CurrentRevision(ctx)).get(t); r != revBefore {
		t.Errorf("RecordAPIKeyUse moved the revision %d → %d", revBefore, r)
	}
}

func testInvitations(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	org := must(s.GetOrg(ctx, f.org)).get(t)
	exp := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	var inv store.Invitation
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		inv, err = tx.CreateInvitation(ctx, store.Invitation{ID: "1111111111111111", Org: f.org, Email: "Dave@Example.com", Role: "viewer",
			InvitedBy: "user:alice", Hash: hash32("i"), OrgCreatedAt: org.CreatedAt, ExpiresAt: exp})
		return err
	})
	if inv.Email != "dave@example.com" {
		t.Errorf("email not lower-cased: %q", inv.Email)
	}
	got := must(s.GetInvitation(ctx, inv.ID)).get(t)
	diff(t, "GetInvitation", inv, got)
	if !bytes.Equal(got.Hash, hash32("i")) {
		t.Error("GetInvitation lost the hash")
	}
	if vs := must3(t, s.ListInvitations, ctx, f.org); len(vs) != 1 || vs[0].Hash != nil {
		t.Errorf("ListInvitations = %+v", vs)
	}
	if vs := must3(t, s.ListInvitations, ctx, "b"); len(vs) != 0 {
		t.Errorf("ListInvitations of another org = %+v", vs)
	}
	wantErr(t, "absent org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateInvitation(ctx, store.Invitation{ID: "2222222222222222", Org: "nope", Email: "x@y.z", Role: "viewer",
			InvitedBy: "user:alice", Hash: hash32("j"), OrgCreatedAt: org.CreatedAt, ExpiresAt: exp})
		return err
	}), store.ErrNotFound)
	wantErr(t, "bad email", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateInvitation(ctx, store.Invitation{ID: "2222222222222222", Org: f.org, Email: "nope", Role: "viewer",
			InvitedBy: "user:alice", Hash: hash32("j"), OrgCreatedAt: org.CreatedAt, ExpiresAt: exp})
		return err
	}), store.ErrInvalid)
	// Single use: accept once; a second accept conflicts until released.
	accept := func() error {
		return writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.AcceptInvitation(ctx, inv.ID, "dave")
			return err
		})
	}
	wantErr(t, "accept", accept(), nil)
	wantErr(t, "accept twice", accept(), store.ErrConflict)
	if v := must(s.GetInvitation(ctx, inv.ID)).get(t); v.AcceptedBy != "dave" || v.AcceptedAt.IsZero() {
		t.Errorf("accepted invitation = %+v", v)
	}
	wantErr(t, "revoke accepted", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeInvitation(ctx, inv.ID)
		return err
	}), store.ErrConflict)
	wantErr(t, "release", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ReleaseInvitation(ctx, inv.ID)
		return err
	}), nil)
	wantErr(t, "release twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ReleaseInvitation(ctx, inv.ID)
		return err
	}), store.ErrConflict)
	wantErr(t, "revoke", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeInvitation(ctx, inv.ID)
		return err
	}), nil)
	wantErr(t, "accept revoked", accept(), store.ErrConflict)
	wantErr(t, "accept absent", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.AcceptInvitation(ctx, "9999999999999999", "dave")
		return err
	}), store.ErrNotFound)
	// Deleting the org keeps the row (ids are never reused); the caller
	// compares OrgCreatedAt.
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, f.org) })
	if _, err := s.GetInvitation(ctx, inv.ID); err != nil {
		t.Errorf("invitation after org deletion: %v", err)
	}
	var p map[string]any
	for _, c := range changes(t, s, 0) {
		if c.Kind == store.KindInvitationPut {
			if c.Org != "" || json.Unmarshal(c.Payload, &p) != nil || p["hash"] != nil {
				t.Errorf("invitation changelog entry: org %q payload %s", c.Org, c.Payload)
			}
		}
	}
}
