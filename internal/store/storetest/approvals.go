package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func recID(n int) string { return fmt.Sprintf("%032x", n) }

func newApproval(org string, n int, key string) store.Approval {
	return store.Approval{
		ID: recID(n), Org: org, Key: hexSum(key), Principal: "user:bea", Namespace: "default",
		ResourceType: "chains", ResourceID: "x", Action: "update", SpecVersion: 1, ArgsDigest: hexSum("{}"),
		Status: store.ApprovalPending, Quorum: 2, From: [][]string{{"admin"}}, Rules: []string{"ask before update chains"},
		RequestedBy: "user:bea", RequestedVia: "user:cid", ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond),
	}
}

// testApprovals: approvals are org-scoped records written without a
// revision; state changes are compare-and-set on the status, and of many
// racing consumers of one granted approval exactly one wins.
func testApprovals(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	orgsAB(t, s)
	rev := must(s.CurrentRevision(ctx)).get(t)
	var created store.Approval
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		created, err = tx.CreateApproval(ctx, newApproval("a", 1, "q1"))
		return err
	})
	if got := must(s.CurrentRevision(ctx)).get(t); got != rev {
		t.Errorf("creating an approval moved the revision from %d to %d: approvals are records, not directory state", rev, got)
	}
	if created.CreatedAt.IsZero() {
		t.Errorf("CreatedAt not set")
	}
	got := must(s.GetApproval(ctx, "a", recID(1))).get(t)
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("GetApproval (-created +got):\n%s", diff)
	}
	wantErr(t, "another org's approval", second(s.GetApproval(ctx, "b", recID(1))), store.ErrNotFound)

	// Errors.
	for name, tc := range map[string]struct {
		mut  func(a *store.Approval)
		want error
	}{
		"bad id":            {func(a *store.Approval) { a.ID = "nope" }, store.ErrInvalid},
		"bad key":           {func(a *store.Approval) { a.Key = "abc" }, store.ErrInvalid},
		"bad status":        {func(a *store.Approval) { a.Status = "maybe" }, store.ErrInvalid},
		"quorum 0":          {func(a *store.Approval) { a.Quorum = 0 }, store.ErrInvalid},
		"bad principal":     {func(a *store.Approval) { a.Principal = "bea" }, store.ErrInvalid},
		"bad requested_via": {func(a *store.Approval) { a.RequestedVia = "user:\x1b[2J" }, store.ErrInvalid},
		"no org":            {func(a *store.Approval) { a.Org = "zz" }, store.ErrNotFound},
		"taken id":          {func(a *store.Approval) {}, store.ErrConflict},
	} {
		a := newApproval("a", 1, "q-err")
		tc.mut(&a)
		wantErr(t, name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return second(tx.CreateApproval(ctx, a)) }), tc.want)
	}

	// FindApprovals: pending and granted ones with the key, newest first.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if _, err := tx.CreateApproval(ctx, newApproval("a", 2, "q1")); err != nil {
			return err
		}
		_, err := tx.CreateApproval(ctx, newApproval("a", 3, "q2"))
		return err
	})
	ids := func(as []store.Approval) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{recID(2), recID(1)}, ids(must(s.FindApprovals(ctx, "a", hexSum("q1"))).get(t))); diff != "" {
		t.Errorf("FindApprovals (-want +got):\n%s", diff)
	}
	if got := must(s.FindApprovals(ctx, "b", hexSum("q1"))).get(t); len(got) != 0 {
		t.Errorf("FindApprovals through org b found %d", len(got))
	}

	// Compare-and-set.
	a := got
	a.Status, a.GrantedAt = store.ApprovalGranted, time.Now().UTC().Truncate(time.Microsecond)
	a.Votes = []store.ApprovalVote{{By: "user:ann", Approve: true, Comment: "ok", At: a.GrantedAt}}
	a.Principal = "user:evil"    // identity fields are not changed by an update
	a.RequestedVia = "user:evil" // nor who stood behind the request
	wantErr(t, "update from the wrong status", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return second(tx.UpdateApproval(ctx, a, store.ApprovalGranted))
	}), store.ErrConflict)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return second(tx.UpdateApproval(ctx, a, store.ApprovalPending))
	})
	upd := must(s.GetApproval(ctx, "a", recID(1))).get(t)
	if upd.Status != store.ApprovalGranted || upd.Principal != "user:bea" || upd.RequestedVia != "user:cid" || len(upd.Votes) != 1 {
		t.Errorf("after update: status %q principal %q requested via %q votes %v", upd.Status, upd.Principal, upd.RequestedVia, upd.Votes)
	}
	// A rolled back consume changes nothing.
	boom := errors.New("boom")
	if err := writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		c := upd
		c.Status = store.ApprovalConsumed
		if _, err := tx.UpdateApproval(ctx, c, store.ApprovalGranted); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("rolled back consume: %v, want boom", err)
	}
	if st := must(s.GetApproval(ctx, "a", recID(1))).get(t).Status; st != store.ApprovalGranted {
		t.Errorf("after a rolled back consume the status is %q", st)
	}

	// Racing consumers: exactly one wins.
	const n = 16
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := s.Write(ctx, func(tx store.Tx) error {
				cur, err := tx.GetApproval(ctx, "a", recID(1))
				if err != nil {
					return err
				}
				cur.Status, cur.ConsumedAt, cur.ConsumedBy = store.ApprovalConsumed, tx.Now(), fmt.Sprintf("user:c%d", i)
				_, err = tx.UpdateApproval(ctx, cur, store.ApprovalGranted)
				return err
			})
			results <- err
		})
	}
	wg.Wait()
	close(results)
	wins, conflicts := 0, 0
	for err := range results {
		if err == nil {
			wins++
		} else if errors.Is(err, store.ErrConflict) {
			conflicts++
		} else {
			t.Errorf("consume: %v", err)
		}
	}
	if wins != 1 || conflicts != n-1 {
		t.Errorf("racing consumers: %d wins, %d conflicts; want 1 and %d", wins, conflicts, n-1)
	}
	if got := must(s.FindApprovals(ctx, "a", hexSum("q1"))).get(t); len(got) != 1 || got[0].ID != recID(2) {
		t.Errorf("after consuming 1, FindApprovals = %v, want only %s", ids(got), recID(2))
	}

	// Lists: newest first, filtered, paged, org-scoped.
	all := must3(t, func(ctx context.Context, org string, p store.Page) ([]store.Approval, string, error) {
		return s.ListApprovals(ctx, org, store.ApprovalFilter{}, p)
	}, ctx, "a")
	if diff := cmp.Diff([]string{recID(3), recID(2), recID(1)}, ids(all)); diff != "" {
		t.Errorf("ListApprovals (-want +got):\n%s", diff)
	}
	pending, _ := must2(s.ListApprovals(ctx, "a", store.ApprovalFilter{Status: store.ApprovalPending}, store.Page{Size: 1}))(t)
	if diff := cmp.Diff([]string{recID(3)}, ids(pending)); diff != "" {
		t.Errorf("first page of pending approvals (-want +got):\n%s", diff)
	}
	none, _ := must2(s.ListApprovals(ctx, "a", store.ApprovalFilter{Principal: "user:zed"}, store.Page{}))(t)
	if len(none) != 0 {
		t.Errorf("ListApprovals of user:zed = %v", ids(none))
	}
	if other, _ := must2(s.ListApprovals(ctx, "b", store.ApprovalFilter{}, store.Page{}))(t); len(other) != 0 {
		t.Errorf("org b lists %d approvals", len(other))
	}
}

