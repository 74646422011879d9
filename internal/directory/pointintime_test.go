package directory_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestPointInTime: after every write of a history (bindings made and
// removed, a member leaving, a share that expires, a policy edit), the
// live decisions of a set of questions are recorded; rebuilding any past
// revision from the changelog answers each question exactly as the live
// engine did then, by revision and by instant. Points in the future or
// before the org existed are refused.
func TestPointInTime(t *testing.T) {
	f := newFixture(t)
	chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "x"}
	questions := []authz.Request{
		{Org: "acme", Principal: "user:dave", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "run"},
		{Org: "acme", Principal: "user:dave", ResourceType: "chains", ResourceID: "triage", Action: "run"},
		{Org: "acme", Principal: "user:frank", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "read"},
		{Org: "acme", Principal: "user:carol", ResourceType: "chains", ResourceID: "triage", Action: "update"},
	}
	type point struct {
		rev  uint64
		when time.Time
		want []authz.Decision
	}
	var history []point
	record := func() {
		t.Helper()
		p := point{rev: f.d.Revision(), when: time.Now()}
		for _, q := range questions {
			d, err := f.d.Check(f.ctx, alice, q, 0)
			ok(t, "check", err)
			d.Revision = 0
			p.want = append(p.want, d)
		}
		history = append(history, p)
		time.Sleep(2 * time.Millisecond) // distinct instants for at_time
	}
	record()
	b, _, err := f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator", Scope: authz.Scope{Namespace: "prod"}})
	ok(t, "bind dave", err)
	record()
	ok(t, "share triage with dave briefly", third(f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"run"}, directory.Lifetime{For: 500 * time.Millisecond})))
	record()
	time.Sleep(550 * time.Millisecond) // the share expires: no write, yet the answer changes
	record()
	ok(t, "unbind dave", second(f.d.DeleteBinding(f.ctx, alice, "acme", b.ID)))
	record()
	ok(t, "frank leaves", second(f.d.RemoveMember(f.ctx, alice, "acme", "frank")))
	record()
	_ = chain

	for i, p := range history {
		for j, q := range questions {
			byTime, err := f.d.CheckAt(f.ctx, alice, q, directory.At{Time: p.when})
			ok(t, "check at time", err)
			byTime.Revision = 0
			if byTime.Allowed != p.want[j].Allowed || byTime.Reason != p.want[j].Reason {
				t.Errorf("point %d (%s), question %d at_time: %+v, live it was %+v", i, p.when.Format(time.RFC3339Nano), j, byTime, p.want[j])
			}
			if i == 3 {
				continue // the expiry changed the answer without a revision: only the instant says it
			}
			byRev, err := f.d.CheckAt(f.ctx, alice, q, directory.At{Revision: p.rev})
			ok(t, "check at revision", err)
			if byRev.Revision != p.rev {
				t.Errorf("answered at revision %d, want %d", byRev.Revision, p.rev)
			}
			if byRev.Allowed != p.want[j].Allowed {
				t.Errorf("point %d (revision %d), question %d at_revision: %+v, live it was %+v", i, p.rev, j, byRev, p.want[j])
			}
		}
	}
	ex, err := f.d.ExplainAt(f.ctx, alice, questions[0], directory.At{Revision: history[1].rev})
	ok(t, "explain at", err)
	if !ex.Decision.Allowed || len(ex.Grants) == 0 {
		t.Errorf("explain at revision %d: %+v", history[1].rev, ex)
	}
	for _, tc := range []struct {
		name string
		at   directory.At
	}{
		{"a future revision", directory.At{Revision: f.d.Revision() + 10}},
		{"a future instant", directory.At{Time: time.Now().Add(time.Hour)}},
		{"before the org existed", directory.At{Revision: 1}},
		{"both", directory.At{Revision: 1, Time: time.Now()}},
	} {
		wantErr(t, tc.name, second(f.d.CheckAt(f.ctx, alice, questions[0], tc.at)), directory.ErrInvalid)
	}
	// The refusal names the member the caller sent (the API's "field"),
	// not an internal name.
	for _, tc := range []struct {
		at    directory.At
		field string
	}{
		{directory.At{Revision: 1}, "at_revision"},
		{directory.At{Time: history[0].when.Add(-time.Hour)}, "at_time"},
	} {
		var ie *directory.InvalidError
		if _, err := f.d.CheckAt(f.ctx, alice, questions[0], tc.at); !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("before the org existed, %+v: %v, want field %q", tc.at, err, tc.field)
		}
	}
	// Asking about the past needs what asking now needs.
	wantErr(t, "a viewer asks about dave", second(f.d.CheckAt(f.ctx, dave, questions[2], directory.At{Revision: history[1].rev})), directory.ErrForbidden)
}

