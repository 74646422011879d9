package authz

import (
	"strings"
	"testing"
	"time"
)

var lifeT = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// newLifecycleFixture: agents and a service under lifecycles, each
// exercising one rule; every one holds operator org-wide.
func newLifecycleFixture(t testing.TB) *Engine {
	t.Helper()
	return newLifecycleFixtureWith(t, LifecycleSettings{InactiveAfter: 30 * 24 * time.Hour, AttestEvery: 90 * 24 * time.Hour})
}

// newLifecycleFixtureWith is newLifecycleFixture in an org with settings s.
func newLifecycleFixtureWith(t testing.TB, s LifecycleSettings) *Engine {
	t.Helper()
	m := mustPolicy(t, testPolicy)
	fresh := func(sponsors ...string) *Lifecycle {
		return &Lifecycle{Sponsors: sponsors, RequireSponsor: true, AttestedAt: lifeT, LastUsedAt: lifeT}
	}
	d := OrgData{
		Org: "acme", Policy: m, Namespaces: []string{"prod"},
		Lifecycle: s,
		Principals: []Principal{
			{ID: "user:alice"},
			{ID: "agent:Ok", Role: "operator", Lifecycle: fresh("user:alice")},
			{ID: "agent:ByTeam", Role: "operator", Lifecycle: fresh("team:support")},
			{ID: "agent:Orphan", Role: "operator", Lifecycle: fresh("user:gone")},
			{ID: "agent:EmptyTeam", Role: "operator", Lifecycle: fresh("team:empty")},
			{ID: "agent:Paused", Role: "operator", Lifecycle: &Lifecycle{Sponsors: []string{"user:alice"}, RequireSponsor: true, Suspended: true, AttestedAt: lifeT, LastUsedAt: lifeT}},
			{ID: "service:ci", Lifecycle: &Lifecycle{AttestedAt: lifeT, LastUsedAt: lifeT}}, // sponsor optional
			// Sponsored, but outside the org's inactivity and attestation rules.
			{ID: "service:web", Lifecycle: &Lifecycle{Sponsors: []string{"user:alice"}, RequireSponsor: true, NoOrgRules: true}},
			{ID: "service:orphan", Lifecycle: &Lifecycle{Sponsors: []string{"user:gone"}, RequireSponsor: true, NoOrgRules: true}},
		},
		Teams: []Team{{Slug: "support", Members: []string{"user:alice"}}, {Slug: "empty"}},
	}
	for _, p := range d.Principals {
		d.Bindings = append(d.Bindings, roleB("b-"+p.ID, p.ID, "operator", orgScope()))
	}
	e := New()
	if err := e.LoadOrg(1, d); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLifecycleSuspends(t *testing.T) {
	e := newLifecycleFixture(t)
	day := 24 * time.Hour
	tests := []struct {
		principal string
		now       time.Time
		want      Reason // "" allowed
	}{
		{"agent:Ok", lifeT.Add(day), ""},
		{"agent:ByTeam", lifeT.Add(day), ""},
		{"service:ci", lifeT.Add(day), ""},
		{"agent:Orphan", lifeT.Add(day), ReasonSponsorGone},
		{"agent:EmptyTeam", lifeT.Add(day), ReasonSponsorGone},
		{"agent:Paused", lifeT.Add(day), ReasonSuspended},
		{"agent:Ok", lifeT.Add(30*day - time.Second), ""},
		{"agent:Ok", lifeT.Add(30 * day), ReasonInactive},
		{"service:ci", lifeT.Add(31 * day), ReasonInactive},
		{"service:web", lifeT.Add(365 * day), ""},
		{"service:orphan", lifeT.Add(day), ReasonSponsorGone},
	}
	for _, tt := range tests {
		req := mkReq(tt.principal, "chains:run", "prod/chains/x", at(tt.now))
		d := e.CheckWithReason(&req)
		if d.Allowed != (tt.want == "") || d.Reason != tt.want {
			t.Errorf("%s at %s: allowed=%v reason=%q, want reason %q", tt.principal, tt.now, d.Allowed, d.Reason, tt.want)
		}
		if ex := e.Explain(&req); ex.Decision.Allowed != d.Allowed || (tt.want != "" && !strings.Contains(ex.Summary, string(tt.want))) {
			t.Errorf("%s: explain %q does not say %q", tt.principal, ex.Summary, tt.want)
		}
	}
	// Attestation: used recently, but not attested for 90 days.
	if err := e.Apply(2, Change{Org: "acme", Op: OpPutPrincipal, Principal: Principal{ID: "agent:Ok", Role: "operator",
		Lifecycle: &Lifecycle{Sponsors: []string{"user:alice"}, RequireSponsor: true, AttestedAt: lifeT, LastUsedAt: lifeT.Add(89 * day)}}}); err != nil {
		t.Fatal(err)
	}
	req := mkReq("agent:Ok", "chains:run", "prod/chains/x", at(lifeT.Add(90*day)))
	if d := e.CheckWithReason(&req); d.Allowed || d.Reason != ReasonAttestationDue {
		t.Errorf("unattested for 90 days: %+v, want attestation_due", d)
	}
	// The settings switch the rules off, and the sponsor leaving suspends.
	if err := e.Apply(3, Change{Org: "acme", Op: OpSetLifecycle, Lifecycle: &LifecycleSettings{}},
		Change{Org: "acme", Op: OpDeletePrincipal, ID: "user:alice"}); err != nil {
		t.Fatal(err)
	}
	if d := e.CheckWithReason(&req); d.Reason != ReasonSponsorGone {
		t.Errorf("after alice left: %+v, want sponsor_gone", d)
	}
	// Suspended principals hold no level and may not act as admins.
	if got := e.HighestLevel("acme", "agent:Ok", orgScope()); got != -1 {
		t.Errorf("HighestLevel of a suspended agent = %d, want -1", got)
	}
	if _, err := e.LookupResources(LookupResourcesRequest{Org: "acme", Principal: "agent:Orphan", Type: "chains", Action: "run", Now: lifeT}); err != nil {
		t.Errorf("lookup for a suspended agent: %v, want an empty page", err)
	}
}

func TestLifecycleSettingsRefusesNegative(t *testing.T) {
	e := newLifecycleFixture(t)
	for _, c := range []Change{
		{Org: "acme", Op: OpSetLifecycle},
		{Org: "acme", Op: OpSetLifecycle, Lifecycle: &LifecycleSettings{InactiveAfter: -1}},
	} {
		if err := e.Apply(2, c); err == nil {
			t.Errorf("Apply(%+v) accepted", c)
		}
	}
}

// TestLifecycleCheckAllocatesNothing: deciding for a principal under a
// lifecycle (sponsors looked up, times compared) allocates nothing.
func TestLifecycleCheckAllocatesNothing(t *testing.T) {
	e := newLifecycleFixture(t)
	for _, p := range []string{"agent:Ok", "agent:ByTeam", "agent:Orphan", "service:ci"} {
		req := mkReq(p, "chains:run", "prod/chains/x", at(lifeT.Add(time.Hour)))
		if n := testing.AllocsPerRun(100, func() { e.Check(&req) }); n != 0 {
			t.Errorf("%s: %v allocs per Check, want 0", p, n)
		}
	}
}

// TestStanding: what credentials ask at each use — membership, expiry,
// suspension — for members with and without a lifecycle.
func TestStanding(t *testing.T) {
	e := newLifecycleFixture(t)
	day := 24 * time.Hour
	tests := []struct {
		org, principal string
		now            time.Time
		member         bool
		want           Reason
	}{
		{"acme", "user:alice", lifeT.Add(day), true, ""},
		{"acme", "agent:Ok", lifeT.Add(day), true, ""},
		{"acme", "agent:Paused", lifeT.Add(day), true, ReasonSuspended},
		{"acme", "agent:Orphan", lifeT.Add(day), true, ReasonSponsorGone},
		{"acme", "agent:Ok", lifeT.Add(30 * day), true, ReasonInactive},
		{"acme", "agent:Nobody", lifeT, false, ""},
		{"other", "agent:Ok", lifeT, false, ""},
		{"acme", "team:support", lifeT, false, ""},
	}
	for _, tt := range tests {
		member, r := e.Standing(tt.org, tt.principal, tt.now)
		if member != tt.member || r != tt.want {
			t.Errorf("Standing(%s, %s, %s) = %v, %q; want %v, %q", tt.org, tt.principal, tt.now, member, r, tt.member, tt.want)
		}
	}
	exp := New()
	if err := exp.LoadOrg(1, OrgData{Org: "acme", Policy: mustPolicy(t, testPolicy),
		Principals: []Principal{{ID: "agent:Temp", Role: "operator", ExpiresAt: lifeT}}}); err != nil {
		t.Fatal(err)
	}
	if member, r := exp.Standing("acme", "agent:Temp", lifeT.Add(-time.Second)); !member || r != "" {
		t.Errorf("before expiry: %v %q", member, r)
	}
	if member, r := exp.Standing("acme", "agent:Temp", lifeT); !member || r != ReasonExpired {
		t.Errorf("at expiry: %v %q, want expired", member, r)
	}
}

// TestClockSuspends: only a principal under a lifecycle, in an org whose
// rules read the clock, and not exempt from them, can be suspended by the
// clock alone.
func TestClockSuspends(t *testing.T) {
	timed := newLifecycleFixture(t)
	timeless := newLifecycleFixtureWith(t, LifecycleSettings{})
	tests := []struct {
		e         *Engine
		org, name string
		want      bool
	}{
		{timed, "acme", "agent:Ok", true},
		{timed, "acme", "service:ci", true},
		{timed, "acme", "service:web", false}, // NoOrgRules
		{timed, "acme", "user:alice", false},  // no lifecycle
		{timed, "acme", "user:nobody", false},
		{timed, "other", "agent:Ok", false},
		{timeless, "acme", "agent:Ok", false},
	}
	for _, tt := range tests {
		if got := tt.e.ClockSuspends(tt.org, tt.name); got != tt.want {
			t.Errorf("ClockSuspends(%s, %s) = %v, want %v", tt.org, tt.name, got, tt.want)
		}
	}
}

// TestNextClockChange: the instants at which the org's clock-based rules
// suspend a principal under them — last use + InactiveAfter, then last
// attestation + AttestEvery — and none for a principal outside them;
// the principal's standing flips exactly there, not a nanosecond before.
func TestNextClockChange(t *testing.T) {
	timed := newLifecycleFixture(t)
	timeless := newLifecycleFixtureWith(t, LifecycleSettings{})
	day := 24 * time.Hour
	tests := []struct {
		name      string
		e         *Engine
		org, p    string
		after     time.Time
		want      time.Time
		wantAfter Reason // Standing's reason at want (when want is set)
	}{
		{"inactive first", timed, "acme", "agent:Ok", lifeT, lifeT.Add(30 * day), ReasonInactive},
		{"then attestation due", timed, "acme", "agent:Ok", lifeT.Add(30 * day), lifeT.Add(90 * day), ReasonInactive},
		{"nothing after both", timed, "acme", "agent:Ok", lifeT.Add(90 * day), time.Time{}, ""},
		{"an opted-in service", timed, "acme", "service:ci", lifeT, lifeT.Add(30 * day), ReasonInactive},
		{"a service outside the rules", timed, "acme", "service:web", lifeT, time.Time{}, ""},
		{"no lifecycle", timed, "acme", "user:alice", lifeT, time.Time{}, ""},
		{"not a member", timed, "acme", "user:nobody", lifeT, time.Time{}, ""},
		{"no such org", timed, "other", "agent:Ok", lifeT, time.Time{}, ""},
		{"rules off", timeless, "acme", "agent:Ok", lifeT, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.e.NextClockChange(tt.org, tt.p, tt.after)
			if !got.Equal(tt.want) {
				t.Fatalf("NextClockChange(%s, %s, %s) = %s, want %s", tt.org, tt.p, tt.after, got, tt.want)
			}
			if got.IsZero() {
				return
			}
			if _, r := tt.e.Standing(tt.org, tt.p, got.Add(-time.Nanosecond)); r != "" && tt.after.Before(lifeT.Add(30*day)) {
				t.Errorf("a nanosecond before %s: %q, want standing", got, r)
			}
			if _, r := tt.e.Standing(tt.org, tt.p, got); r != tt.wantAfter {
				t.Errorf("at %s: %q, want %q", got, r, tt.wantAfter)
			}
			if x := tt.e.NextExpiry(tt.org, tt.p, tt.after); !x.IsZero() {
				t.Errorf("NextExpiry = %s: the fixture's grants do not expire", x)
			}
		})
	}
}