// testRuns: runs are org-scoped records; finishing is compare-and-set and
// keeps who ran what.
func testRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	orgsAB(t, s)
	run := func(n int, id string) store.Run {
		return store.Run{ID: recID(n), Org: "a", Namespace: "default", ResourceType: "chains", ResourceID: id, SpecVersion: 2,
			Principal: "user:bea", TriggeredBy: "user:bea", InputDigest: hexSum("in"), InputSize: 2, InputSummary: "in",
			Status: store.RunRunning, Secrets: []string{"API_KEY"}}
	}
	var r1 store.Run
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		if r1, err = tx.CreateRun(ctx, run(1, "x")); err != nil {
			return err
		}
		_, err = tx.CreateRun(ctx, run(2, "y"))
		return err
	})
	if r1.StartedAt.IsZero() {
		t.Errorf("StartedAt not set")
	}
	wantErr(t, "taken id", writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return second(tx.CreateRun(ctx, run(1, "x"))) }), store.ErrConflict)
	bad := run(9, "x")
	bad.InputDigest = "x"
	wantErr(t, "bad digest", writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return second(tx.CreateRun(ctx, bad)) }), store.ErrInvalid)
	wantErr(t, "another org's run", second(s.GetRun(ctx, "b", recID(1))), store.ErrNotFound)

	fin := r1
	fin.Status, fin.Error, fin.OutputDigest, fin.OutputSize, fin.OutputSum, fin.DurationMS = store.RunFailed, "exit 3", hexSum("out"), 3, "out", 12
	fin.Principal, fin.Secrets = "user:evil", nil // not changed by an update
	write(t, s, func(ctx context.Context, tx store.Tx) error { return second(tx.UpdateRun(ctx, fin, store.RunRunning)) })
	wantErr(t, "finish twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error { return second(tx.UpdateRun(ctx, fin, store.RunRunning)) }), store.ErrConflict)
	got := must(s.GetRun(ctx, "a", recID(1))).get(t)
	if got.Status != store.RunFailed || got.Principal != "user:bea" || got.OutputSum != "out" || len(got.Secrets) != 1 || !got.StartedAt.Equal(r1.StartedAt) {
		t.Errorf("finished run: %+v", got)
	}
	rs, _ := must2(s.ListRuns(ctx, "a", store.RunFilter{Namespace: "default", Type: "chains", ID: "y"}, store.Page{}))(t)
	if len(rs) != 1 || rs[0].ID != recID(2) {
		t.Errorf("runs of chains/y: %v", rs)
	}
	rs, _ = must2(s.ListRuns(ctx, "a", store.RunFilter{Status: store.RunFailed}, store.Page{}))(t)
	if len(rs) != 1 || rs[0].ID != recID(1) {
		t.Errorf("failed runs: %v", rs)
	}
	if rs, _ = must2(s.ListRuns(ctx, "b", store.RunFilter{}, store.Page{}))(t); len(rs) != 0 {
		t.Errorf("org b lists %d runs", len(rs))
	}
}

