package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// OrgWriter is a store whose writes of one org may run concurrently with
// other orgs' (sqlcore's WriteOrg; where the backend does not, it is
// Write).
type OrgWriter interface {
	WriteOrg(ctx context.Context, org string, fn func(tx store.Tx) error) (uint64, error)
}

// OrgWrites checks WriteOrg under concurrency: writers of several orgs
// on two handles (two processes' worth), each a read-modify-write of its
// org's counter (a resource's version) and a namespace; a global writer
// creating users beside them; and a follower polling ChangesSince all the
// while. Whatever runs concurrently, revisions must be dense and unique,
// the follower must see every one of them (it asks "after the last one I
// read": a revision that committed after a higher one would be skipped),
// no increment may be lost (each org's versions 1..n), and the changelog
// replayed in revision order must give each org's stored state. A
// backend's conformance run calls it with its default options; a backend
// that can run org writes concurrently also calls it with them on.
func OrgWrites(t *testing.T, s store.Store) {
	t.Helper()
	ctx := ctxT(t)
	ow, ok := s.(OrgWriter)
	if !ok {
		t.Fatalf("%T has no WriteOrg", s)
	}
	s2 := s
	if r, ok := s.(Reopener); ok {
		other, err := r.Reopen(ctx)
		if err != nil {
			t.Fatalf("Reopen: %v", err)
		}
		t.Cleanup(func() { _ = other.Close() })
		s2 = other
	}
	ow2, ok := s2.(OrgWriter)
	if !ok {
		t.Fatalf("%T has no WriteOrg", s2)
	}
	orgs := []string{"a", "b", "c", "d"}
	fs := make([]fixture, len(orgs))
	for i, org := range orgs {
		fs[i] = seed(t, s, org)
	}
	start := must(s.CurrentRevision(ctx)).get(t)

	// The follower: from start, "after the last revision read", until
	// told to stop and caught up with the end.
	stop := make(chan struct{})
	followed := make(chan []uint64, 1)
	go func() {
		var seen []uint64
		after := start
		stopping := false
		for {
			cs, err := s.ChangesSince(ctx, after, 0)
			if err != nil {
				t.Errorf("follower: ChangesSince(%d): %v", after, err)
				break
			}
			for _, c := range cs {
				if len(seen) == 0 || seen[len(seen)-1] != c.Revision {
					seen = append(seen, c.Revision)
				}
			}
			if len(cs) > 0 {
				after = cs[len(cs)-1].Revision
				continue
			}
			if stopping {
				break
			}
			select {
			case <-stop:
				stopping = true // one more read: everything has committed
			case <-time.After(time.Millisecond):
			}
		}
		followed <- seen
	}()

	// The revision reader: a revision the store reports as current has
	// its changes, and every earlier revision's, in the changelog (they
	// commit with it, and revisions commit in order); so reading "after
	// the last revision I have" up to it finds each revision in between,
	// one after the other. It would not if a write's revision committed
	// before its changelog rows, or after a later revision's.
	checked := make(chan int, 1)
	go func() {
		last, reads := start, 0
		defer func() { checked <- reads }()
		for {
			stopping := false
			select {
			case <-stop:
				stopping = true
			default:
			}
			cur, err := s2.CurrentRevision(ctx)
			if err != nil {
				t.Errorf("revision reader: CurrentRevision: %v", err)
				return
			}
			for last < cur {
				cs, err := s2.ChangesSince(ctx, last, 0)
				if err != nil {
					t.Errorf("revision reader: ChangesSince(%d): %v", last, err)
					return
				}
				if len(cs) == 0 {
					t.Errorf("revision reader: revision %d is current, but the changelog has nothing after %d", cur, last)
					return
				}
				for _, c := range cs {
					if c.Revision == last {
						continue
					}
					if c.Revision != last+1 {
						t.Errorf("revision reader: revision %d is current, but after revision %d the changelog has %d", cur, last, c.Revision)
						return
					}
					last = c.Revision
				}
				reads++
			}
			if stopping {
				return
			}
		}
	}()

	const perWriter, writersPerHandle = 10, 4
	var (
		mu   sync.Mutex
		revs []uint64
		wg   sync.WaitGroup
	)
	errs := make(chan error, 4*writersPerHandle*perWriter+16)
	note := func(rev uint64, err error) {
		if err != nil {
			errs <- err
			return
		}
		mu.Lock()
		revs = append(revs, rev)
		mu.Unlock()
	}
	for h, w := range []OrgWriter{ow, ow2} {
		for g := range writersPerHandle {
			f := fs[(h*writersPerHandle+g)%len(fs)] // two writers of every org, one on each handle
			wg.Go(func() {
				for k := range perWriter {
					note(w.WriteOrg(ctx, f.org, func(tx store.Tx) error {
						r, err := tx.GetResource(ctx, f.org, f.resource)
						if err != nil {
							return err
						}
						if _, err := tx.UpdateResource(ctx, store.ResourceUpdate{Org: f.org, Ref: f.resource,
							Spec: fmt.Appendf(nil, `{"n":%d}`, r.Version+1), IfVersion: r.Version, Author: "user:alice"}); err != nil {
							return err
						}
						_, err = tx.CreateNamespace(ctx, f.org, fmt.Sprintf("h%dg%dk%d", h, g, k))
						return err
					}))
				}
			})
		}
	}
	// A global writer beside them: users are shared by every org.
	const users = 10
	wg.Go(func() {
		for i := range users {
			note(s2.Write(ctx, func(tx store.Tx) error {
				_, err := tx.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)})
				return err
			}))
		}
	})
	wg.Wait()
	close(stop)
	seen := <-followed
	if reads := <-checked; reads == 0 {
		t.Errorf("revision reader: never saw a new revision")
	}
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}

	// Revisions: dense and unique, and the follower saw every one.
	const total = 2*writersPerHandle*perWriter + users
	end := must(s.CurrentRevision(ctx)).get(t)
	var want []uint64
	for r := start + 1; r <= start+total; r++ {
		want = append(want, r)
	}
	slices.Sort(revs)
	diff(t, "revisions the writes returned (dense, unique)", want, revs)
	diff(t, "revisions the follower read, polling during the writes", want, seen)
	if end != start+total {
		t.Errorf("revision went from %d to %d, want +%d", start, end, total)
	}

	// Replay: in revision order, each org's counter goes up by one at a
	// time, and the namespaces and users logged are those stored.
	cs := changes(t, s, start)
	version := map[string]uint64{}
	spaces := map[string][]string{}
	var logged []string
	for _, c := range cs {
		v, err := c.Decode()
		if err != nil {
			t.Fatalf("decode %s %s: %v", c.Kind, c.Key, err)
		}
		switch x := v.(type) {
		case store.Resource:
			if version[c.Org] != 0 && x.Version != version[c.Org]+1 {
				t.Errorf("org %s: revision %d writes version %d after %d", c.Org, c.Revision, x.Version, version[c.Org])
			}
			version[c.Org] = x.Version
		case store.Namespace:
			spaces[c.Org] = append(spaces[c.Org], x.Name)
		case store.User:
			logged = append(logged, x.ID)
		}
	}
	for _, f := range fs {
		r := must(s.GetResource(ctx, f.org, f.resource)).get(t)
		if r.Version != 2*perWriter+1 || version[f.org] != r.Version {
			t.Errorf("org %s: version %d stored, %d replayed; want %d (every increment kept)", f.org, r.Version, version[f.org], 2*perWriter+1)
		}
		var stored []string
		for _, ns := range must3(t, s.ListNamespaces, ctx, f.org) {
			if strings.HasPrefix(ns.Name, "h") { // the writers' (the fixture has others)
				stored = append(stored, ns.Name)
			}
		}
		slices.Sort(stored)
		slices.Sort(spaces[f.org])
		diff(t, "org "+f.org+": namespaces stored vs replayed", spaces[f.org], stored)
	}
	var wantUsers []string
	for i := range users {
		wantUsers = append(wantUsers, fmt.Sprintf("u%d", i))
	}
	diff(t, "users logged", wantUsers, logged)
}

