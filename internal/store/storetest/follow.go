package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func testLoadOrg(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	seed(t, s, "b")
	snap := must(s.LoadOrg(ctx, f.org)).get(t)
	if rev := must(s.CurrentRevision(ctx)).get(t); snap.Revision != rev {
		t.Errorf("snapshot revision %d, current %d", snap.Revision, rev)
	}
	if snap.Org.ID != "a" || snap.Org.Template != "agent-platform" || snap.Policy.Version != 1 || !strings.HasPrefix(snap.Policy.Text, "role owner") {
		t.Errorf("snapshot org/policy = %+v / %+v", snap.Org, snap.Policy)
	}
	diff(t, "namespaces", []string{"default", "prod"}, snap.Namespaces)
	triage := must(s.GetAgent(ctx, f.org, "Triage")).get(t)
	diff(t, "principals", []authz.Principal{
		{ID: "user:alice", Attributes: map[string]any{"dept": "ops"}},
		{ID: "user:bob"},
		{ID: "agent:Triage", Role: "operator", Lifecycle: &authz.Lifecycle{Sponsors: []string{"user:alice"}, RequireSponsor: true,
			AttestedAt: triage.CreatedAt, LastUsedAt: triage.CreatedAt}},
		{ID: "service:ci"},
	}, snap.Principals)
	diff(t, "teams", []authz.Team{{Slug: "support", Members: []string{"agent:Triage", "user:alice"}}}, snap.Teams)
	diff(t, "bindings", []authz.Binding{
		{ID: "agent", Principal: "agent:Triage", Role: "operator"},
		{ID: "owner", Principal: "user:alice", Role: "owner"},
		{ID: "share", Principal: "user:bob", Actions: []string{"run", "read"}, Scope: authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}},
		{ID: "viewer", Principal: "team:support", Role: "viewer", Scope: authz.Scope{Namespace: "prod"}},
	}, snap.Bindings)
	diff(t, "resources", []authz.Resource{{Namespace: "prod", Type: "chains", ID: "triage", Labels: map[string]string{"env": "prod"}}}, snap.Resources)
	d := snap.OrgData(nil)
	if d.Org != "a" || len(d.Bindings) != 4 || len(d.Principals) != 4 {
		t.Errorf("OrgData = %+v", d)
	}
	wantErr(t, "LoadOrg of an absent org", second(s.LoadOrg(ctx, "nope")), store.ErrNotFound)

	// Consistency: each write below adds exactly one binding and one
	// revision, so every snapshot, taken while they run, must hold exactly
	// 4 + (its revision - base) bindings.
	base := must(s.CurrentRevision(ctx)).get(t)
	const writes = 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range writes {
			_, err := s.Write(ctx, func(tx store.Tx) error {
				_, err := tx.CreateBinding(ctx, store.Binding{Org: "a", Binding: authz.Binding{ID: fmt.Sprintf("c%03d", i), Principal: "user:bob", Role: "viewer"}})
				return err
			})
			if err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	})
	for {
		snap := must(s.LoadOrg(ctx, "a")).get(t)
		if want := 4 + int(snap.Revision-base); len(snap.Bindings) != want {
			t.Fatalf("snapshot at revision %d has %d bindings, want %d: not one consistent read", snap.Revision, len(snap.Bindings), want)
		}
		if snap.Revision >= base+writes {
			break
		}
	}
	wg.Wait()
}

// recvAtLeast waits (bounded by the hang guard) until ch delivers a
// revision ≥ rev.
func recvAtLeast(t *testing.T, what string, ch <-chan uint64, rev uint64) {
	t.Helper()
	ctx := ctxT(t)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("%s: watch channel closed before revision %d", what, rev)
			}
			if got >= rev {
				return
			}
		case <-ctx.Done():
			t.Fatalf("%s: no wake-up for revision %d", what, rev)
		}
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	wctx, cancel := context.WithCancel(ctx)
	ch := s.Watch(wctx)
	ch2 := s.Watch(ctx)
	for i := range 3 {
		rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateOrg(ctx, store.Org{ID: fmt.Sprintf("o%d", i)})
			return err
		})
		recvAtLeast(t, "own write", ch, rev)
	}
	// A slow watcher gets the newest revision, not a backlog.
	recvAtLeast(t, "coalesced", ch2, 3)

	cancel()
	for range ch { // must end: the channel closes when its context ends
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range ch2 { // and every channel closes when the store closes
	}
	if _, ok := <-s.Watch(ctx); ok {
		t.Errorf("Watch on a closed store delivered a value")
	}
	if _, err := s.Write(ctx, func(tx store.Tx) error { return nil }); err == nil {
		t.Errorf("Write on a closed store succeeded")
	}
}

