package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// auditLog reads acme's log as (action, target, result, actor) rows.
func auditLog(t *testing.T, st store.Store, org string, after uint64) []audit.Entry {
	t.Helper()
	recs, err := st.ReadAudit(ctxT(t), org, after, store.MaxAuditBatch)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Entry, len(recs))
	for i, r := range recs {
		if out[i], err = audit.FromRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestEveryWriteIsAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The fixture's own writes are all in acme's log, in order.
	var got []string
	for _, e := range auditLog(t, f.st, "acme", 0) {
		got = append(got, e.Action+" "+e.Target+" "+string(e.Result)+" "+e.Actor.Principal)
	}
	want := []string{
		"org.create org/acme success user:alice",
		"member.add member/user:bob success user:alice",
		"member.add member/user:carol success user:alice",
		"member.add member/user:dave success user:alice",
		"member.add member/user:frank success user:alice",
		"namespace.create namespace/prod success user:alice",
		"team.create team/team:support success user:alice",
		"resource.create resource/default/chains/triage success user:carol",
	}
	// Member order follows a map in the fixture; compare as sets there.
	if len(got) != len(want) || got[0] != want[0] || got[5] != want[5] || got[6] != want[6] || got[7] != want[7] {
		t.Errorf("acme's log:\n%s", cmp.Diff(want, got))
	}
	users := auditLog(t, f.st, audit.SystemOrg, 0)
	if len(users) != 6 || users[0].Action != "user.create" || users[0].Target != "user/alice" {
		t.Errorf("deployment log = %+v", users)
	}
	if e := auditLog(t, f.st, "globex", 0); len(e) != 1 || e[0].Actor.Principal != "user:erin" {
		t.Errorf("globex's log = %+v", e)
	}
	head := auditLog(t, f.st, "acme", 0)
	mark := head[len(head)-1].Seq

	// An edit records before and after, the actor's roles and request.
	actor := directory.Actor{Principal: "user:carol", KeyID: "key1", ClientAddr: "10.1.2.3:4444", RequestID: "req-9"}
	spec := json.RawMessage(`{"steps":["a","b"]}`)
	ok(t, "update", second3(f.d.UpdateResource(f.ctx, actor, "acme", triage, directory.ResourceChange{Spec: spec})))
	es := auditLog(t, f.st, "acme", mark)
	if len(es) != 1 {
		t.Fatalf("entries after the update = %d, want 1", len(es))
	}
	e := es[0]
	if e.Action != "resource.update" || e.Target != "resource/default/chains/triage" || e.Result != audit.Success ||
		e.Actor.KeyID != "key1" || e.Actor.ClientAddr != "10.1.2.3:4444" || e.Actor.RequestID != "req-9" ||
		!cmp.Equal(e.Actor.Roles, []string{"builder"}) {
		t.Errorf("update entry = %+v", e)
	}
	var before, after struct {
		Version uint64          `json:"version"`
		Spec    json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(e.Before, &before); err != nil || before.Version != 1 || string(before.Spec) != `{"steps":["a"]}` {
		t.Errorf("before = %s (%v)", e.Before, err)
	}
	if err := json.Unmarshal(e.After, &after); err != nil || after.Version != 2 || string(after.Spec) != `{"steps":["a","b"]}` {
		t.Errorf("after = %s (%v)", e.After, err)
	}
	if e.Time.IsZero() || e.Time.Location() != time.UTC {
		t.Errorf("time = %v", e.Time)
	}

	// A denied attempt is recorded, in its own transaction; the revision
	// does not move.
	rev := f.d.Revision()
	_, _, err := f.d.CreateBinding(f.ctx, directory.Actor{Principal: "user:bob", RequestID: "r2"}, "acme", directory.BindingSpec{Principal: "user:dave", Role: "owner"})
	wantErr(t, "escalation", err, directory.ErrEscalation)
	_, _, err = f.d.CreateBinding(f.ctx, user("carol"), "acme", directory.BindingSpec{Principal: "user:dave", Role: "viewer"})
	wantErr(t, "forbidden", err, directory.ErrForbidden)
	es = auditLog(t, f.st, "acme", mark+1)
	orgTarget := "scope/" + (authz.Scope{}).String()
	if len(es) != 2 || es[0].Result != audit.Denied || es[0].Action != "binding.create" || es[0].Actor.RequestID != "r2" ||
		es[1].Result != audit.Denied || es[1].Message == "" || es[1].Target != orgTarget {
		t.Errorf("denied entries = %+v", es)
	}
	if cur, err := f.st.CurrentRevision(f.ctx); err != nil || cur != rev {
		t.Errorf("revision after denied attempts = %d, %v; want %d", cur, err, rev)
	}
	// A non-member's attempt is not recorded in the org's log (it cannot
	// tell the org exists; the server records authentication failures).
	_, _, err = f.d.CreateBinding(f.ctx, erin, "acme", directory.BindingSpec{Principal: "user:erin", Role: "owner"})
	wantErr(t, "non-member", err, directory.ErrNotFound)
	if n := len(auditLog(t, f.st, "acme", mark+3)); n != 0 {
		t.Errorf("non-member attempt recorded %d entries in acme", n)
	}

	// The log verifies.
	if _, err := audit.Verify(f.ctx, f.st, "acme", audit.VerifyOptions{}); err != nil {
		t.Errorf("verify: %v", err)
	}
}

func second3[A, B, C any](_ A, _ B, c C) C { return c }

// failingRecorder refuses every entry.
type failingRecorder struct{}

var errAuditDown = errors.New("audit log unavailable")

func (failingRecorder) Record(context.Context, store.Tx, audit.Entry) error { return errAuditDown }

func TestAWriteFailsWhenItsAuditEntryCannotBeWritten(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	good := openDir(t, st, directory.Options{})
	mustUsers(t, good, "alice")
	ok(t, "create acme", third(good.CreateOrg(ctxT(t), alice, directory.OrgSpec{ID: "acme"})))
	good.Close()

	d := openDir(t, st, directory.Options{Audit: failingRecorder{}})
	rev := d.Revision()
	_, _, err := d.CreateNamespace(ctxT(t), alice, "acme", "staging")
	if !errors.Is(err, errAuditDown) && !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("CreateNamespace with a failing audit log = %v", err)
	}
	if _, err := st.GetNamespace(ctxT(t), "acme", "staging"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the namespace was kept although its audit entry failed: %v", err)
	}
	if cur, _ := st.CurrentRevision(ctxT(t)); cur != rev {
		t.Errorf("revision moved to %d (from %d)", cur, rev)
	}
}