// testOrgWriteScope: a WriteOrg may change only its org; anything else
// fails the whole transaction and commits nothing.
func testOrgWriteScope(t *testing.T, s store.Store) {
	ow, ok := s.(OrgWriter)
	if !ok {
		t.Fatalf("%T has no WriteOrg", s)
	}
	seed(t, s, "a")
	seed(t, s, "b")
	tests := []struct {
		name string
		fn   func(ctx context.Context, tx store.Tx) error
	}{
		{"a user's update (global)", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateUser(ctx, store.User{ID: "alice", Email: "alice-new@example.com"})
			return err
		}},
		{"a user's deletion (global)", func(ctx context.Context, tx store.Tx) error {
			return tx.DeleteUser(ctx, "bob")
		}},
		{"another org's namespace", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateNamespace(ctx, "b", "elsewhere")
			return err
		}},
		{"another org's namespace, the error ignored", func(ctx context.Context, tx store.Tx) error {
			_, _ = tx.CreateNamespace(ctx, "b", "elsewhere")
			return nil
		}},
		{"an org", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: "c", Name: "C", Template: "agent-platform"})
			return err
		}},
		{"another org's audit entry", func(ctx context.Context, tx store.Tx) error {
			return tx.AppendAudit(ctx, store.AuditRecord{Org: "b", Seq: 1, At: 1, Actor: "x", Action: "y", Target: "z", Result: "success",
				Body: []byte(`{}`), Hash: make([]byte, 32)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			before := must(s.CurrentRevision(ctx)).get(t)
			_, err := ow.WriteOrg(ctx, "a", func(tx store.Tx) error {
				if _, err := tx.CreateNamespace(ctx, "a", "mine"); err != nil {
					return err
				}
				return tc.fn(ctx, tx)
			})
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("WriteOrg(a) doing %s: error %v, want ErrInvalid", tc.name, err)
			}
			if after := must(s.CurrentRevision(ctx)).get(t); after != before {
				t.Errorf("revision moved from %d to %d: the refused write committed", before, after)
			}
			wantErr(t, "namespace of the refused write", second(s.GetNamespace(ctx, "a", "mine")), store.ErrNotFound)
		})
	}
}