// testSecondInstance: two handles on one database, as two processes. A
// write through either is seen by the other through ChangesSince and
// Watch, and writers through both interleave into one dense sequence.
func testSecondInstance(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ro, ok := s.(Reopener)
	if !ok {
		t.Fatalf("%T does not implement storetest.Reopener; the second-instance check cannot run", s)
	}
	s2, err := ro.Reopen(ctx)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	t.Cleanup(func() { _ = s2.Close() })

	ch2 := s2.Watch(ctx)
	ch1 := s.Watch(ctx)
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error { return seedTx(ctx, tx, fixture{org: "a"}) })
	recvAtLeast(t, "second handle watching the first", ch2, rev)
	diff(t, "changes seen by the second handle", changes(t, s, 0), changes(t, s2, 0))
	diff(t, "org seen by the second handle", must(s.LoadOrg(ctx, "a")).get(t), must(s2.LoadOrg(ctx, "a")).get(t))

	rev = write(t, s2, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, "a", "owner") })
	recvAtLeast(t, "first handle watching the second", ch1, rev)
	wantErr(t, "binding deleted through the second handle", second(s.GetBinding(ctx, "a", "owner")), store.ErrNotFound)

	// Interleaved writers through both handles: one dense sequence.
	start := must(s.CurrentRevision(ctx)).get(t)
	const per = 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[uint64]bool{}
	for h, st := range []store.Store{s, s2} {
		wg.Go(func() {
			for i := range per {
				rev, err := st.Write(ctx, func(tx store.Tx) error {
					_, err := tx.CreateNamespace(ctx, "a", fmt.Sprintf("h%d-%d", h, i))
					return err
				})
				if err != nil {
					t.Errorf("handle %d write %d: %v", h, i, err)
					return
				}
				mu.Lock()
				if seen[rev] {
					t.Errorf("revision %d returned twice", rev)
				}
				seen[rev] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for rev := start + 1; rev <= start+2*per; rev++ {
		if !seen[rev] {
			t.Errorf("revision %d was never returned: revisions are not dense", rev)
		}
	}
	cs1, cs2 := changes(t, s, start), changes(t, s2, start)
	if len(cs1) != 2*per {
		t.Errorf("%d changes after %d, want %d", len(cs1), start, 2*per)
	}
	diff(t, "both handles read the same changelog", cs1, cs2)
}

// testHostileInput: malformed and hostile keys are ErrInvalid on writes and
// ErrNotFound (or empty) on reads, never a backend error or a panic.
func testHostileInput(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	hostile := []string{
		"", "\xff\xfe", "a\x00b", "a'; DROP TABLE orgs; --", "../../etc/passwd", "%", "_", "a\nb",
		strings.Repeat("x", 1<<20), "ａｃｍｅ", "\u202eevil",
	}
	ref := func(x string) authz.ResourceRef { return authz.ResourceRef{Namespace: x, Type: x, ID: x} }
	for _, x := range hostile {
		name := fmt.Sprintf("%.20q", x)
		reads := []error{
			second(s.GetOrg(ctx, x)),
			second(s.GetNamespace(ctx, "a", x)),
			second(s.GetNamespace(ctx, x, "default")),
			second(s.GetUser(ctx, x)),
			second(s.GetMember(ctx, x, x)),
			second(s.GetAgent(ctx, "a", x)),
			second(s.GetService(ctx, "a", x)),
			second(s.GetTeam(ctx, "a", x)),
			second(s.GetBinding(ctx, "a", x)),
			second(s.GetResource(ctx, "a", ref(x))),
			second(s.GetResourceVersion(ctx, "a", ref(x), 1)),
			second(s.GetPolicy(ctx, x)),
			second(s.LoadOrg(ctx, x)),
		}
		for i, err := range reads {
			wantErr(t, fmt.Sprintf("read %d of %s", i, name), err, store.ErrNotFound)
		}
		wantErr(t, "GetUserByEmail "+name, second(s.GetUserByEmail(ctx, x)), store.ErrNotFound)
		for _, err := range []error{
			third(s.ListNamespaces(ctx, x, store.Page{})),
			third(s.ListBindings(ctx, "a", store.BindingFilter{Principal: x, Role: x, Namespace: x}, store.Page{})),
			third(s.ListResources(ctx, "a", store.ResourceFilter{Namespace: x, Type: x}, store.Page{})),
			third(s.ListMemberships(ctx, x, store.Page{})),
		} {
			if err != nil {
				t.Errorf("list with %s: %v", name, err)
			}
		}
		writes := []func(ctx context.Context, tx store.Tx) error{
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateOrg(ctx, store.Org{ID: x})
				return err
			},
			func(ctx context.Context, tx store.Tx) error { _, err := tx.CreateNamespace(ctx, "a", x); return err },
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateUser(ctx, store.User{ID: x})
				return err
			},
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateAgent(ctx, store.Agent{Org: "a", Name: x, Role: "r"})
				return err
			},
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateService(ctx, store.Service{Org: "a", Name: x})
				return err
			},
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateTeam(ctx, store.Team{Org: "a", Slug: x})
				return err
			},
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateBinding(ctx, store.Binding{Org: "a", Binding: authz.Binding{Principal: "user:" + x, Role: "viewer"}})
				return err
			},
			func(ctx context.Context, tx store.Tx) error {
				_, err := tx.CreateResource(ctx, store.Resource{Org: "a", Resource: authz.Resource{Namespace: "default", Type: "t", ID: x}}, "x")
				return err
			},
		}
		validResourceID := map[string]bool{"a'; DROP TABLE orgs; --": true, "%": true, "_": true, "ａｃｍｅ": true}
		for i, w := range writes {
			err := writeErr(t, s, w)
			if i == len(writes)-1 && validResourceID[x] { // printable, no '/': a fine resource id
				if err != nil {
					t.Errorf("resource id %s: %v", name, err)
				}
				continue
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("write %d with %s: %v, want ErrInvalid", i, name, err)
			}
		}
	}
	must(s.GetOrg(ctx, "a")).get(t) // still there
}