func TestDecisionsAreRecordedByTheOrgsSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	decisions := func() []string {
		t.Helper()
		var out []string
		for _, e := range auditLog(t, f.st, "acme", 0) {
			if e.Action == audit.DecisionAction {
				out = append(out, e.Actor.Principal+" "+e.Target+" "+string(e.Result))
			}
		}
		return out
	}
	ask := func() {
		t.Helper()
		f.can(dave, triage, "read")  // allowed (viewer)
		f.can(dave, triage, "run")   // denied
		f.can(frank, triage, "run")  // allowed (operator)
		f.can(frank, triage, "read") // allowed
	}
	ask()
	if got := decisions(); len(got) != 0 {
		t.Errorf("decisions recorded with the default (off): %v", got)
	}
	// Only an audit:update holder changes the settings.
	_, err := f.d.SetAuditSettings(f.ctx, bob, "acme", audit.Settings{Decisions: audit.DecisionsAll})
	wantErr(t, "admin sets audit settings", err, directory.ErrForbidden)
	_, err = f.d.SetAuditSettings(f.ctx, alice, "acme", audit.Settings{Decisions: "some"})
	wantErr(t, "bad mode", err, directory.ErrInvalid)

	ok(t, "denies", second(f.d.SetAuditSettings(f.ctx, alice, "acme", audit.Settings{Decisions: audit.DecisionsDenies})))
	ask()
	if got, want := decisions(), []string{"user:dave resource/default/chains/triage denied"}; !cmp.Equal(got, want) {
		t.Errorf("denies only:\n%s", cmp.Diff(want, got))
	}
	ok(t, "all", second(f.d.SetAuditSettings(f.ctx, alice, "acme", audit.Settings{Decisions: audit.DecisionsAll})))
	ask()
	if got := decisions(); len(got) != 5 {
		t.Errorf("all: %v, want the earlier deny and 4 more", got)
	}
	// Sampling drops some allows, never a deny.
	ok(t, "sampled", second(f.d.SetAuditSettings(f.ctx, alice, "acme", audit.Settings{Decisions: audit.DecisionsAll, SampleRate: 0.000001})))
	for i := 0; i < 20; i++ {
		ask()
	}
	denies := 0
	for _, d := range decisions()[5:] {
		if strings.HasSuffix(d, "denied") {
			denies++
		} else {
			t.Errorf("an allow was recorded at sample rate 1e-6 (possible, but 1 in 12,500)")
		}
	}
	if denies != 20 {
		t.Errorf("sampled: %d denies recorded, want all 20", denies)
	}
	s, err := f.d.AuditSettings(f.ctx, dave, "acme")
	if err != nil || s.Decisions != audit.DecisionsAll || s.SampleRate != 0.000001 {
		t.Errorf("settings read by a viewer = %+v, %v", s, err)
	}
	if _, err := audit.Verify(f.ctx, f.st, "acme", audit.VerifyOptions{}); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// TestDecisionSettingsUnderConcurrentChecks: the decision log's settings
