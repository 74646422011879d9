package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testSecrets is the vault's part of the contract (store/secrets.go): the
// store keeps sealed bytes verbatim and never lets them out except through
// the version readers, versions are dense, bookkeeping is unlogged, and
// namespaces holding secrets are never deleted by a cascade.
func testSecrets(t *testing.T, s store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGetList", testSecretCreate},
		{"CreateErrors", testSecretCreateErrors},
		{"UpdateAndVersions", testSecretUpdate},
		{"Delete", testSecretDelete},
		{"Touch", testSecretTouch},
		{"RunTokens", testRunTokens},
		{"VaultKeys", testVaultKeys},
		{"NamespaceAndOrgDeletion", testSecretCascades},
		{"OrgIsolation", testSecretIsolation},
		{"HostileInput", testSecretHostile},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

// sealed returns recognizable fake sealed bytes for a version (the store
// does not interpret them).
func sealedVersion(org, ns, name string, version uint64, keyID uint32) store.SecretVersion {
	return store.SecretVersion{
		Org: org, Namespace: ns, Name: name, Version: version, KeyID: keyID,
		WrappedKey: []byte(fmt.Sprintf("WRAPPED|%s|%s|%s|%d|%d", org, ns, name, version, keyID)),
		Ciphertext: []byte(fmt.Sprintf("CIPHERTEXT|%s|%s|%s|%d\x00\xff", org, ns, name, version)),
	}
}

func createSecret(t *testing.T, s store.Store, org, ns, name string) store.Secret {
	t.Helper()
	var out store.Secret
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = tx.CreateSecret(ctx, store.Secret{Org: org, Namespace: ns, Name: name, CreatedBy: "user:alice"},
			sealedVersion(org, ns, name, 1, 1))
		return err
	})
	return out
}

