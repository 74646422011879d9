package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// settingsStore serves AuditSettings from a map it counts reads of; a
// read may be held (gate) until the test releases it.
type settingsStore struct {
	store.Store // nil: only AuditSettings is called

	mu    sync.Mutex
	raw   map[string]string
	err   error // non-nil: reads fail with it
	reads int
	gate  chan struct{} // non-nil: the next read signals entered, then waits for gate
	enter chan struct{}
}

func (s *settingsStore) AuditSettings(ctx context.Context, org string) ([]byte, error) {
	s.mu.Lock()
	s.reads++
	gate, enter := s.gate, s.enter
	s.gate = nil
	s.mu.Unlock()
	if gate != nil {
		close(enter)
		<-gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if r, ok := s.raw[org]; ok {
		return []byte(r), nil
	}
	return nil, nil
}

func (s *settingsStore) set(org, raw string) {
	s.mu.Lock()
	s.raw[org] = raw
	s.mu.Unlock()
}

func (s *settingsStore) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *settingsStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// hold makes the next read wait; it returns a channel closed when that
// read has begun and the function that lets it finish.
func (s *settingsStore) hold() (entered <-chan struct{}, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate, enter := make(chan struct{}), make(chan struct{})
	s.gate, s.enter = gate, enter
	return enter, func() { close(gate) }
}

// settingsLog is a decision log over a settingsStore with a clock the
// test moves.
func settingsLog(t *testing.T) (*DecisionLog, *settingsStore, *time.Time) {
	t.Helper()
	st := &settingsStore{raw: map[string]string{}}
	d := NewDecisionLog(st, nil, DecisionLogOptions{})
	t.Cleanup(d.Close)
	now := new(time.Time)
	*now = time.Unix(1_000_000, 0)
	d.now = func() time.Time { return *now }                  // moved only between lookups, never during a refresh
	d.jitter = func(time.Duration) time.Duration { return 0 } // refresh ahead from exactly 3/4 TTL
	return d, st, now
}

const (
	settingsAll    = `{"decisions":"all"}`
	settingsDenies = `{"decisions":"denies"}`
)

func mode(t *testing.T, d *DecisionLog, org string) DecisionMode {
	t.Helper()
	s, err := d.settings(context.Background(), org)
	if err != nil {
		t.Fatalf("settings(%s): %v", org, err)
	}
	return s.Decisions
}

// Within the TTL, settings come from the cache; in its last quarter a
// lookup still answers from the cache at once and re-reads them in the
// background (refresh ahead), so the next lookups get the new ones without
// waiting for the store; past the TTL a lookup never uses the cached ones.
func TestSettingsRefreshAhead(t *testing.T) {
	d, st, now := settingsLog(t)
	st.set("acme", settingsDenies)
	type step struct {
		name  string
		at    time.Duration // since the first read
		store string        // set in the store before the lookup ("" leaves it)
		want  DecisionMode
		reads int // store reads so far, after any refresh has landed
	}
	start := *now
	for _, s := range []step{
		{"first lookup reads", 0, "", DecisionsDenies, 1},
		{"cached", time.Second, settingsAll, DecisionsDenies, 1},
		{"refresh window: cached answer, read behind", SettingsTTL - SettingsTTL/4, "", DecisionsDenies, 2},
		{"refreshed without waiting", SettingsTTL - SettingsTTL/8, "", DecisionsAll, 2},
		{"the refresh restarted the TTL", SettingsTTL + SettingsTTL/4, "", DecisionsAll, 2},
		// The refresh read began at TTL×3/4: its window opens at TTL×3/2.
		{"next refresh window", 2*(SettingsTTL-SettingsTTL/4) + SettingsTTL/8, settingsDenies, DecisionsAll, 3},
		{"refreshed again", 2*(SettingsTTL-SettingsTTL/4) + SettingsTTL/5, "", DecisionsDenies, 3},
		{"idle past the TTL: read on the lookup", 10 * SettingsTTL, settingsAll, DecisionsAll, 4},
	} {
		*now = start.Add(s.at)
		if s.store != "" {
			st.set("acme", s.store)
		}
		if got := mode(t, d, "acme"); got != s.want {
			t.Errorf("%s: decisions %q, want %q", s.name, got, s.want)
		}
		d.refreshes.Wait()
		if got := st.count(); got != s.reads {
			t.Errorf("%s: %d store reads, want %d", s.name, got, s.reads)
		}
		if got := d.Stats().SettingsReads; got != int64(s.reads) {
			t.Errorf("%s: Stats counts %d settings reads, want %d", s.name, got, s.reads)
		}
	}
}

// An org's settings are re-read ahead once however many lookups see the
// refresh window while the read is under way, and the cached settings
// answer them all.
func TestSettingsRefreshAheadOnce(t *testing.T) {
	d, st, now := settingsLog(t)
	st.set("acme", settingsDenies)
	start := *now
	mode(t, d, "acme")
	*now = start.Add(SettingsTTL - SettingsTTL/8)
	st.set("acme", settingsAll)
	entered, release := st.hold()
	var wg sync.WaitGroup
	got := make([]DecisionMode, 50)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := d.settings(context.Background(), "acme")
			if err != nil {
				t.Errorf("settings: %v", err)
			}
			got[i] = s.Decisions
		}()
	}
	select {
	case <-entered:
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		release()
		t.Fatal("no refresh ahead began")
	}
	wg.Wait() // every lookup answered while the refresh is held
	release()
	d.refreshes.Wait()
	want := make([]DecisionMode, len(got))
	for i := range want {
		want[i] = DecisionsDenies
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookups during the refresh (-want +got):\n%s", diff)
	}
	if n := st.count(); n != 2 {
		t.Errorf("%d store reads, want 2 (the first, one refresh)", n)
	}
	if m := mode(t, d, "acme"); m != DecisionsAll {
		t.Errorf("after the refresh: %q, want all", m)
	}
}