// cache is read by every check (under a read lock since issue 19) while
// a settings change invalidates it. Checks running during the change
// race nothing (run with -race), and once the change has returned every
// check follows the new settings.
func TestDecisionSettingsUnderConcurrentChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := f.d.Check(f.ctx, dave, authz.Request{Org: "acme", Principal: dave.Principal, Namespace: triage.Namespace, ResourceType: triage.Type, ResourceID: triage.ID, Action: "run"}, 0); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	ok(t, "denies", second(f.d.SetAuditSettings(f.ctx, alice, "acme", audit.Settings{Decisions: audit.DecisionsDenies})))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("check during the settings change: %v", err)
	}
	before := 0
	for _, e := range auditLog(t, f.st, "acme", 0) {
		if e.Action == audit.DecisionAction {
			before++
		}
	}
	f.can(dave, triage, "run") // denied: recorded under the new settings
	after := 0
	for _, e := range auditLog(t, f.st, "acme", 0) {
		if e.Action == audit.DecisionAction {
			after++
		}
	}
	if after != before+1 {
		t.Errorf("a denial after the change to \"denies\" recorded %d entries, want 1", after-before)
	}
}

// settingsReads counts a store's reads of audit settings.
type settingsReads struct {
	store.Store
	n atomic.Int64
}

func (s *settingsReads) AuditSettings(ctx context.Context, org string) ([]byte, error) {
	s.n.Add(1)
	return s.Store.AuditSettings(ctx, org)
}

// TestAuditSettingsAcrossProcesses: a settings change made through one
// process applies in another as soon as that one has followed to the
// change's revision — a check there asking for at least that revision
// records by the new settings — with no TTL to wait for, and without a
// store read of the settings (the follower hands over what the changelog
// entry carries).
func TestAuditSettingsAcrossProcesses(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			s1, s2 := be.open(t)
			d1 := acmeWithBob(t, s1)
			counted := &settingsReads{Store: s2}
			d2 := openDir(t, counted, directory.Options{CatchUpTimeout: guard})

			run := authz.Request{Org: "acme", Principal: "user:bob", ResourceType: "chains", ResourceID: "triage", Action: "run"}
			check := func(atLeast uint64) {
				t.Helper()
				dec, err := d2.Check(ctx, bob, run, atLeast)
				ok(t, "check in process 2", err)
				if dec.Allowed || dec.Revision < atLeast {
					t.Fatalf("bob (viewer) runs: allowed=%v at revision %d (asked for at least %d), want a deny", dec.Allowed, dec.Revision, atLeast)
				}
			}
			decisions := func() int {
				t.Helper()
				n := 0
				for _, e := range auditLog(t, s1, "acme", 0) {
					if e.Action == audit.DecisionAction {
						n++
					}
				}
				return n
			}
			check(d1.Revision()) // off (the default): process 2 caches that
			reads := counted.n.Load()
			if reads == 0 {
				t.Fatal("process 2's first check read no settings: the test would pass vacuously")
			}
			for _, step := range []struct {
				set      audit.DecisionMode
				recorded int // decisions a deny records under it
			}{
				{audit.DecisionsDenies, 1},
				{audit.DecisionsOff, 0},
				{audit.DecisionsAll, 1},
			} {
				before := decisions()
				rev, err := d1.SetAuditSettings(ctx, alice, "acme", audit.Settings{Decisions: step.set})
				ok(t, "set audit settings through process 1", err)
				check(rev)
				if got := decisions() - before; got != step.recorded {
					t.Errorf("a deny in process 2 at least at the change to %q (revision %d) recorded %d decisions, want %d", step.set, rev, got, step.recorded)
				}
			}
			if n := counted.n.Load() - reads; n != 0 {
				t.Errorf("process 2 read the settings from the store %d times after its first check, want 0 (its follower hands them over)", n)
			}
		})
	}
}