// testOrgWriteNewUser: a WriteOrg may create a new user (the one global
// change it may make, a batch's user.create) and make it a member of its
// org; a second WriteOrg, of another org, creating the same id or the same
// email is a conflict and commits nothing.
func testOrgWriteNewUser(t *testing.T, s store.Store) {
	ow, ok := s.(OrgWriter)
	if !ok {
		t.Fatalf("%T has no WriteOrg", s)
	}
	seed(t, s, "a")
	seed(t, s, "b")
	ctx := ctxT(t)
	create := func(org string, u store.User) func(tx store.Tx) error {
		return func(tx store.Tx) error {
			if _, err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			_, err := tx.AddMember(ctx, store.Member{Org: org, UserID: u.ID})
			return err
		}
	}
	if _, err := ow.WriteOrg(ctx, "a", create("a", store.User{ID: "zed", Email: "zed@example.com"})); err != nil {
		t.Fatalf("WriteOrg(a) creating user zed: %v", err)
	}
	diff(t, "user zed", "zed@example.com", must(s.GetUser(ctx, "zed")).get(t).Email)
	if _, err := s.GetMember(ctx, "a", "zed"); err != nil {
		t.Errorf("zed's membership of a: %v", err)
	}
	for _, u := range []store.User{{ID: "zed", Email: "zed2@example.com"}, {ID: "zoe", Email: "zed@example.com"}} {
		before := must(s.CurrentRevision(ctx)).get(t)
		_, err := ow.WriteOrg(ctx, "b", create("b", u))
		wantErr(t, fmt.Sprintf("WriteOrg(b) creating %s <%s>", u.ID, u.Email), err, store.ErrConflict)
		if after := must(s.CurrentRevision(ctx)).get(t); after != before {
			t.Errorf("revision moved from %d to %d: the refused write committed", before, after)
		}
	}
	wantErr(t, "user zoe", second(s.GetUser(ctx, "zoe")), store.ErrNotFound)
	wantErr(t, "zed's membership of b", second(s.GetMember(ctx, "b", "zed")), store.ErrNotFound)
}