// readAcross makes acme's settings "denies" and starts a store read of
// them — a refresh ahead of a cached entry (ahead) or a read on the check
// path with nothing cached — then runs during while that read holds the
// old row, lets the read finish and waits for any refresh.
func readAcross(t *testing.T, ahead bool, during func(d *DecisionLog)) (*DecisionLog, *settingsStore) {
	t.Helper()
	d, st, now := settingsLog(t)
	st.set("acme", settingsDenies)
	start := *now
	if !ahead {
		*now = start.Add(10 * SettingsTTL) // nothing cached: the lookup reads
	} else {
		mode(t, d, "acme")
		*now = start.Add(SettingsTTL - SettingsTTL/8)
	}
	entered, release := st.hold()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = d.settings(context.Background(), "acme")
	}()
	<-entered // the read has the old settings' row in hand (served after release)
	during(d)
	release()
	<-done
	d.refreshes.Wait()
	return d, st
}

// A read that began before an Invalidate does not store what it read (it
// may predate the change Invalidate announces): the next lookup reads
// again, for a refresh ahead and for a read on the check path alike.
func TestSettingsReadRacingInvalidate(t *testing.T) {
	for _, ahead := range []bool{true, false} {
		d, st := readAcross(t, ahead, func(d *DecisionLog) { d.Invalidate("acme") })
		st.set("acme", settingsAll)
		if m := mode(t, d, "acme"); m != DecisionsAll {
			t.Errorf("ahead=%v: after Invalidate: %q, want all (a read from before it was kept)", ahead, m)
		}
	}
}

// Changed caches the settings a followed change carries without reading
// the store, and wins over a read that was under way (which may have
// read the row before the change); settings that do not parse, or none,
// are forgotten, so the next lookup reads the store.
func TestSettingsChanged(t *testing.T) {
	type step struct {
		name    string
		changed string // handed to Changed ("-": nil)
		store   string // set in the store before the lookup ("" leaves it)
		want    DecisionMode
		reads   int // store reads so far
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the change is cached, no read", []step{
			{"first lookup reads", "", "", DecisionsDenies, 1},
			{"changed to all", settingsAll, settingsAll, DecisionsAll, 1},
			{"changed back to denies", settingsDenies, settingsDenies, DecisionsDenies, 1},
		}},
		{"nothing cached before", []step{
			{"changed before any lookup", settingsAll, settingsAll, DecisionsAll, 0},
		}},
		{"unparsable: forgotten", []step{
			{"first lookup reads", "", "", DecisionsDenies, 1},
			{"a change that does not parse", `{"decisions":"some"}`, settingsAll, DecisionsAll, 2},
			{"nil", "-", settingsDenies, DecisionsDenies, 3},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, st, _ := settingsLog(t)
			st.set("acme", settingsDenies)
			for _, s := range tc.steps {
				if s.store != "" {
					st.set("acme", s.store)
				}
				switch s.changed {
				case "":
				case "-":
					d.Changed("acme", nil)
				default:
					d.Changed("acme", []byte(s.changed))
				}
				if got := mode(t, d, "acme"); got != s.want {
					t.Errorf("%s: decisions %q, want %q", s.name, got, s.want)
				}
				d.refreshes.Wait()
				if got := st.count(); got != s.reads {
					t.Errorf("%s: %d store reads, want %d", s.name, got, s.reads)
				}
			}
		})
	}

	// A read that began before the change does not overwrite it.
	for _, ahead := range []bool{true, false} {
		d, st := readAcross(t, ahead, func(d *DecisionLog) { d.Changed("acme", []byte(settingsAll)) })
		reads := st.count()
		if m := mode(t, d, "acme"); m != DecisionsAll {
			t.Errorf("ahead=%v: after Changed: %q, want all (the read from before it was kept)", ahead, m)
		}
		if n := st.count(); n != reads {
			t.Errorf("ahead=%v: the lookup after Changed read the store (%d reads, was %d)", ahead, n, reads)
		}
	}
}