// TestAuditSettingsChangesRecordBeforeAndAfter: switching decision
// logging from "all" to "off" left no before/after in its entry (issue
// 11): nothing showed that decisions had been recorded until then.
func TestAuditSettingsChangesRecordBeforeAndAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name          string
		set           audit.Settings
		before, after string
	}{
		{"default to denies", audit.Settings{Decisions: audit.DecisionsDenies}, `{"decisions":"off"}`, `{"decisions":"denies"}`},
		{"denies to all, sampled", audit.Settings{Decisions: audit.DecisionsAll, SampleRate: 0.5}, `{"decisions":"denies"}`, `{"decisions":"all","sample_rate":0.5}`},
		{"all to off", audit.Settings{Decisions: audit.DecisionsOff}, `{"decisions":"all","sample_rate":0.5}`, `{"decisions":"off"}`},
		{"off to the default (off)", audit.Settings{}, `{"decisions":"off"}`, `{"decisions":"off"}`},
	} {
		last := len(auditLog(t, f.st, "acme", 0))
		ok(t, tc.name, second(f.d.SetAuditSettings(f.ctx, alice, "acme", tc.set)))
		var got []string
		for _, e := range auditLog(t, f.st, "acme", uint64(last)) {
			got = append(got, fmt.Sprintf("%s %s %s before=%s after=%s", e.Action, e.Target, e.Result, e.Before, e.After))
		}
		want := []string{fmt.Sprintf("audit_settings.update audit_settings/acme success before=%s after=%s", tc.before, tc.after)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: entries (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestADecisionFailsWhenItCannotBeRecorded(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	good := openDir(t, st, directory.Options{})
	mustUsers(t, good, "alice")
	ok(t, "create acme", third(good.CreateOrg(ctxT(t), alice, directory.OrgSpec{ID: "acme"})))
	ok(t, "all", second(good.SetAuditSettings(ctxT(t), alice, "acme", audit.Settings{Decisions: audit.DecisionsAll})))
	good.Close()
	d := openDir(t, st, directory.Options{Audit: failingRecorder{}})
	_, err := d.Check(ctxT(t), alice, authz.Request{Org: "acme", Principal: "user:alice", ResourceType: "chains", Action: "read"}, 0)
	wantErr(t, "check with a failing audit log", err, directory.ErrUnavailable)
}

func TestResourceHistoryJoinsVersionsWithTheAuditLog(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i, spec := range []string{`{"steps":["a","b"]}`, `{"steps":["a","b","c"],"owner":"ops"}`} {
		ok(t, fmt.Sprint("update ", i), second3(f.d.UpdateResource(f.ctx, directory.Actor{Principal: "user:carol", RequestID: fmt.Sprint("req-", i)}, "acme", triage,
			directory.ResourceChange{Spec: json.RawMessage(spec)})))
	}
	h, err := f.d.ResourceHistory(f.ctx, alice, "acme", triage)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("history has %d versions, want 3", len(h))
	}
	for i, v := range h {
		if v.Version != uint64(i+1) || v.Author != "user:carol" || v.Audit == nil || v.Audit.Actor.Principal != "user:carol" {
			t.Errorf("version %d = %+v", i+1, v)
		}
	}
	if h[0].Audit.Action != "resource.create" || h[1].Audit.Actor.RequestID != "req-0" || h[2].Audit.Actor.RequestID != "req-1" {
		t.Errorf("audit entries: %q, %q, %q", h[0].Audit.Action, h[1].Audit.Actor.RequestID, h[2].Audit.Actor.RequestID)
	}
	if len(h[0].Diff) != 0 || len(h[2].Diff) != 2 {
		t.Errorf("diffs: %+v / %+v", h[0].Diff, h[2].Diff)
	}
	// Another org's member cannot tell the resource exists.
	_, err = f.d.ResourceHistory(f.ctx, erin, "acme", triage)
	wantErr(t, "non-member", err, directory.ErrNotFound)
}

// An event recorded without a target is about its org: the store refuses
// an entry without a target, and the event must still be recorded.
func TestRecordEventWithoutATargetNamesItsOrg(t *testing.T) {
	t.Parallel()
	st := openSQLite(t)
	d := openDir(t, st, directory.Options{})
	for _, org := range []string{"acme", ""} {
		if err := d.RecordEvent(ctxT(t), audit.Entry{Org: org, Action: "probe", Result: audit.Success}); err != nil {
			t.Fatalf("RecordEvent(%q): %v", org, err)
		}
	}
	for org, want := range map[string]string{"acme": "org/acme", audit.SystemOrg: "org/" + audit.SystemOrg} {
		if es := auditLog(t, st, org, 0); len(es) != 1 || es[0].Target != want {
			t.Errorf("%s's log = %+v, want one entry with target %s", org, es, want)
		}
	}
}

// TestGatedCheckRecordsBySettingsChanges: a check the org gate let in
// reads its org's decision-log settings through the slot the gate's entry
// carries (Gate.settings), not through the settings cache's map. Each
// settings change made in process 1 must reach process 2's gated checks
// at least at its revision — through a gate taken at that revision, and
// through one taken before every change (its entry is of an older
// revision, its slot still the org's). Fails when a write of the settings
// replaces the org's slot instead of writing it (gates then read settings
// nothing updates any more).
func TestGatedCheckRecordsBySettingsChanges(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			s1, s2 := be.open(t)
			d1 := acmeWithBob(t, s1)
			d2 := openDir(t, s2, directory.Options{CatchUpTimeout: guard})
			ok(t, "process 2 catches up", d2.WaitFor(ctx, d1.Revision()))

			gate := func() directory.Gate {
				t.Helper()
				d2.Member("acme", "user:bob") // the first finding is remembered; the second hands the entry
				g, member := d2.Member("acme", "user:bob")
				if !member || g == (directory.Gate{}) {
					t.Fatalf("the gate found nothing for bob in acme (member %v)", member)
				}
				return g
			}
			decisions := func() int {
				t.Helper()
				n := 0
				for _, e := range auditLog(t, s1, "acme", 0) {
					if e.Action == audit.DecisionAction {
						n++
					}
				}
				return n
			}
			run := authz.Request{Org: "acme", Principal: "user:bob", ResourceType: "chains", ResourceID: "triage", Action: "run"}
			check := func(g directory.Gate) {
				t.Helper()
				a := d2.Asker(bob)
				a.Gated(g)
				req := run
				dec, err := a.Check(ctx, &req)
				ok(t, "gated check in process 2", err)
				if dec.Allowed {
					t.Fatalf("bob (viewer) runs: allowed, want a deny")
				}
			}
			early := gate()
			check(early) // off (the default): process 2 caches that
			if got := decisions(); got != 0 {
				t.Fatalf("a deny with decisions off recorded %d decisions", got)
			}
			for _, step := range []struct {
				set      audit.DecisionMode
				recorded int // decisions a deny records under it
			}{
				{audit.DecisionsDenies, 1},
				{audit.DecisionsOff, 0},
				{audit.DecisionsAll, 1},
				{audit.DecisionsOff, 0},
			} {
				rev, err := d1.SetAuditSettings(ctx, alice, "acme", audit.Settings{Decisions: step.set})
				ok(t, "set audit settings through process 1", err)
				ok(t, "process 2 follows", d2.WaitFor(ctx, rev))
				for _, g := range []struct {
					name string
					g    directory.Gate
				}{{"a gate of this revision", gate()}, {"a gate of before every change", early}} {
					before := decisions()
					check(g.g)
					if got := decisions() - before; got != step.recorded {
						t.Errorf("decisions %q (revision %d), %s: a deny recorded %d decisions, want %d", step.set, rev, g.name, got, step.recorded)
					}
				}
			}
		})
	}
}