// must2 unwraps a list answer.
func must2[T any](v []T, next string, err error) func(t *testing.T) ([]T, string) {
	return func(t *testing.T) ([]T, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, next
	}
}

// orgsAB creates orgs a and b.
func orgsAB(t *testing.T, s store.Store) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, o := range []string{"a", "b"} {
			if _, err := tx.CreateOrg(ctx, store.Org{ID: o}); err != nil {
				return err
			}
		}
		return nil
	})
}

// testApprovalSettings: an org's approval lifetimes are stored with the
// org (migration 00011), read back by GetOrg, ListOrgs and LoadOrg, kept
// by a rename, validated, and are each org's own.
func testApprovalSettings(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	orgsAB(t, s)
	if got := must(s.GetOrg(ctx, "a")).get(t).Approvals; got != (store.ApprovalSettings{}) {
		t.Errorf("a new org's approval settings: %+v, want zero (the server's defaults)", got)
	}
	set := store.ApprovalSettings{PendingTTL: 2 * time.Hour, UseWindow: 5 * time.Minute}
	before := must(s.CurrentRevision(ctx)).get(t)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		o, err := tx.SetOrgApprovalSettings(ctx, "a", set)
		if err == nil && o.Approvals != set {
			t.Errorf("SetOrgApprovalSettings returned %+v", o.Approvals)
		}
		return err
	})
	if n := len(changes(t, s, before)); n != 1 {
		t.Errorf("SetOrgApprovalSettings made %d changelog entries, want 1 (org.put)", n)
	}
	if got := must(s.GetOrg(ctx, "a")).get(t).Approvals; got != set {
		t.Errorf("GetOrg approvals %+v, want %+v", got, set)
	}
	if got := must(s.LoadOrg(ctx, "a")).get(t).Org.Approvals; got != set {
		t.Errorf("LoadOrg approvals %+v, want %+v", got, set)
	}
	if got := must(s.GetOrg(ctx, "b")).get(t).Approvals; got != (store.ApprovalSettings{}) {
		t.Errorf("org b got a's settings: %+v", got)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return second(tx.UpdateOrg(ctx, store.Org{ID: "a", Name: "Renamed"}))
	})
	if got := must(s.GetOrg(ctx, "a")).get(t).Approvals; got != set {
		t.Errorf("a rename changed the approval settings to %+v", got)
	}
	for name, bad := range map[string]store.ApprovalSettings{
		"negative": {PendingTTL: -time.Hour}, "fractional": {UseWindow: 1500 * time.Millisecond},
	} {
		wantErr(t, name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			return second(tx.SetOrgApprovalSettings(ctx, "a", bad))
		}), store.ErrInvalid)
	}
	wantErr(t, "unknown org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		return second(tx.SetOrgApprovalSettings(ctx, "nope", set))
	}), store.ErrNotFound)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return second(tx.SetOrgApprovalSettings(ctx, "a", store.ApprovalSettings{}))
	})
	if got := must(s.GetOrg(ctx, "a")).get(t).Approvals; got != (store.ApprovalSettings{}) {
		t.Errorf("reset to the defaults: %+v", got)
	}
}