func testSecretCreate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "sc")
	before := must(s.CurrentRevision(ctx)).get(t)
	exp := time.Date(2031, 1, 2, 3, 4, 5, 6789, time.UTC)
	var created store.Secret
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		created, err = tx.CreateSecret(ctx, store.Secret{
			Org: f.org, Namespace: "prod", Name: "OPENAI_API_KEY", Description: "the model provider's key",
			ExpiresAt: exp, ReferableBy: []string{"team:support", "role:builder", "user:bob", "role:builder"},
			CreatedBy: "user:alice", Version: 99, LastUsedAt: exp, RotatedAt: exp,
		}, sealedVersion(f.org, "prod", "OPENAI_API_KEY", 1, 1))
		if err != nil {
			return err
		}
		if created.CreatedAt != tx.Now() || created.UpdatedAt != tx.Now() {
			t.Errorf("CreateSecret times = %v, %v; want the transaction's %v", created.CreatedAt, created.UpdatedAt, tx.Now())
		}
		return nil
	})
	if rev != before+1 {
		t.Errorf("CreateSecret committed revision %d, want %d", rev, before+1)
	}
	want := store.Secret{
		Org: f.org, Namespace: "prod", Name: "OPENAI_API_KEY", Description: "the model provider's key", Version: 1,
		ExpiresAt:   exp.Truncate(time.Microsecond),
		ReferableBy: []string{"role:builder", "team:support", "user:bob"}, // sorted, unique
		CreatedBy:   "user:alice", CreatedAt: created.CreatedAt, UpdatedBy: "user:alice", UpdatedAt: created.CreatedAt,
	}
	diff(t, "CreateSecret result (version 1, caller's bookkeeping fields ignored)", want, created)
	diff(t, "GetSecret", want, must(s.GetSecret(ctx, f.org, "prod", "OPENAI_API_KEY")).get(t))

	v := must(s.GetSecretVersion(ctx, f.org, "prod", "OPENAI_API_KEY", 0)).get(t)
	wantV := sealedVersion(f.org, "prod", "OPENAI_API_KEY", 1, 1)
	wantV.CreatedBy, wantV.CreatedAt = "user:alice", created.CreatedAt
	diff(t, "GetSecretVersion(current) keeps the sealed bytes verbatim", wantV, v)
	diff(t, "GetSecretVersion(1)", wantV, must(s.GetSecretVersion(ctx, f.org, "prod", "OPENAI_API_KEY", 1)).get(t))
	wantErr(t, "GetSecretVersion(2)", second(s.GetSecretVersion(ctx, f.org, "prod", "OPENAI_API_KEY", 2)), store.ErrNotFound)

	// The changelog carries metadata only.
	cs := changes(t, s, before)
	diff(t, "changelog of CreateSecret", []string{"secret.put prod/OPENAI_API_KEY"}, kinds(cs))
	for _, c := range cs {
		if bytes.Contains(c.Payload, []byte("CIPHERTEXT")) || bytes.Contains(c.Payload, []byte("WRAPPED")) ||
			bytes.Contains(c.Payload, []byte("ciphertext")) || bytes.Contains(c.Payload, []byte("wrapped")) {
			t.Errorf("changelog payload carries sealed bytes: %s", c.Payload)
		}
		got := must(c.Decode()).get(t)
		diff(t, "decoded secret.put payload", want, got)
	}

	for _, name := range []string{"B", "A_2", "_X"} {
		createSecret(t, s, f.org, "prod", name)
	}
	createSecret(t, s, f.org, "default", "Z")
	names := func(f store.SecretFilter, p store.Page) ([]string, string) {
		t.Helper()
		ss, next, err := s.ListSecrets(ctx, "sc", f, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ss {
			out = append(out, x.Namespace+"/"+x.Name)
		}
		return out, next
	}
	all, _ := names(store.SecretFilter{}, store.Page{})
	diff(t, "ListSecrets, ordered by (namespace, name)", []string{"default/Z", "prod/A_2", "prod/B", "prod/OPENAI_API_KEY", "prod/_X"}, all)
	prod, _ := names(store.SecretFilter{Namespace: "prod"}, store.Page{})
	diff(t, "ListSecrets in prod", []string{"prod/A_2", "prod/B", "prod/OPENAI_API_KEY", "prod/_X"}, prod)
	var paged []string
	p := store.Page{Size: 2}
	for i := 0; ; i++ {
		page, next := names(store.SecretFilter{Namespace: "prod"}, p)
		paged = append(paged, page...)
		if next == "" {
			break
		}
		if i > 10 {
			t.Fatal("pagination does not end")
		}
		p.Cursor = next
	}
	diff(t, "ListSecrets paged by 2", prod, paged)
	_, next := names(store.SecretFilter{}, store.Page{Size: 1})
	wantErr(t, "a cursor of the whole-org list used for one namespace", third(s.ListSecrets(ctx, "sc", store.SecretFilter{Namespace: "prod"}, store.Page{Cursor: next})), store.ErrInvalid)

	got := must(s.GetSealedSecrets(ctx, f.org, "prod", []string{"OPENAI_API_KEY", "NOPE", "B"})).get(t)
	if len(got) != 2 || got[0].Secret.Name != "B" || got[1].Secret.Name != "OPENAI_API_KEY" {
		t.Fatalf("GetSealedSecrets = %+v, want B and OPENAI_API_KEY in name order", got)
	}
	diff(t, "GetSealedSecrets current version", wantV, got[1].Current)
	diff(t, "GetSealedSecrets metadata", want, got[1].Secret)
	if got, err := s.GetSealedSecrets(ctx, f.org, "prod", nil); err != nil || len(got) != 0 {
		t.Errorf("GetSealedSecrets(no names) = %v, %v", got, err)
	}
}