// TestPointInTimeSnapshots: a history with engine snapshots taken along
// the way (every 2 changes of the org) — bindings, a custom role whose
// permissions change (policy text), a share that expires, an agent whose
// sponsor leaves. Every recorded point, by instant and by revision, is
// answered exactly as the live engine answered then, both from snapshots
// (a directory reading them) and by a full replay of the changelog (a
// directory ignoring them). The points include ones before any snapshot,
// at a snapshot's revision, between two, and after one with a policy
// change in between. Then every snapshot is replaced by garbage: the
// answers stay the same (fallback to replay) and the snapshotter rebuilds
// them.
func TestPointInTimeSnapshots(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	questions := []authz.Request{
		{Org: "acme", Principal: "user:dave", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "run"},
		{Org: "acme", Principal: "user:dave", ResourceType: "chains", ResourceID: "triage", Action: "run"},
		{Org: "acme", Principal: "user:dave", ResourceType: "chains", ResourceID: "triage", Action: "delete"},
		{Org: "acme", Principal: "user:frank", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "read"},
		{Org: "acme", Principal: "agent:Triage", ResourceType: "chains", ResourceID: "triage", Action: "read"},
	}
	type point struct {
		rev         uint64
		when        time.Time
		want        []authz.Decision
		lookups     []string // lookupsAt's answers
		instantOnly bool     // an expiry changed the answer after the revision's commit
	}
	// Lookups: what dave may run and delete (every namespace), who may
	// read and run triage.
	lookupsAt := func(d *directory.Directory, at directory.At) []string {
		t.Helper()
		var out []string
		for _, action := range []string{"run", "delete"} {
			page, err := d.LookupResourcesAt(ctx, alice, authz.LookupResourcesRequest{Org: "acme", Principal: "user:dave", Type: "chains", Action: action}, at)
			ok(t, "lookup resources", err)
			out = append(out, fmt.Sprintf("dave %s: %v", action, page.Resources))
		}
		for _, action := range []string{"read", "run"} {
			subs, _, _, err := d.LookupSubjectsAt(ctx, alice, authz.LookupSubjectsRequest{Org: "acme", Namespace: "default", Type: "chains", ID: "triage", Action: action}, at)
			ok(t, "lookup subjects", err)
			var ids []string
			for _, s := range subs {
				ids = append(ids, s.Principal)
			}
			slices.Sort(ids)
			out = append(out, fmt.Sprintf("%s triage: %v", action, ids))
		}
		return out
	}
	var history []point
	record := func() {
		t.Helper()
		p := point{rev: f.d.Revision(), when: time.Now(), lookups: lookupsAt(f.d, directory.At{})}
		for _, q := range questions {
			d, err := f.d.Check(ctx, alice, q, 0)
			ok(t, "check", err)
			p.want = append(p.want, d)
		}
		history = append(history, p)
		time.Sleep(2 * time.Millisecond) // distinct instants for at_time
	}
	snaps := openDir(t, f.st, directory.Options{SnapshotEvery: -1})
	directory.SetSnapshotEveryForTest(snaps, 2)
	snapshot := func() {
		t.Helper()
		ok(t, "wait", snaps.WaitFor(ctx, f.d.Revision()))
		ok(t, "snapshot", second(directory.SnapshotOrgForTest(ctx, snaps, "acme")))
	}

	record() // before any snapshot: the fixture's setup
	snapshot()
	b, _, err := f.d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator", Scope: authz.Scope{Namespace: "prod"}})
	ok(t, "bind dave", err)
	record()
	ok(t, "create role", second(f.d.CreateRole(ctx, alice, "acme", directory.RoleSpec{Name: "triager", Level: 20, Permissions: []string{"chains:read", "chains:delete"}})))
	record()
	ok(t, "bind dave triager", third(f.d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "triager"})))
	record()
	snapshot()
	ok(t, "share triage with dave briefly", third(f.d.ShareFor(ctx, alice, "acme", triage, "user:dave", []string{"run"}, directory.Lifetime{For: 500 * time.Millisecond})))
	record()
	ok(t, "agent sponsored by frank", third(f.d.CreateAgent(ctx, alice, "acme", directory.AgentSpec{Name: "Triage", Role: "viewer", Sponsor: "frank"})))
	record()
	time.Sleep(550 * time.Millisecond) // the share expires: no write, yet the answer changes
	record()
	history[len(history)-1].instantOnly = true
	snapshot() // the next one is after the policy change
	policyRev := func() uint64 {
		rev, err := f.d.UpdateRole(ctx, alice, "acme", directory.RoleSpec{Name: "triager", Level: 20, Permissions: []string{"chains:read"}})
		ok(t, "triager loses delete", err)
		return rev
	}()
	record()
	ok(t, "unbind dave", second(f.d.DeleteBinding(ctx, alice, "acme", b.ID)))
	record()
	ok(t, "frank leaves: the agent's sponsor is gone", second(f.d.RemoveMember(ctx, alice, "acme", "frank")))
	record()
	directory.SetSnapshotEveryForTest(snaps, 3) // so that no snapshot lands on the policy change
	snapshot()
	record()
	// Snapshots started after the first point (as after an upgrade).
	ok(t, "drop the early snapshots", second(f.st.DeleteEngineSnapshots(ctx, "acme", history[0].rev+1)))

	// The history must exercise what it claims to.
	var before, at, between, acrossPolicy bool
	used := map[uint64]bool{}
	for _, p := range history {
		s, err := f.st.EngineSnapshotAt(ctx, "acme", p.rev, time.Time{})
		switch {
		case errors.Is(err, store.ErrNotFound):
			before = true
		case err != nil:
			t.Fatal(err)
		case s.Revision == p.rev:
			at = true
		default:
			between = true
			acrossPolicy = acrossPolicy || s.Revision < policyRev && policyRev <= p.rev
		}
		if err == nil {
			used[s.Revision] = true
		}
	}
	if !before || !at || !between || !acrossPolicy || len(used) < 3 {
		t.Fatalf("the history does not cover the snapshot cases: before %v, at %v, between %v, across the policy change %v, snapshots used %d",
			before, at, between, acrossPolicy, len(used))
	}
	lookupAnswers := map[string]bool{}
	for _, p := range history {
		lookupAnswers[strings.Join(p.lookups, "; ")] = true
	}
	if len(lookupAnswers) < 4 {
		t.Fatalf("the lookups change only %d times over the history", len(lookupAnswers))
	}
	for _, want := range []string{"", "expired", "sponsor_gone"} {
		found := false
		for _, p := range history {
			for _, d := range p.want {
				found = found || !d.Allowed && string(d.Reason) == want || want == "" && d.Allowed
			}
		}
		if !found {
			t.Fatalf("no recorded answer is %q", want)
		}
	}

	replay := openDir(t, f.st, directory.Options{SnapshotEvery: -1})
	directory.ReplayOnlyForTest(replay)
	check := func(name string, d *directory.Directory) {
		t.Helper()
		ok(t, "wait", d.WaitFor(ctx, f.d.Revision()))
		for i, p := range history {
			for j, q := range questions {
				for _, at := range []directory.At{{Time: p.when}, {Revision: p.rev}} {
					if at.Revision > 0 && p.instantOnly {
						continue // the expiry changed the answer without a revision: only the instant says it
					}
					got, err := d.CheckAt(ctx, alice, q, at)
					ok(t, name+": check at", err)
					if got.Allowed != p.want[j].Allowed || got.Reason != p.want[j].Reason {
						t.Errorf("%s: point %d (revision %d, %s), question %d, %+v: %v %q, live it was %v %q",
							name, i, p.rev, p.when.Format(time.RFC3339Nano), j, at, got.Allowed, got.Reason, p.want[j].Allowed, p.want[j].Reason)
					}
					if at.Revision > 0 && got.Revision != p.rev {
						t.Errorf("%s: answered at revision %d, want %d", name, got.Revision, p.rev)
					}
				}
			}
			for _, at := range []directory.At{{Time: p.when}, {Revision: p.rev}} {
				if at.Revision > 0 && p.instantOnly {
					continue
				}
				if diff := cmp.Diff(p.lookups, lookupsAt(d, at)); diff != "" {
					t.Errorf("%s: point %d (revision %d), lookups at %+v (-live then +rebuilt):\n%s", name, i, p.rev, at, diff)
				}
			}
		}
	}
	check("from snapshots", snaps)
	check("from snapshots, cached", snaps)
	check("full replay", replay)
	if n := directory.UnusableSnapshotsForTest(snaps); n != 0 {
		t.Errorf("%d snapshots did not decode", n)
	}

	// Every snapshot replaced by garbage at the same revisions: a fresh
	// directory (no cache) answers the same by replaying, and counts them.
	revs := map[uint64]time.Time{}
	for rev := range used {
		s, err := f.st.EngineSnapshotAt(ctx, "acme", rev, time.Time{})
		ok(t, "snapshot", err)
		revs[rev] = s.CreatedAt
	}
	ok(t, "delete snapshots", second(f.st.DeleteEngineSnapshots(ctx, "acme", math.MaxUint64)))
	for rev, when := range revs {
		ok(t, "put garbage", f.st.PutEngineSnapshot(ctx, store.EngineSnapshot{Org: "acme", Revision: rev, CreatedAt: when, Data: []byte("GHES\x01 not a snapshot")}))
	}
	damaged := openDir(t, f.st, directory.Options{SnapshotEvery: -1})
	directory.SetSnapshotEveryForTest(damaged, 2)
	check("damaged snapshots", damaged)
	if directory.UnusableSnapshotsForTest(damaged) == 0 {
		t.Error("the damaged snapshots were not noticed")
	}
	// The snapshotter replaces them.
	n, err := directory.SnapshotOrgForTest(ctx, damaged, "acme")
	ok(t, "rebuild snapshots", err)
	if n == 0 {
		t.Error("the snapshotter stored nothing after finding a damaged snapshot")
	}
	rebuilt := openDir(t, f.st, directory.Options{SnapshotEvery: -1})
	check("rebuilt snapshots", rebuilt)
	if n := directory.UnusableSnapshotsForTest(rebuilt); n != 0 {
		t.Errorf("%d rebuilt snapshots did not decode", n)
	}
}