// A failed read is cached for settingsErrorTTL, not for the TTL: the
// org's decisions fail closed meanwhile, and a lookup after it reads the
// store again; settings read successfully are then kept for the TTL.
func TestSettingsErrorTTL(t *testing.T) {
	d, st, now := settingsLog(t)
	st.set("acme", settingsDenies)
	st.fail(errors.New("store down"))
	start := *now
	type step struct {
		name    string
		at      time.Duration
		fixed   bool // the store answers again before the lookup
		wantErr bool
		reads   int
	}
	for _, s := range []step{
		{"the read fails", 0, false, true, 1},
		{"the failure is cached", settingsErrorTTL / 2, false, true, 1},
		{"past the error TTL: read again", settingsErrorTTL + time.Millisecond, true, false, 2},
		{"the settings are kept for the TTL", settingsErrorTTL + SettingsTTL/2, false, false, 2},
	} {
		*now = start.Add(s.at)
		if s.fixed {
			st.fail(nil)
		}
		got, err := d.settings(context.Background(), "acme")
		if (err != nil) != s.wantErr {
			t.Errorf("%s: error %v, want error %v", s.name, err, s.wantErr)
		}
		if err == nil && got.Decisions != DecisionsDenies {
			t.Errorf("%s: decisions %q, want denies", s.name, got.Decisions)
		}
		d.refreshes.Wait()
		if n := st.count(); n != s.reads {
			t.Errorf("%s: %d store reads, want %d", s.name, n, s.reads)
		}
	}
}

// Orgs whose settings were read together are not re-read together: each
// entry's refresh ahead starts at a moment drawn in the third quarter of
// the TTL (never before half of it, always by three quarters).
func TestSettingsRefreshSpread(t *testing.T) {
	d, st, now := settingsLog(t)
	d.jitter = rand.N[time.Duration] // the log's own draw
	orgs := make([]string, 100)
	for i := range orgs {
		orgs[i] = fmt.Sprintf("org%d", i)
		st.set(orgs[i], settingsDenies)
	}
	start := *now
	lookAll := func(at time.Duration) int {
		t.Helper()
		*now = start.Add(at)
		before := st.count()
		for _, org := range orgs {
			mode(t, d, org)
		}
		d.refreshes.Wait()
		return st.count() - before
	}
	if n := lookAll(0); n != len(orgs) {
		t.Fatalf("first lookups read %d, want %d", n, len(orgs))
	}
	if n := lookAll(SettingsTTL / 2); n != 0 {
		t.Errorf("at half the TTL, %d orgs were re-read, want none", n)
	}
	// The chance that a fair draw puts all 100 on one side is 2^-99.
	if n := lookAll(SettingsTTL/2 + SettingsTTL/8); n == 0 || n == len(orgs) {
		t.Errorf("at 5/8 of the TTL, %d of %d orgs were re-read: the refreshes are not spread", n, len(orgs))
	}
	if n := st.count(); n > 2*len(orgs) {
		t.Fatalf("%d reads: an org was re-read twice", n)
	}
	lookAll(SettingsTTL - SettingsTTL/4)
	if n := st.count(); n != 2*len(orgs) {
		t.Errorf("by 3/4 of the TTL, %d reads, want %d (every org re-read once)", n, 2*len(orgs))
	}
}

// TestCachedSettingsLayout: what a lookup reads of an org's cached
// settings (WantedBy: expires, ahead, err, the decisions mode) is in the
// first 64 bytes, and the entry is 128 bytes, a size class whose objects
// start at a cache line (docs/benchmarks.md, checkcpu7).
func TestCachedSettingsLayout(t *testing.T) {
	var c cachedSettings
	if got := unsafe.Sizeof(c); got != 128 {
		t.Errorf("cachedSettings is %d bytes, want 128 (adjust its padding)", got)
	}
	hot := []struct {
		name      string
		off, size uintptr
	}{
		{"expires", unsafe.Offsetof(c.expires), unsafe.Sizeof(c.expires)},
		{"ahead", unsafe.Offsetof(c.ahead), unsafe.Sizeof(c.ahead)},
		{"err", unsafe.Offsetof(c.err), unsafe.Sizeof(c.err)},
		{"s.Decisions", unsafe.Offsetof(c.s) + unsafe.Offsetof(c.s.Decisions), unsafe.Sizeof(c.s.Decisions)},
	}
	for _, f := range hot {
		if f.off+f.size > 64 {
			t.Errorf("cachedSettings.%s ends at byte %d, past the first 64", f.name, f.off+f.size)
		}
	}
}