func testSecretCreateErrors(t *testing.T, s store.Store) {
	f := seed(t, s, "se")
	createSecret(t, s, f.org, "prod", "TAKEN")
	ok := func(mod func(*store.Secret, *store.SecretVersion)) (store.Secret, store.SecretVersion) {
		sec := store.Secret{Org: f.org, Namespace: "prod", Name: "NEW", CreatedBy: "user:alice"}
		v := sealedVersion(f.org, "prod", "NEW", 1, 1)
		mod(&sec, &v)
		return sec, v
	}
	name := func(n string) func(*store.Secret, *store.SecretVersion) {
		return func(s *store.Secret, v *store.SecretVersion) { s.Name, v.Name = n, n }
	}
	tests := []struct {
		name string
		mod  func(*store.Secret, *store.SecretVersion)
		want error
	}{
		{"valid", func(*store.Secret, *store.SecretVersion) {}, nil},
		{"taken name", name("TAKEN"), store.ErrConflict},
		{"same name in another namespace", func(s *store.Secret, v *store.SecretVersion) {
			s.Name, v.Name, s.Namespace, v.Namespace = "TAKEN", "TAKEN", "default", "default"
		}, nil},
		{"lower-case name", name("openai_key"), store.ErrInvalid},
		{"leading digit", name("1KEY"), store.ErrInvalid},
		{"dash", name("MY-KEY"), store.ErrInvalid},
		{"empty name", name(""), store.ErrInvalid},
		{"name too long", name(strings.Repeat("A", store.MaxSecretNameBytes+1)), store.ErrInvalid},
		{"longest name", name(strings.Repeat("A", store.MaxSecretNameBytes)), nil},
		{"namespace does not exist", func(s *store.Secret, v *store.SecretVersion) { s.Namespace, v.Namespace = "staging", "staging" }, store.ErrNotFound},
		{"org does not exist", func(s *store.Secret, v *store.SecretVersion) { s.Org, v.Org = "nope", "nope" }, store.ErrNotFound},
		{"version names another secret", func(_ *store.Secret, v *store.SecretVersion) { v.Name = "OTHER" }, store.ErrInvalid},
		{"first version is not 1", func(_ *store.Secret, v *store.SecretVersion) { v.Version = 2 }, store.ErrInvalid},
		{"no ciphertext", func(_ *store.Secret, v *store.SecretVersion) { v.Ciphertext = nil }, store.ErrInvalid},
		{"no wrapped key", func(_ *store.Secret, v *store.SecretVersion) { v.WrappedKey = nil }, store.ErrInvalid},
		{"ciphertext too large", func(_ *store.Secret, v *store.SecretVersion) { v.Ciphertext = make([]byte, store.MaxSealedBytes+1) }, store.ErrInvalid},
		{"key id 0", func(_ *store.Secret, v *store.SecretVersion) { v.KeyID = 0 }, store.ErrInvalid},
		{"no author", func(s *store.Secret, _ *store.SecretVersion) { s.CreatedBy = "" }, store.ErrInvalid},
		{"description with a control character", func(s *store.Secret, _ *store.SecretVersion) { s.Description = "a\x07b" }, store.ErrInvalid},
		{"description too long", func(s *store.Secret, _ *store.SecretVersion) {
			s.Description = strings.Repeat("d", store.MaxSecretDescBytes+1)
		}, store.ErrInvalid},
		{"referable_by with a malformed entry", func(s *store.Secret, _ *store.SecretVersion) { s.ReferableBy = []string{"bob"} }, store.ErrInvalid},
		{"referable_by with a malformed role", func(s *store.Secret, _ *store.SecretVersion) { s.ReferableBy = []string{"role:"} }, store.ErrInvalid},
		{"referable_by too long", func(s *store.Secret, _ *store.SecretVersion) {
			for i := 0; i <= store.MaxReferableBy; i++ {
				s.ReferableBy = append(s.ReferableBy, fmt.Sprintf("user:u%d", i))
			}
		}, store.ErrInvalid},
	}
	for _, tc := range tests {
		sec, v := ok(tc.mod)
		err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.CreateSecret(ctx, sec, v); err != nil {
				return err
			}
			return errRollback // keep the namespace free for the next case
		})
		if tc.want == nil {
			if !errors.Is(err, errRollback) {
				t.Errorf("CreateSecret %s: %v", tc.name, err)
			}
			continue
		}
		wantErr(t, "CreateSecret "+tc.name, err, tc.want)
	}
}

var errRollback = errors.New("roll back")

func testSecretUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "su")
	c := createSecret(t, s, f.org, "prod", "DB_PASSWORD")
	upd := func(u store.SecretUpdate) (store.Secret, error) {
		var out store.Secret
		_, err := s.Write(ctx, func(tx store.Tx) error {
			var err error
			out, err = tx.UpdateSecret(ctx, u)
			return err
		})
		return out, err
	}
	base := store.SecretUpdate{Org: f.org, Namespace: "prod", Name: "DB_PASSWORD", Author: "user:carol"}

	desc, exp := "primary database", time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	refs := []string{"role:builder"}
	u := base
	u.Description, u.ExpiresAt, u.ReferableBy = &desc, &exp, &refs
	got := must(upd(u)).get(t)
	if got.Version != 1 || got.Description != desc || !got.ExpiresAt.Equal(exp) || got.UpdatedBy != "user:carol" ||
		!got.RotatedAt.IsZero() || got.CreatedBy != "user:alice" || !got.CreatedAt.Equal(c.CreatedAt) || len(got.ReferableBy) != 1 {
		t.Errorf("metadata update = %+v", got)
	}
	diff(t, "GetSecret after a metadata update", got, must(s.GetSecret(ctx, f.org, "prod", "DB_PASSWORD")).get(t))

	// A new version must be exactly current+1.
	for _, bad := range []uint64{1, 3} {
		u := base
		v := sealedVersion(f.org, "prod", "DB_PASSWORD", bad, 1)
		u.NewVersion = &v
		wantErr(t, fmt.Sprintf("new version %d of a version-1 secret", bad), second(upd(u)), store.ErrConflict)
	}
	u = base
	v2 := sealedVersion(f.org, "prod", "DB_PASSWORD", 2, 2)
	u.NewVersion, u.IfVersion = &v2, 7
	wantErr(t, "IfVersion that is not current", second(upd(u)), store.ErrConflict)
	u.IfVersion = 1
	got = must(upd(u)).get(t)
	if got.Version != 2 || !got.RotatedAt.IsZero() || got.Description != desc {
		t.Errorf("an edit with a new version = %+v (kept metadata, no rotation stamp)", got)
	}
	u = base
	v3 := sealedVersion(f.org, "prod", "DB_PASSWORD", 3, 2)
	u.NewVersion, u.Rotated = &v3, true
	got = must(upd(u)).get(t)
	if got.Version != 3 || got.RotatedAt.IsZero() || !got.RotatedAt.Equal(got.UpdatedAt) {
		t.Errorf("a rotation = %+v, want version 3 with RotatedAt = UpdatedAt", got)
	}
	u = base
	u.Rotated = true
	wantErr(t, "a rotation without a new version", second(upd(u)), store.ErrInvalid)
	u = base
	u.Name = "NOPE"
	wantErr(t, "update of a missing secret", second(upd(u)), store.ErrNotFound)
	u = base
	other := sealedVersion(f.org, "prod", "OTHER", 4, 1)
	u.NewVersion = &other
	wantErr(t, "a version naming another secret", second(upd(u)), store.ErrInvalid)
	u = base
	u.Author = ""
	wantErr(t, "an update without author", second(upd(u)), store.ErrInvalid)
	var clear time.Time
	u = base
	u.ExpiresAt = &clear
	if got := must(upd(u)).get(t); !got.ExpiresAt.IsZero() {
		t.Errorf("a zero ExpiresAt clears the expiry, got %v", got.ExpiresAt)
	}

	// Versions: dense, newest first, without sealed bytes; each keeps its
	// own sealed bytes and key id.
	vs, _, err := s.ListSecretVersions(ctx, f.org, "prod", "DB_PASSWORD", store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, v := range vs {
		listed = append(listed, fmt.Sprintf("%d key %d by %s", v.Version, v.KeyID, v.CreatedBy))
		if v.Ciphertext != nil || v.WrappedKey != nil {
			t.Errorf("ListSecretVersions returned sealed bytes for version %d", v.Version)
		}
	}
	diff(t, "ListSecretVersions", []string{"3 key 2 by user:carol", "2 key 2 by user:carol", "1 key 1 by user:alice"}, listed)
	page1, next, err := s.ListSecretVersions(ctx, f.org, "prod", "DB_PASSWORD", store.Page{Size: 2})
	if err != nil || len(page1) != 2 || next == "" {
		t.Fatalf("first page = %d versions, %q, %v", len(page1), next, err)
	}
	page2, next2, err := s.ListSecretVersions(ctx, f.org, "prod", "DB_PASSWORD", store.Page{Size: 2, Cursor: next})
	if err != nil || len(page2) != 1 || page2[0].Version != 1 || next2 != "" {
		t.Errorf("second page = %+v, %q, %v", page2, next2, err)
	}
	wantErr(t, "ListSecretVersions of a missing secret", third(s.ListSecretVersions(ctx, f.org, "prod", "NOPE", store.Page{})), store.ErrNotFound)
	for _, n := range []uint64{1, 2, 3} {
		v := must(s.GetSecretVersion(ctx, f.org, "prod", "DB_PASSWORD", n)).get(t)
		w := sealedVersion(f.org, "prod", "DB_PASSWORD", n, map[uint64]uint32{1: 1, 2: 2, 3: 2}[n])
		if !bytes.Equal(v.Ciphertext, w.Ciphertext) || !bytes.Equal(v.WrappedKey, w.WrappedKey) || v.KeyID != w.KeyID {
			t.Errorf("version %d sealed bytes or key id changed", n)
		}
	}
	if cur := must(s.GetSecretVersion(ctx, f.org, "prod", "DB_PASSWORD", 0)).get(t); cur.Version != 3 {
		t.Errorf("current version = %d, want 3", cur.Version)
	}
}

func testSecretDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "sd")
	c := createSecret(t, s, f.org, "prod", "GONE")
	createSecret(t, s, f.org, "prod", "KEPT")
	before := must(s.CurrentRevision(ctx)).get(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteSecret(ctx, f.org, "prod", "GONE") })
	cs := changes(t, s, before)
	diff(t, "changelog of DeleteSecret", []string{"secret.delete prod/GONE"}, kinds(cs))
	if len(cs) == 1 {
		diff(t, "secret.delete payload is the secret as it was", c, must(cs[0].Decode()).get(t))
	}
	wantErr(t, "GetSecret after delete", second(s.GetSecret(ctx, f.org, "prod", "GONE")), store.ErrNotFound)
	wantErr(t, "GetSecretVersion after delete", second(s.GetSecretVersion(ctx, f.org, "prod", "GONE", 1)), store.ErrNotFound)
	wantErr(t, "DeleteSecret again", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteSecret(ctx, f.org, "prod", "GONE")
	}), store.ErrNotFound)
	must(s.GetSecret(ctx, f.org, "prod", "KEPT")).get(t)
	// The name can be used again, from version 1.
	if again := createSecret(t, s, f.org, "prod", "GONE"); again.Version != 1 {
		t.Errorf("re-created secret at version %d", again.Version)
	}
	// A rolled-back delete deletes nothing.
	err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeleteSecret(ctx, f.org, "prod", "KEPT"); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	must(s.GetSecretVersion(ctx, f.org, "prod", "KEPT", 1)).get(t)
}

