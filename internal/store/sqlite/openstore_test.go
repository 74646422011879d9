package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlcore"
)

// openTestStore opens a store in a new temporary file the way Open does,
// with readers reader connections, and with every statement passed through
// wrap when it is not nil (a querylog.Log's Wrap, to count them). It
// returns the store and its backend, whose connections tests query.
func openTestStore(t testing.TB, readers int, wrap func(sqlcore.Backend) sqlcore.Backend) (*Store, *backend) {
	t.Helper()
	ctx := context.Background()
	opts := Options{PollInterval: 20 * time.Millisecond, Synchronous: "NORMAL", BusyTimeout: 10 * time.Second, Readers: readers}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	b, err := openBackend(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var backend sqlcore.Backend = b
	if wrap != nil {
		backend = wrap(b)
	}
	core, err := sqlcore.New(ctx, backend, sqlcore.Options{PollInterval: opts.PollInterval})
	if err != nil {
		t.Fatal(err)
	}
	st := &Store{Store: core, path: path, opts: opts}
	t.Cleanup(func() { _ = st.Close() })
	return st, b
}

// openAuditedOrg opens a directory on st, audited and signed as in
// production with ao (its Signer set here), and makes user alice and her
// org acme, returning the directory and alice.
func openAuditedOrg(t testing.TB, st *Store, ao audit.Options) (*directory.Directory, directory.Actor) {
	t.Helper()
	ctx := context.Background()
	signer, err := audit.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	ao.Signer = signer
	l, err := audit.New(st, ao)
	if err != nil {
		t.Fatal(err)
	}
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{Audit: l, CatchUpTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	alice := directory.Actor{Principal: "user:alice"}
	if _, _, err := d.CreateUser(ctx, store.User{ID: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, alice, directory.OrgSpec{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	return d, alice
}
