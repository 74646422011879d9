package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/authz/feed"
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
	s, err := New(Config{Directory: d, Store: st, Auth: as, RequestTimeout: time.Second})
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

// streamStore wraps a store: its StreamOrg hands over the real rows and
// then extra made-up bindings (the header counts them), stopping after
// pauseAt rows until release is closed, and failing with failWith after
// failAt rows (0: never).
type streamStore struct {
	store.Store
	extra   int
	pauseAt int
	paused  chan struct{} // closed when the pause begins
	release chan struct{}
	failAt  int
}

var errMidStream = store.Errorf(store.ErrBackend, "load org", "the disk went away", nil)

func (s *streamStore) StreamOrg(ctx context.Context, org string) iter.Seq2[store.OrgRow, error] {
	return func(yield func(store.OrgRow, error) bool) {
		n := 0
		emit := func(r store.OrgRow) bool {
			n++
			if n == s.failAt {
				yield(store.OrgRow{}, errMidStream)
				return false
			}
			if n == s.pauseAt {
				close(s.paused)
				<-s.release
			}
			return yield(r, nil)
		}
		for r, err := range s.Store.StreamOrg(ctx, org) {
			if err != nil {
				yield(r, err)
				return
			}
			if r.Header != nil {
				h := *r.Header
				h.Bindings += s.extra
				r.Header = &h
			}
			if !emit(r) {
				return
			}
		}
		for i := range s.extra {
			b := authz.Binding{ID: fmt.Sprintf("zz%06d", i), Principal: "user:alice", Role: "viewer"}
			if !emit(store.OrgRow{Binding: &b}) {
				return
			}
		}
	}
}

// snapshotServer serves org acme (alice its owner) over st wrapped by
// wrap, and returns the server's URL and alice's key.
func snapshotServer(t *testing.T, wrap func(store.Store) store.Store) (string, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "g.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ws := wrap(st)
	d, err := directory.Open(ctx, ws, authz.New(), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	as := auth.New(ws, d, auth.NewKeySet(), auth.Options{FailureBurst: 1e6})
	t.Cleanup(func() { _ = as.Close() })
	_, alice, err := as.Bootstrap(ctx, store.User{ID: "alice", Email: "alice@example.com"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.CreateOrg(ctx, directory.Actor{Principal: "user:alice"}, directory.OrgSpec{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Directory: d, Store: ws, Auth: as, RequestTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL, alice
}

func getSnapshot(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/v1/orgs/acme/snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// guard bounds a wait that no correct server comes near.
const guard = 30 * time.Second

// TestSnapshotStreams: the snapshot's header and first rows reach the
// client while the store is still reading (it is paused midway, and is
// released only once the client has them), and the whole stream is a
// complete snapshot.
func TestSnapshotStreams(t *testing.T) {
	t.Parallel()
	ss := &streamStore{extra: 20000, pauseAt: 10000, paused: make(chan struct{}), release: make(chan struct{})}
	url, alice := snapshotServer(t, func(st store.Store) store.Store { ss.Store = st; return ss })
	resp := getSnapshot(t, url, alice)
	defer close(ss.release)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The store is held midway (after 10,000 of its 20,000 made-up
	// bindings); what the client can read now was sent while it reads.
	select {
	case <-ss.paused:
	case <-time.After(guard):
		t.Fatal("the store never reached its pause")
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(resp.Body, &got))
	read := make(chan error, 1)
	go func() {
		for range 100 {
			if _, err := br.ReadSlice('\n'); err != nil {
				read <- err
				return
			}
		}
		read <- nil
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(guard):
		// (A hang guard, not a timing: a server that reads the whole org
		// before sending never delivers these lines while the store waits.)
		t.Fatal("the first 100 lines did not arrive while the store was reading: the snapshot is not streamed")
	}
	ss.release <- struct{}{} // unpause (the deferred close is then a no-op receive-side)
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatal(err)
	}
	snap, err := feed.ReadSnapshot(&got)
	if err != nil {
		t.Fatalf("the streamed snapshot: %v", err)
	}
	if len(snap.Bindings) != 20001 {
		t.Errorf("%d bindings, want 20001 (the owner's and 20,000 streamed)", len(snap.Bindings))
	}
}

// TestSnapshotCutShort: a store that fails before the header gets a
// problem answer (503 for ErrBackend, no internal detail); one that fails midway ends
// the stream without its trailer, which a reader refuses.
func TestSnapshotCutShort(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		failAt int
		status int
	}{
		{"before the header", 1, http.StatusServiceUnavailable}, // ErrBackend: retry
		{"midway", 5000, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ss := &streamStore{extra: 10000, failAt: c.failAt}
			url, alice := snapshotServer(t, func(st store.Store) store.Store { ss.Store = st; return ss })
			resp := getSnapshot(t, url, alice)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, c.status, body)
			}
			if bytes.Contains(body, []byte("disk went away")) {
				t.Errorf("the answer leaks the store's error: %.300s", body)
			}
			if c.status != http.StatusOK {
				return
			}
			if _, err := feed.ReadSnapshot(bytes.NewReader(body)); !errors.Is(err, feed.ErrMalformed) {
				t.Errorf("a snapshot cut short by the store: ReadSnapshot = %v, want ErrMalformed", err)
			}
		})
	}
}