func testSecretTouch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "st")
	createSecret(t, s, f.org, "prod", "A")
	createSecret(t, s, f.org, "prod", "B")
	before := must(s.CurrentRevision(ctx)).get(t)
	var now time.Time
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		now = tx.Now()
		return tx.TouchSecrets(ctx, f.org, "prod", []string{"A", "MISSING"})
	})
	if rev != before {
		t.Errorf("TouchSecrets committed revision %d; bookkeeping must not make one (current %d)", rev, before)
	}
	if cs := changes(t, s, before); len(cs) != 0 {
		t.Errorf("TouchSecrets wrote changelog entries %v", kinds(cs))
	}
	if a := must(s.GetSecret(ctx, f.org, "prod", "A")).get(t); !a.LastUsedAt.Equal(now) {
		t.Errorf("LastUsedAt of A = %v, want %v (the touch committed)", a.LastUsedAt, now)
	}
	if b := must(s.GetSecret(ctx, f.org, "prod", "B")).get(t); !b.LastUsedAt.IsZero() {
		t.Errorf("LastUsedAt of B = %v, want untouched", b.LastUsedAt)
	}
	wantErr(t, "TouchSecrets with a malformed name", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.TouchSecrets(ctx, f.org, "prod", []string{"a-b"})
	}), store.ErrInvalid)
}

func runToken(org, id string, ref authz.ResourceRef, expires time.Time) store.RunToken {
	return store.RunToken{Org: org, ID: id, Resource: ref, ResourceVersion: 1, Secrets: []string{"B", "A", "B"},
		IssuedBy: "user:bob", Runtime: "service:ci", ExpiresAt: expires, ApprovalID: recID(7)}
}

func testRunTokens(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "rt")
	id1, id2, id3 := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	before := must(s.CurrentRevision(ctx)).get(t)
	var created store.RunToken
	var now time.Time
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		now = tx.Now()
		var err error
		created, err = tx.CreateRunToken(ctx, runToken(f.org, id1, f.resource, tx.Now().Add(time.Minute)))
		return err
	})
	if rev != before || len(changes(t, s, before)) != 0 {
		t.Errorf("CreateRunToken made revision %d (current %d) or changelog entries; it is unlogged", rev, before)
	}
	want := store.RunToken{Org: f.org, ID: id1, Resource: f.resource, ResourceVersion: 1, Secrets: []string{"A", "B"},
		IssuedBy: "user:bob", Runtime: "service:ci", CreatedAt: now, ExpiresAt: now.Add(time.Minute), ApprovalID: recID(7)}
	diff(t, "CreateRunToken (secrets sorted and unique)", want, created)
	diff(t, "GetRunToken", want, must(s.GetRunToken(ctx, f.org, id1)).get(t))

	var used store.RunToken
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		used, err = tx.UseRunToken(ctx, f.org, id1, "service:ci")
		return err
	})
	if used.UsedAt.IsZero() || used.UsedBy != "service:ci" {
		t.Errorf("UseRunToken = %+v", used)
	}
	if got := must(s.GetRunToken(ctx, f.org, id1)).get(t); got.UsedAt.IsZero() || got.UsedBy != "service:ci" {
		t.Errorf("GetRunToken after use = %+v (the use committed without a changelog entry)", got)
	}
	wantErr(t, "UseRunToken twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UseRunToken(ctx, f.org, id1, "service:ci")
		return err
	}), store.ErrConflict)
	wantErr(t, "UseRunToken of an unknown token", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UseRunToken(ctx, f.org, id2, "service:ci")
		return err
	}), store.ErrNotFound)
	wantErr(t, "UseRunToken through another org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UseRunToken(ctx, "other", id1, "service:ci")
		return err
	}), store.ErrNotFound)

	bad := []struct {
		name string
		mod  func(*store.RunToken)
		want error
	}{
		{"id that is not hex", func(r *store.RunToken) { r.ID = strings.Repeat("g", 64) }, store.ErrInvalid},
		{"upper-case id", func(r *store.RunToken) { r.ID = strings.Repeat("A", 64) }, store.ErrInvalid},
		{"short id", func(r *store.RunToken) { r.ID = "abc" }, store.ErrInvalid},
		{"expired already", func(r *store.RunToken) { r.ExpiresAt = time.Now().Add(-time.Hour) }, store.ErrInvalid},
		{"malformed secret name", func(r *store.RunToken) { r.Secrets = []string{"lower"} }, store.ErrInvalid},
		{"malformed runtime", func(r *store.RunToken) { r.Runtime = "ci" }, store.ErrInvalid},
		{"version 0", func(r *store.RunToken) { r.ResourceVersion = 0 }, store.ErrInvalid},
		{"taken id", func(r *store.RunToken) { r.ID = id1 }, store.ErrConflict},
		{"unknown org", func(r *store.RunToken) { r.Org = "nope" }, store.ErrNotFound},
	}
	for _, tc := range bad {
		rt := runToken(f.org, id2, f.resource, time.Now().Add(time.Hour))
		tc.mod(&rt)
		wantErr(t, "CreateRunToken with "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateRunToken(ctx, rt)
			return err
		}), tc.want)
	}

	// Creating a token prunes the org's expired ones.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateRunToken(ctx, runToken(f.org, id2, f.resource, tx.Now().Add(time.Millisecond)))
		return err
	})
	time.Sleep(5 * time.Millisecond) // let id2 expire; not a timing assertion
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateRunToken(ctx, runToken(f.org, id3, f.resource, tx.Now().Add(time.Hour)))
		return err
	})
	wantErr(t, "an expired token after the next creation", second(s.GetRunToken(ctx, f.org, id2)), store.ErrNotFound)
	must(s.GetRunToken(ctx, f.org, id3)).get(t)
}

func testVaultKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "vk")
	before := must(s.CurrentRevision(ctx)).get(t)
	putKey := func(id uint32) error {
		return writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PutVaultKey(ctx, store.VaultKey{ID: id, Check: []byte(fmt.Sprintf("check-%d", id))})
		})
	}
	// Vault keys and the key-wide readers are deployment-wide; this check
	// uses key ids 7 and 8, which no other check uses.
	wantErr(t, "PutVaultKey 7", putKey(7), nil)
	wantErr(t, "PutVaultKey 7 again", putKey(7), store.ErrConflict)
	wantErr(t, "PutVaultKey 0", putKey(0), store.ErrInvalid)
	wantErr(t, "PutVaultKey with no check", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PutVaultKey(ctx, store.VaultKey{ID: 9})
	}), store.ErrInvalid)
	wantErr(t, "PutVaultKey 8", putKey(8), nil)
	if rev := must(s.CurrentRevision(ctx)).get(t); rev != before {
		t.Errorf("vault keys made revision %d (was %d); they are unlogged", rev, before)
	}
	keys := ourKeys(t, s)
	if len(keys) != 2 || keys[0].ID != 7 || keys[1].ID != 8 || string(keys[0].Check) != "check-7" || keys[0].CreatedAt.IsZero() || !keys[0].RetiredAt.IsZero() {
		t.Fatalf("ListVaultKeys = %+v", keys)
	}

	// Five versions under key 7 across two orgs and namespaces.
	g := seed(t, s, "vk2")
	for _, k := range []struct{ org, ns, name string }{{f.org, "prod", "A"}, {f.org, "prod", "B"}, {f.org, "default", "C"}, {g.org, "prod", "A"}} {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateSecret(ctx, store.Secret{Org: k.org, Namespace: k.ns, Name: k.name, CreatedBy: "user:alice"},
				sealedVersion(k.org, k.ns, k.name, 1, 7))
			return err
		})
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		v := sealedVersion(f.org, "prod", "A", 2, 7)
		_, err := tx.UpdateSecret(ctx, store.SecretUpdate{Org: f.org, Namespace: "prod", Name: "A", NewVersion: &v, Author: "user:alice"})
		return err
	})
	diff(t, "CountSecretVersionsByKey", map[uint32]int64{7: 5}, ourCounts(t, s))
	wantErr(t, "RetireVaultKey 7 while it wraps data keys", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RetireVaultKey(ctx, 7)
	}), store.ErrRefused)
	wantErr(t, "RetireVaultKey of an unknown key", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RetireVaultKey(ctx, 9)
	}), store.ErrNotFound)

	// Page through key 7's versions two at a time, re-wrapping each under
	// key 8: every version is visited once, in key order.
	var visited []string
	after := store.SecretVersionKey{}
	for i := 0; ; i++ {
		vs, err := s.ListSecretVersionsByKey(ctx, 7, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) == 0 {
			break
		}
		if i > 10 {
			t.Fatal("re-wrap paging does not end")
		}
		for _, v := range vs {
			visited = append(visited, fmt.Sprintf("%s/%s/%s/%d", v.Org, v.Namespace, v.Name, v.Version))
			if len(v.Ciphertext) == 0 || len(v.WrappedKey) == 0 {
				t.Errorf("ListSecretVersionsByKey left out sealed bytes of %s", visited[len(visited)-1])
			}
		}
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, v := range vs {
				v.KeyID, v.WrappedKey, v.Ciphertext = 8, []byte("REWRAPPED"), nil
				if err := tx.RewrapSecretVersion(ctx, v); err != nil {
					return err
				}
			}
			return nil
		})
		last := vs[len(vs)-1]
		after = store.SecretVersionKey{Org: last.Org, Namespace: last.Namespace, Name: last.Name, Version: last.Version}
	}
	diff(t, "versions visited by ListSecretVersionsByKey",
		[]string{"vk/default/C/1", "vk/prod/A/1", "vk/prod/A/2", "vk/prod/B/1", "vk2/prod/A/1"}, visited)
	diff(t, "CountSecretVersionsByKey after re-wrap", map[uint32]int64{8: 5}, ourCounts(t, s))
	v := must(s.GetSecretVersion(ctx, f.org, "prod", "A", 2)).get(t)
	if v.KeyID != 8 || string(v.WrappedKey) != "REWRAPPED" || !bytes.Equal(v.Ciphertext, sealedVersion(f.org, "prod", "A", 2, 7).Ciphertext) {
		t.Errorf("re-wrapped version = key %d, wrapped %q, ciphertext %q: the ciphertext must be untouched", v.KeyID, v.WrappedKey, v.Ciphertext)
	}
	wantErr(t, "RewrapSecretVersion of a missing version", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RewrapSecretVersion(ctx, store.SecretVersion{Org: f.org, Namespace: "prod", Name: "A", Version: 9, KeyID: 8, WrappedKey: []byte("x")})
	}), store.ErrNotFound)
	wantErr(t, "ListSecretVersionsByKey with limit 0", second(s.ListSecretVersionsByKey(ctx, 7, store.SecretVersionKey{}, 0)), store.ErrInvalid)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RetireVaultKey(ctx, 7) })
	keys = ourKeys(t, s)
	if keys[0].RetiredAt.IsZero() || !keys[1].RetiredAt.IsZero() {
		t.Errorf("after retiring key 7: %+v", keys)
	}
}