// TestSnapshotterInBackground: with SnapshotEvery set, the directory
// stores snapshots on its own — woken by a point-in-time read that had to
// replay that many changes, and by its orgs' changes — and answers from
// them as the live engine does.
func TestSnapshotterInBackground(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	waitSnapshot := func(what string, after uint64) store.EngineSnapshot {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing
		for {
			s, err := f.st.EngineSnapshotAt(ctx, "acme", 0, time.Time{})
			if err == nil && s.Revision > after {
				return s
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no snapshot after revision %d was stored", what, after)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	bg := openDir(t, f.st, directory.Options{SnapshotEvery: 2})
	q := authz.Request{Org: "acme", Principal: "user:dave", Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "run"}
	before, err := f.d.Check(ctx, alice, q, 0)
	ok(t, "check", err)
	// A read that replays the whole history wakes the snapshotter.
	got, err := bg.CheckAt(ctx, alice, q, directory.At{Revision: f.rev})
	ok(t, "check at", err)
	if got.Allowed != before.Allowed {
		t.Fatalf("at revision %d: %v, live %v", f.rev, got.Allowed, before.Allowed)
	}
	waitSnapshot("after a long replay", 0)
	// Changes wake it too (written through another directory; bg
	// follows them). dave's binding comes first: every snapshot after
	// base holds it.
	base := f.d.Revision()
	for _, u := range []string{"user:dave", "user:frank", "user:carol"} {
		ok(t, "bind "+u, third(f.d.CreateBinding(ctx, alice, "acme", directory.BindingSpec{Principal: u, Role: "operator", Scope: authz.Scope{Namespace: "prod"}})))
	}
	after, err := f.d.Check(ctx, alice, q, 0)
	ok(t, "check", err)
	if after.Allowed == before.Allowed {
		t.Fatal("the bindings changed nothing: the test shows nothing")
	}
	ok(t, "wait", bg.WaitFor(ctx, f.d.Revision()))
	next := waitSnapshot("after changes", base)
	for _, tc := range []struct {
		rev  uint64
		want bool
	}{{f.rev, before.Allowed}, {next.Revision, after.Allowed}} {
		got, err := bg.CheckAt(ctx, alice, q, directory.At{Revision: tc.rev})
		ok(t, "check at", err)
		if got.Allowed != tc.want {
			t.Errorf("at revision %d: %v, want %v", tc.rev, got.Allowed, tc.want)
		}
	}
}
