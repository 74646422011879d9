package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqlite"
)

// TestSnapshotsAreBounded: at most maxSnapshots snapshots are read and
// sent at once (each holds its org in memory); one more waits, then gets
// 503 with Retry-After — but a caller who may not read the snapshot is
// refused (404) before it queues, even when the server is full.
func TestSnapshotsAreBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	d, err := directory.Open(ctx, st, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	as := auth.New(st, d, auth.NewKeySet(), auth.Options{FailureBurst: 1e6})
	t.Cleanup(func() { _ = as.Close() })
	_, alice, err := as.Bootstrap(ctx, store.User{ID: "alice", Email: "alice@example.com"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := as.Bootstrap(ctx, store.User{ID: "bob", Email: "bob@example.com"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, directory.Actor{Principal: "user:alice"}, directory.OrgSpec{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Directory: d, Store: st, Auth: as, RequestTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) *http.Response {
		req := httptest.NewRequest("GET", "/v1/orgs/acme/snapshot", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Result()
	}
	for range maxSnapshots {
		s.snapshots <- struct{}{} // snapshots in flight
	}
	if r := get(alice); r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a snapshot beyond the bound: %d (Retry-After %q), want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := get(bob); r.StatusCode != http.StatusNotFound {
		t.Fatalf("a non-member while the server is full: %d, want 404", r.StatusCode)
	}
	<-s.snapshots
	if r := get(alice); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("a snapshot with a free slot: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}