// ourKeys and ourCounts are testVaultKeys' view of the deployment-wide
// readers: key ids 7 and 8 only.
func ourKeys(t *testing.T, s store.Store) []store.VaultKey {
	t.Helper()
	var out []store.VaultKey
	for _, k := range must(s.ListVaultKeys(ctxT(t))).get(t) {
		if k.ID == 7 || k.ID == 8 {
			out = append(out, k)
		}
	}
	return out
}

func ourCounts(t *testing.T, s store.Store) map[uint32]int64 {
	t.Helper()
	out := map[uint32]int64{}
	for id, n := range must(s.CountSecretVersionsByKey(ctxT(t))).get(t) {
		if id == 7 || id == 8 {
			out[id] = n
		}
	}
	return out
}

func testSecretCascades(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "sx")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateNamespace(ctx, f.org, "staging")
		return err
	})
	createSecret(t, s, f.org, "staging", "KEY")
	for _, cascade := range []bool{false, true} {
		wantErr(t, fmt.Sprintf("DeleteNamespace holding a secret (cascade %v)", cascade), writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteNamespace(ctx, f.org, "staging", store.DeleteOptions{Cascade: cascade})
		}), store.ErrRefused)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteSecret(ctx, f.org, "staging", "KEY") })
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeleteNamespace(ctx, f.org, "staging", store.DeleteOptions{})
	})

	createSecret(t, s, f.org, "prod", "KEY")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateRunToken(ctx, runToken(f.org, strings.Repeat("d", 64), f.resource, tx.Now().Add(time.Hour)))
		return err
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, f.org) })
	seed(t, s, f.org) // the same id again: nothing of the old org's vault remains
	wantErr(t, "secret of a deleted org", second(s.GetSecret(ctx, f.org, "prod", "KEY")), store.ErrNotFound)
	wantErr(t, "version of a deleted org", second(s.GetSecretVersion(ctx, f.org, "prod", "KEY", 1)), store.ErrNotFound)
	wantErr(t, "run token of a deleted org", second(s.GetRunToken(ctx, f.org, strings.Repeat("d", 64))), store.ErrNotFound)
	if vs := must(s.ListSecretVersionsByKey(ctx, 1, store.SecretVersionKey{Org: f.org}, 10)).get(t); len(vs) > 0 && vs[0].Org == f.org {
		t.Errorf("versions left after the org's deletion: %+v", vs[0])
	}
}

