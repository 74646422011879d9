package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testEngineSnapshots: snapshots are stored outside the revision counter
// and the changelog, found by revision and by time, per org (another
// org's are never returned), first writer wins for one revision, and
// deleted below a revision. One org's changelog reads in order, whole
// revisions, only that org's entries; a revision's commit time is the
// created_at of its entries (of the newest revision ≤ it that has any).
func testEngineSnapshots(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	seed(t, s, "a")
	seed(t, s, "b")
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, "a", "owner") })
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteBinding(ctx, "b", "owner") })
	all := changes(t, s, 0)
	top := must(s.CurrentRevision(ctx)).get(t)

	// One org's changelog: every entry of the org, none of another's, in
	// order, whatever the page size.
	for _, org := range []string{"a", "b"} {
		var want []store.Change
		for _, c := range all {
			if c.Org == org {
				want = append(want, c)
			}
		}
		for _, limit := range []int{0, 1, 3, store.MaxChangesLimit} {
			var got []store.Change
			after := uint64(0)
			for {
				cs := must(s.OrgChangesSince(ctx, org, after, limit)).get(t)
				if len(cs) == 0 {
					break
				}
				for i := 1; i < len(cs); i++ {
					if cs[i].Revision == cs[i-1].Revision && cs[i].Seq != cs[i-1].Seq+1 {
						t.Errorf("OrgChangesSince(%s, limit %d): seq %d after %d", org, limit, cs[i].Seq, cs[i-1].Seq)
					}
				}
				got = append(got, cs...)
				after = cs[len(cs)-1].Revision
			}
			diff(t, "OrgChangesSince("+org+")", want, got)
		}
		if cs := must(s.OrgChangesSince(ctx, org, top, 0)).get(t); len(cs) != 0 {
			t.Errorf("OrgChangesSince(%s) after the newest revision: %d entries", org, len(cs))
		}
	}
	if cs := must(s.OrgChangesSince(ctx, "nobody", 0, 0)).get(t); len(cs) != 0 {
		t.Errorf("OrgChangesSince of an unknown org: %d entries", len(cs))
	}
	wantErr(t, "OrgChangesSince with a negative limit", second(s.OrgChangesSince(ctx, "a", 0, -1)), store.ErrInvalid)
	wantErr(t, "OrgChangesSince over the maximum", second(s.OrgChangesSince(ctx, "a", 0, store.MaxChangesLimit+1)), store.ErrInvalid)

	// A revision's time is its entries' created_at.
	for _, c := range all {
		if got := must(s.RevisionTime(ctx, c.Revision)).get(t); !got.Equal(c.CreatedAt) {
			t.Errorf("RevisionTime(%d) = %v, want %v", c.Revision, got, c.CreatedAt)
		}
	}
	last := all[len(all)-1].CreatedAt
	if got := must(s.RevisionTime(ctx, top+1)).get(t); !got.Equal(last) {
		t.Errorf("RevisionTime(%d) past the newest = %v, want the newest's %v", top+1, got, last)
	}
	wantErr(t, "RevisionTime(0)", second(s.RevisionTime(ctx, 0)), store.ErrNotFound)

	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	put := func(org string, rev uint64, at time.Time, data string) {
		t.Helper()
		if err := s.PutEngineSnapshot(ctx, store.EngineSnapshot{Org: org, Revision: rev, CreatedAt: at, Data: []byte(data)}); err != nil {
			t.Fatalf("PutEngineSnapshot(%s, %d): %v", org, rev, err)
		}
	}
	wantErr(t, "a snapshot before any", second(s.EngineSnapshotAt(ctx, "a", 0, time.Time{})), store.ErrNotFound)
	put("a", 10, t0, "a10")
	put("a", 20, t0.Add(time.Hour), "a20")
	put("a", 30, t0.Add(2*time.Hour), "a30")
	put("b", 25, t0.Add(90*time.Minute), "b25")
	put("a", 20, t0.Add(time.Hour), "second writer") // kept as first written
	// Snapshots are not directory state: no revision, no changelog.
	if rev := must(s.CurrentRevision(ctx)).get(t); rev != top {
		t.Errorf("storing snapshots moved the revision from %d to %d", top, rev)
	}
	if cs := changes(t, s, top); len(cs) != 0 {
		t.Errorf("storing snapshots wrote %d changelog entries", len(cs))
	}
	for _, tc := range []struct {
		name string
		org  string
		rev  uint64
		at   time.Time
		want string // "" for ErrNotFound
	}{
		{"newest", "a", 0, time.Time{}, "a30"},
		{"at a snapshot's revision", "a", 20, time.Time{}, "a20"},
		{"between two", "a", 29, time.Time{}, "a20"},
		{"before the first", "a", 9, time.Time{}, ""},
		{"by time, at a snapshot's instant", "a", 0, t0.Add(time.Hour), "a20"},
		{"by time, between two", "a", 0, t0.Add(119 * time.Minute), "a20"},
		{"by time, before the first", "a", 0, t0.Add(-time.Second), ""},
		{"both bounds, the revision binds", "a", 15, t0.Add(3 * time.Hour), "a10"},
		{"both bounds, the time binds", "a", 30, t0.Add(time.Minute), "a10"},
		{"another org's is never returned", "b", 24, time.Time{}, ""},
		{"the other org", "b", 0, time.Time{}, "b25"},
		{"an unknown org", "c", 0, time.Time{}, ""},
		{"a revision past int64", "a", math.MaxUint64, time.Time{}, "a30"},
	} {
		got, err := s.EngineSnapshotAt(ctx, tc.org, tc.rev, tc.at)
		if tc.want == "" {
			wantErr(t, tc.name, err, store.ErrNotFound)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if string(got.Data) != tc.want || got.Org != tc.org {
			t.Errorf("%s: got %s/%d %q, want %q", tc.name, got.Org, got.Revision, got.Data, tc.want)
		}
	}
	got := must(s.EngineSnapshotAt(ctx, "a", 20, time.Time{})).get(t)
	diff(t, "snapshot a/20", store.EngineSnapshot{Org: "a", Revision: 20, CreatedAt: t0.Add(time.Hour), Data: []byte("a20")}, got)

	for _, bad := range []store.EngineSnapshot{
		{Org: "Not A Slug", Revision: 1, CreatedAt: t0, Data: []byte("x")},
		{Org: "a", Revision: 0, CreatedAt: t0, Data: []byte("x")},
		{Org: "a", Revision: math.MaxUint64, CreatedAt: t0, Data: []byte("x")},
		{Org: "a", Revision: 40, Data: []byte("x")},
		{Org: "a", Revision: 40, CreatedAt: t0},
	} {
		wantErr(t, "PutEngineSnapshot of a malformed snapshot", s.PutEngineSnapshot(ctx, bad), store.ErrInvalid)
	}

	if n := must(s.DeleteEngineSnapshots(ctx, "a", 30)).get(t); n != 2 {
		t.Errorf("DeleteEngineSnapshots(a, below 30) deleted %d, want 2", n)
	}
	wantErr(t, "a deleted snapshot", second(s.EngineSnapshotAt(ctx, "a", 29, time.Time{})), store.ErrNotFound)
	if got := must(s.EngineSnapshotAt(ctx, "b", 0, time.Time{})).get(t); string(got.Data) != "b25" {
		t.Errorf("deleting org a's snapshots touched org b's: %q", got.Data)
	}
	if n := must(s.DeleteEngineSnapshots(ctx, "a", math.MaxUint64)).get(t); n != 1 {
		t.Errorf("DeleteEngineSnapshots(a, all) deleted %d, want 1", n)
	}
}