func testSecretIsolation(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a, b := seed(t, s, "ia"), seed(t, s, "ib")
	createSecret(t, s, a.org, "prod", "ONLY_A")
	id := strings.Repeat("e", 64)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateRunToken(ctx, runToken(a.org, id, a.resource, tx.Now().Add(time.Hour)))
		return err
	})
	wantErr(t, "GetSecret through org b", second(s.GetSecret(ctx, b.org, "prod", "ONLY_A")), store.ErrNotFound)
	wantErr(t, "GetSecretVersion through org b", second(s.GetSecretVersion(ctx, b.org, "prod", "ONLY_A", 0)), store.ErrNotFound)
	wantErr(t, "ListSecretVersions through org b", third(s.ListSecretVersions(ctx, b.org, "prod", "ONLY_A", store.Page{})), store.ErrNotFound)
	wantErr(t, "GetRunToken through org b", second(s.GetRunToken(ctx, b.org, id)), store.ErrNotFound)
	if ss, _, err := s.ListSecrets(ctx, b.org, store.SecretFilter{}, store.Page{}); err != nil || len(ss) != 0 {
		t.Errorf("ListSecrets of org b = %v, %v", ss, err)
	}
	if ss, err := s.GetSealedSecrets(ctx, b.org, "prod", []string{"ONLY_A"}); err != nil || len(ss) != 0 {
		t.Errorf("GetSealedSecrets through org b = %v, %v", ss, err)
	}
	for _, op := range []func(context.Context, store.Tx) error{
		func(ctx context.Context, tx store.Tx) error { return tx.DeleteSecret(ctx, b.org, "prod", "ONLY_A") },
		func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateSecret(ctx, store.SecretUpdate{Org: b.org, Namespace: "prod", Name: "ONLY_A", Author: "user:bob"})
			return err
		},
		func(ctx context.Context, tx store.Tx) error {
			return tx.RewrapSecretVersion(ctx, store.SecretVersion{Org: b.org, Namespace: "prod", Name: "ONLY_A", Version: 1, KeyID: 1, WrappedKey: []byte("x")})
		},
	} {
		wantErr(t, "a write through org b", writeErr(t, s, op), store.ErrNotFound)
	}
	// A cursor of org a's list is refused by org b's.
	createSecret(t, s, a.org, "prod", "SECOND")
	_, next, err := s.ListSecrets(ctx, a.org, store.SecretFilter{}, store.Page{Size: 1})
	if err != nil || next == "" {
		t.Fatalf("ListSecrets page 1 = %q, %v", next, err)
	}
	wantErr(t, "org a's cursor through org b", third(s.ListSecrets(ctx, b.org, store.SecretFilter{}, store.Page{Cursor: next})), store.ErrInvalid)
}

func testSecretHostile(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "ha")
	createSecret(t, s, "ha", "prod", "REAL")
	for _, x := range []string{"", "\xff", "a\x00b", "REAL' OR '1'='1", "%", "_", strings.Repeat("X", 1<<16), "\u202eREAL"} {
		name := fmt.Sprintf("%.20q", x)
		for i, err := range []error{
			second(s.GetSecret(ctx, "ha", "prod", x)),
			second(s.GetSecret(ctx, x, "prod", "REAL")),
			second(s.GetSecret(ctx, "ha", x, "REAL")),
			second(s.GetSecretVersion(ctx, "ha", "prod", x, 0)),
			second(s.GetSecretVersion(ctx, "ha", "prod", x, 1<<63)),
			second(s.GetRunToken(ctx, "ha", x)),
			third(s.ListSecretVersions(ctx, "ha", "prod", x, store.Page{})),
		} {
			wantErr(t, fmt.Sprintf("read %d of %s", i, name), err, store.ErrNotFound)
		}
		if ss, err := s.GetSealedSecrets(ctx, "ha", "prod", []string{x}); err != nil || len(ss) != 0 {
			t.Errorf("GetSealedSecrets(%s) = %v, %v", name, ss, err)
		}
		if ss, _, err := s.ListSecrets(ctx, "ha", store.SecretFilter{Namespace: x}, store.Page{}); x != "" && (err != nil || len(ss) != 0) {
			t.Errorf("ListSecrets(namespace %s) = %v, %v", name, ss, err)
		}
	}
}
