package directory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// checkAt asks whether p may do type:action on ref at instant now.
func (f *fixture) checkAt(p directory.Actor, ref authz.ResourceRef, action string, now time.Time) bool {
	f.t.Helper()
	dec, err := f.d.Check(f.ctx, p, authz.Request{Org: "acme", Principal: p.Principal, Namespace: ref.Namespace,
		ResourceType: ref.Type, ResourceID: ref.ID, Action: action, Now: now}, 0)
	if err != nil {
		f.t.Fatalf("Check: %v", err)
	}
	return dec.Allowed
}

// TestTemporaryGrants: "give dave run on chains/triage for the next 30
// minutes" — a binding or share created For a duration (or until an
// instant) grants until then, by the write's clock, and nothing after.
func TestTemporaryGrants(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	b, _, err := f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"run"}, directory.Lifetime{For: 30 * time.Minute})
	ok(t, "share for 30m", err)
	if d := b.ExpiresAt.Sub(start); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("share expires %v after the call, want about 30m", d)
	}
	if !f.checkAt(dave, triage, "run", b.ExpiresAt.Add(-time.Second)) {
		t.Error("dave cannot run triage before the share expires")
	}
	if f.checkAt(dave, triage, "run", b.ExpiresAt) {
		t.Error("dave can run triage once the share has expired")
	}

	until := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	rb, _, err := f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator",
		Scope: authz.Scope{Namespace: "prod"}, Lifetime: directory.Lifetime{ExpiresAt: until}})
	ok(t, "bind until", err)
	if !rb.ExpiresAt.Equal(until) {
		t.Errorf("binding expires at %v, want %v", rb.ExpiresAt, until)
	}
	chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "x"}
	if !f.checkAt(dave, chain, "run", until.Add(-time.Minute)) || f.checkAt(dave, chain, "run", until) {
		t.Error("the operator binding in prod does not hold exactly until its expiry")
	}
	// The same grant with another lifetime is another binding (a renewal),
	// the same lifetime again a conflict.
	ok(t, "renew", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator",
		Scope: authz.Scope{Namespace: "prod"}, Lifetime: directory.Lifetime{ExpiresAt: until.Add(time.Hour)}})))
	wantErr(t, "same lifetime again", third(f.d.CreateBinding(f.ctx, alice, "acme", directory.BindingSpec{Principal: "user:dave", Role: "operator",
		Scope: authz.Scope{Namespace: "prod"}, Lifetime: directory.Lifetime{ExpiresAt: until}})), directory.ErrConflict)
}

func TestTemporaryGrantsBadLifetimes(t *testing.T) {
	f := newFixture(t)
	spec := func(l directory.Lifetime) directory.BindingSpec {
		return directory.BindingSpec{Principal: "user:dave", Role: "viewer", Lifetime: l}
	}
	for _, tc := range []struct {
		name  string
		l     directory.Lifetime
		field string
	}{
		{"in the past", directory.Lifetime{ExpiresAt: time.Now().Add(-time.Minute)}, "expires_at"},
		{"both", directory.Lifetime{ExpiresAt: time.Now().Add(time.Hour), For: time.Hour}, "expires_at"},
		{"negative", directory.Lifetime{For: -time.Hour}, "expires_in"},
		{"a century", directory.Lifetime{For: 100 * 365 * 24 * time.Hour}, "expires_in"},
	} {
		err := third(f.d.CreateBinding(f.ctx, alice, "acme", spec(tc.l)))
		wantErr(t, tc.name, err, directory.ErrInvalid)
		if ie, isInvalid := errors.AsType[*directory.InvalidError](err); !isInvalid || ie.Field != tc.field {
			t.Errorf("%s: error %v, want one about field %q", tc.name, err, tc.field)
		}
		wantErr(t, tc.name+" (share)", third(f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"run"}, tc.l)), directory.ErrInvalid)
	}
}

// TestPurgeExpiredBindings: the purge removes only what has expired by the
// store's clock (never a grant still in force, whatever cut-off it is
// given), only in its org, and says so in the audit log.
func TestPurgeExpiredBindings(t *testing.T) {
	f := newFixture(t)
	short, _, err := f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"run"}, directory.Lifetime{For: time.Millisecond})
	ok(t, "share for 1ms", err)
	long, _, err := f.d.ShareFor(f.ctx, alice, "acme", triage, "user:dave", []string{"read"}, directory.Lifetime{For: time.Hour})
	ok(t, "share for 1h", err)
	time.Sleep(5 * time.Millisecond) // let the short one expire by the store's clock
	n, _, err := f.d.PurgeExpiredBindings(f.ctx, "acme", time.Now().Add(24*time.Hour), 100)
	ok(t, "purge", err)
	if n != 1 {
		t.Errorf("purged %d bindings, want 1", n)
	}
	wantErr(t, "the expired share", second(f.st.GetBinding(f.ctx, "acme", short.ID)), store.ErrNotFound)
	ok(t, "the share in force", second(f.st.GetBinding(f.ctx, "acme", long.ID)))
	es, _, err := f.st.ListAudit(f.ctx, "acme", store.AuditFilter{Action: "expired_bindings.purge", Actor: directory.SystemActor}, store.Page{})
	ok(t, "audit", err)
	if len(es) != 1 || es[0].Target != "binding/"+short.ID {
		t.Errorf("no audit entry by %s for the purge of binding/%s", directory.SystemActor, short.ID)
	}
	// The sweep over every org finds the next one.
	gone, _, err := f.d.ShareFor(f.ctx, alice, "acme", triage, "user:frank", []string{"run"}, directory.Lifetime{For: time.Millisecond})
	ok(t, "share for 1ms", err)
	time.Sleep(5 * time.Millisecond)
	if n, err := f.d.PurgeExpired(f.ctx, 10); err != nil || n != 1 {
		t.Errorf("PurgeExpired = %d, %v; want 1", n, err)
	}
	wantErr(t, "the swept share", second(f.st.GetBinding(f.ctx, "acme", gone.ID)), store.ErrNotFound)
	wantErr(t, "purge of an unknown org", third(f.d.PurgeExpiredBindings(f.ctx, "Bad Org", time.Now(), 10)), directory.ErrNotFound)
}

// TestSponsorGone: when an agent's last sponsor leaves, every decision
// for it is denied with sponsor_gone — and it stays so if the sponsor
// comes back — until an admin assigns a new sponsor; only a sponsor
// (directly or through a team) may attest it; the org's rules suspend an
// unused or unattested agent at decision time, and attesting lifts that.
func TestSponsorGone(t *testing.T) {
	f := newFixture(t)
	chain := authz.ResourceRef{Namespace: "prod", Type: "chains", ID: "x"}
	ag, _, err := f.d.CreateAgent(f.ctx, alice, "acme", directory.AgentSpec{Name: "Triage", Role: "operator", Namespace: "prod", Sponsor: "frank"})
	ok(t, "create agent", err)
	if diff := cmp.Diff([]string{"user:frank"}, ag.Sponsors); diff != "" {
		t.Errorf("sponsors (-want +got):\n%s", diff)
	}
	triage := directory.Actor{Principal: "agent:Triage"}
	decide := func(now time.Time) authz.Decision {
		t.Helper()
		d, err := f.d.Check(f.ctx, alice, authz.Request{Org: "acme", Principal: triage.Principal, Namespace: "prod", ResourceType: "chains",
			ResourceID: "x", Action: "run", Now: now}, 0)
		ok(t, "check", err)
		return d
	}
	if d := decide(time.Time{}); !d.Allowed {
		t.Fatalf("a sponsored agent is denied: %+v", d)
	}
	ok(t, "frank leaves", second(f.d.RemoveMember(f.ctx, alice, "acme", "frank")))
	if d := decide(time.Time{}); d.Allowed || d.Reason != authz.ReasonSponsorGone {
		t.Errorf("after its sponsor left: %+v, want sponsor_gone", d)
	}
	if st := f.agentStatus("Triage"); st != "sponsor_gone" {
		t.Errorf("status %q, want sponsor_gone", st)
	}
	ok(t, "frank is back", third(f.d.AddMember(f.ctx, alice, "acme", "frank", "operator")))
	if d := decide(time.Time{}); d.Reason != authz.ReasonSponsorGone {
		t.Errorf("the old sponsor's return revived the agent: %+v", d)
	}
	_ = f.can(triage, chain, "run")

	// An admin assigns team support (dave) as the sponsor.
	ok(t, "assign a team sponsor", third(f.d.UpdateAgent(f.ctx, bob, "acme", "Triage", directory.AgentUpdate{Sponsors: &[]string{"team:support"}})))
	if d := decide(time.Time{}); !d.Allowed {
		t.Errorf("after a new sponsor: %+v", d)
	}
	wantErr(t, "no sponsors", third(f.d.UpdateAgent(f.ctx, bob, "acme", "Triage", directory.AgentUpdate{Sponsors: &[]string{}})), directory.ErrInvalid)
	wantErr(t, "an unknown sponsor", third(f.d.UpdateAgent(f.ctx, bob, "acme", "Triage", directory.AgentUpdate{Sponsors: &[]string{"team:nope"}})), directory.ErrInvalid)

	// Attestation: only a sponsor.
	wantErr(t, "attest by a non-sponsor admin", third(f.d.AttestAgent(f.ctx, bob, "acme", "Triage")), directory.ErrForbidden)
	wantErr(t, "attest by the agent itself", third(f.d.AttestAgent(f.ctx, triage, "acme", "Triage")), directory.ErrForbidden)
	ok(t, "org rules", third(f.d.SetOrgLifecycle(f.ctx, alice, "acme", authz.LifecycleSettings{AttestEvery: 90 * 24 * time.Hour, InactiveAfter: 30 * 24 * time.Hour})))
	wantErr(t, "org rules by an admin without org:update", third(f.d.SetOrgLifecycle(f.ctx, carol, "acme", authz.LifecycleSettings{})), directory.ErrForbidden)
	later := time.Now().Add(31 * 24 * time.Hour)
	if d := decide(later); d.Allowed || d.Reason != authz.ReasonInactive {
		t.Errorf("31 days on: %+v, want inactive", d)
	}
	attested, _, err := f.d.AttestAgent(f.ctx, dave, "acme", "Triage") // dave is in team support
	ok(t, "attest by a member of the sponsoring team", err)
	if d := decide(attested.AttestedAt.Add(29 * 24 * time.Hour)); !d.Allowed {
		t.Errorf("29 days after attesting: %+v", d)
	}
	if d := decide(attested.AttestedAt.Add(91 * 24 * time.Hour)); d.Reason != authz.ReasonInactive && d.Reason != authz.ReasonAttestationDue {
		t.Errorf("91 days after attesting: %+v", d)
	}
	es, _, err := f.st.ListAudit(f.ctx, "acme", store.AuditFilter{Action: "agent.attest", Actor: "user:dave"}, store.Page{})
	ok(t, "audit", err)
	if len(es) != 1 {
		t.Errorf("attestation audit entries: %d, want 1", len(es))
	}
	// Suspension by hand.
	ok(t, "suspend", third(f.d.UpdateAgent(f.ctx, bob, "acme", "Triage", directory.AgentUpdate{Suspended: ptr(true)})))
	if d := decide(time.Time{}); d.Reason != authz.ReasonSuspended {
		t.Errorf("suspended by hand: %+v", d)
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) agentStatus(name string) string {
	f.t.Helper()
	a, err := f.d.GetAgent(f.ctx, alice, "acme", name)
	ok(f.t, "get agent", err)
	return f.d.AgentStatus("acme", a)
}

// TestServiceLifecycle: a service's sponsors are optional; given some, it
// is sponsor_gone once the last one leaves (and stays so if the sponsor
// comes back) until an admin assigns new ones; without sponsors it never
// is. The org's rules apply to it only once it opts in (the opt-in counts
// as a use and an attestation), and then only a sponsor may attest it.
func TestServiceLifecycle(t *testing.T) {
	f := newFixture(t)
	svc := func(name string) directory.Actor { return directory.Actor{Principal: "service:" + name} }
	decide := func(name string, now time.Time) authz.Decision {
		t.Helper()
		d, err := f.d.Check(f.ctx, alice, authz.Request{Org: "acme", Principal: "service:" + name, Namespace: "prod", ResourceType: "chains",
			ResourceID: "x", Action: "run", Now: now}, 0)
		ok(t, "check", err)
		return d
	}
	status := func(name string) string {
		t.Helper()
		s, err := f.d.GetService(f.ctx, alice, "acme", name)
		ok(t, "get service", err)
		return f.d.ServiceStatus("acme", s)
	}
	for _, tc := range []struct {
		name string
		spec directory.ServiceSpec
	}{
		{"lifecycle without sponsors", directory.ServiceSpec{Name: "x", Lifecycle: true}},
		{"an agent as sponsor", directory.ServiceSpec{Name: "x", Sponsors: []string{"agent:Triage"}}},
		{"a stranger as sponsor", directory.ServiceSpec{Name: "x", Sponsors: []string{"user:nobody"}}},
		{"an unknown team", directory.ServiceSpec{Name: "x", Sponsors: []string{"team:nope"}}},
	} {
		wantErr(t, tc.name, third(f.d.CreateService(f.ctx, alice, "acme", tc.spec)), directory.ErrInvalid)
	}
	sv, _, err := f.d.CreateService(f.ctx, alice, "acme", directory.ServiceSpec{Name: "deploy", Role: "operator", Namespace: "prod",
		Sponsors: []string{"user:frank"}})
	ok(t, "create a sponsored service", err)
	if !sv.RequireSponsor || sv.Lifecycle {
		t.Errorf("created: %+v", sv)
	}
	ok(t, "create a plain service", third(f.d.CreateService(f.ctx, alice, "acme", directory.ServiceSpec{Name: "plain", Role: "operator", Namespace: "prod"})))
	ok(t, "org rules", third(f.d.SetOrgLifecycle(f.ctx, alice, "acme", authz.LifecycleSettings{AttestEvery: 90 * 24 * time.Hour, InactiveAfter: 30 * 24 * time.Hour})))
	later := time.Now().Add(100 * 24 * time.Hour)
	for _, name := range []string{"deploy", "plain"} {
		if d := decide(name, later); !d.Allowed {
			t.Errorf("%s, not opted in, 100 days on: %+v", name, d)
		}
	}

	// The last sponsor leaves.
	ok(t, "frank leaves", second(f.d.RemoveMember(f.ctx, alice, "acme", "frank")))
	if d := decide("deploy", time.Time{}); d.Allowed || d.Reason != authz.ReasonSponsorGone {
		t.Errorf("after its sponsor left: %+v, want sponsor_gone", d)
	}
	if d := decide("plain", time.Time{}); !d.Allowed {
		t.Errorf("a service without sponsors after a member left: %+v", d)
	}
	if st := status("deploy"); st != "sponsor_gone" {
		t.Errorf("status %q, want sponsor_gone", st)
	}
	ok(t, "frank is back", third(f.d.AddMember(f.ctx, alice, "acme", "frank", "operator")))
	if d := decide("deploy", time.Time{}); d.Reason != authz.ReasonSponsorGone {
		t.Errorf("the old sponsor's return revived the service: %+v", d)
	}
	wantErr(t, "a builder changes sponsors", third(f.d.UpdateService(f.ctx, carol, "acme", "deploy", directory.ServiceUpdate{Sponsors: &[]string{"user:carol"}})), directory.ErrForbidden)
	ok(t, "assign team support", third(f.d.UpdateService(f.ctx, bob, "acme", "deploy", directory.ServiceUpdate{Sponsors: &[]string{"team:support"}})))
	if d := decide("deploy", time.Time{}); !d.Allowed {
		t.Errorf("after a new sponsor: %+v", d)
	}

	// Opting in to the org's rules.
	wantErr(t, "opt in without sponsors", third(f.d.UpdateService(f.ctx, bob, "acme", "plain", directory.ServiceUpdate{Lifecycle: ptr(true)})), directory.ErrInvalid)
	in, _, err := f.d.UpdateService(f.ctx, bob, "acme", "deploy", directory.ServiceUpdate{Lifecycle: ptr(true)})
	ok(t, "opt in", err)
	if !in.Lifecycle || in.AttestedAt.IsZero() || !in.AttestedAt.Equal(in.LastUsedAt) {
		t.Errorf("opted in: %+v, want attested and used now", in)
	}
	wantErr(t, "clear the sponsors of an opted-in service", third(f.d.UpdateService(f.ctx, bob, "acme", "deploy", directory.ServiceUpdate{Sponsors: &[]string{}})), directory.ErrInvalid)
	if d := decide("deploy", in.AttestedAt.Add(29*24*time.Hour)); !d.Allowed {
		t.Errorf("29 days after opting in: %+v", d)
	}
	if d := decide("deploy", in.LastUsedAt.Add(31*24*time.Hour)); d.Allowed || d.Reason != authz.ReasonInactive {
		t.Errorf("31 days unused: %+v, want inactive", d)
	}
	wantErr(t, "attest by a non-sponsor admin", third(f.d.AttestService(f.ctx, bob, "acme", "deploy")), directory.ErrForbidden)
	wantErr(t, "attest by the service itself", third(f.d.AttestService(f.ctx, svc("deploy"), "acme", "deploy")), directory.ErrForbidden)
	wantErr(t, "attest a service without sponsors", third(f.d.AttestService(f.ctx, alice, "acme", "plain")), directory.ErrForbidden)
	_, err = f.d.AddTeamMember(f.ctx, alice, "acme", "support", "service:deploy")
	ok(t, "put the service in its sponsoring team", err)
	wantErr(t, "attest by the service through its sponsoring team", third(f.d.AttestService(f.ctx, svc("deploy"), "acme", "deploy")), directory.ErrForbidden)
	attested, _, err := f.d.AttestService(f.ctx, dave, "acme", "deploy") // dave is in team support
	ok(t, "attest by a member of the sponsoring team", err)
	if d := decide("deploy", attested.AttestedAt.Add(29*24*time.Hour)); !d.Allowed {
		t.Errorf("29 days after attesting: %+v", d)
	}
	es, _, err := f.st.ListAudit(f.ctx, "acme", store.AuditFilter{Action: "service.attest", Actor: "user:dave"}, store.Page{})
	ok(t, "audit", err)
	if len(es) != 1 || es[0].Target != "service/service:deploy" {
		t.Errorf("attestation audit entries: %+v, want 1 for service/service:deploy", es)
	}
	// Opting out: the org's rules stop applying; the sponsors stay.
	ok(t, "opt out", third(f.d.UpdateService(f.ctx, bob, "acme", "deploy", directory.ServiceUpdate{Lifecycle: ptr(false)})))
	if d := decide("deploy", later); !d.Allowed {
		t.Errorf("opted out, 100 days on: %+v", d)
	}
	// The sponsoring team deleted: sponsor_gone again; clearing the
	// sponsors makes it a plain service.
	ok(t, "delete team support", second(f.d.DeleteTeam(f.ctx, alice, "acme", "support")))
	if st := status("deploy"); st != "sponsor_gone" {
		t.Errorf("after its sponsoring team was deleted: %q, want sponsor_gone", st)
	}
	ok(t, "clear the sponsors", third(f.d.UpdateService(f.ctx, bob, "acme", "deploy", directory.ServiceUpdate{Sponsors: &[]string{}})))
	if st := status("deploy"); st != "active" {
		t.Errorf("after clearing the sponsors: %q, want active", st)
	}
}

// TestServiceUseRecorded: an allowed decision of a service under the
// org's rules, asked by the service itself, records its last use (in the
// background; Close waits for it); one for a service that did not opt in
// records nothing.
func TestServiceUseRecorded(t *testing.T) {
	f := newFixture(t)
	for _, spec := range []directory.ServiceSpec{
		{Name: "rec", Role: "operator", Namespace: "prod", Sponsors: []string{"user:frank"}, Lifecycle: true},
		{Name: "plain", Role: "operator", Namespace: "prod", Sponsors: []string{"user:frank"}},
	} {
		ok(t, "create "+spec.Name, third(f.d.CreateService(f.ctx, alice, "acme", spec)))
		self := directory.Actor{Principal: "service:" + spec.Name}
		d, err := f.d.Check(f.ctx, self, authz.Request{Org: "acme", Principal: "service:" + spec.Name, Namespace: "prod", ResourceType: "chains",
			ResourceID: "x", Action: "run"}, 0)
		ok(t, "check", err)
		if !d.Allowed {
			t.Fatalf("service %s denied: %+v", spec.Name, d)
		}
	}
	ok(t, "close", f.d.Close())
	rec, err := f.st.GetService(f.ctx, "acme", "rec")
	ok(t, "get rec", err)
	if rec.LastUsedAt.IsZero() || rec.LastUsedAt.Before(rec.CreatedAt) {
		t.Errorf("an opted-in service's use: last used %v (created %v)", rec.LastUsedAt, rec.CreatedAt)
	}
	plain, err := f.st.GetService(f.ctx, "acme", "plain")
	ok(t, "get plain", err)
	if !plain.LastUsedAt.IsZero() {
		t.Errorf("a service outside the org's rules had its use recorded: %v", plain.LastUsedAt)
	}
}

// TestOnlyOwnChecksCountAsUse: an agent's (or an opted-in service's) last
// use is recorded by its own allowed questions only; an admin asking
// whether it may do something, allowed or not, is no use of it and
// records nothing — else anyone with bindings:read could keep an idle
// agent from ever becoming inactive (threat-model row 87).
func TestOnlyOwnChecksCountAsUse(t *testing.T) {
	tests := []struct {
		name  string
		asker func(p string) directory.Actor
		want  bool // a use recorded
	}{
		{"an admin asks about it", func(string) directory.Actor { return alice }, false},
		{"it asks about itself", func(p string) directory.Actor { return directory.Actor{Principal: p} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Helper()
			f := newFixture(t)
			ok(t, "create agent", third(f.d.CreateAgent(f.ctx, alice, "acme", directory.AgentSpec{Name: "Idle", Role: "operator", Namespace: "prod", Sponsor: "frank"})))
			ok(t, "create service", third(f.d.CreateService(f.ctx, alice, "acme", directory.ServiceSpec{Name: "idle", Role: "operator", Namespace: "prod", Sponsors: []string{"user:frank"}, Lifecycle: true})))
			for _, p := range []string{"agent:Idle", "service:idle"} {
				d, err := f.d.Check(f.ctx, tt.asker(p), authz.Request{Org: "acme", Principal: p, Namespace: "prod", ResourceType: "chains", ResourceID: "x", Action: "run"}, 0)
				ok(t, "check "+p, err)
				if !d.Allowed {
					t.Fatalf("%s denied: %+v", p, d)
				}
			}
			ok(t, "close", f.d.Close())
			a, err := f.st.GetAgent(f.ctx, "acme", "Idle")
			ok(t, "get agent", err)
			s, err := f.st.GetService(f.ctx, "acme", "idle")
			ok(t, "get service", err)
			got := map[string]bool{"agent": !a.LastUsedAt.IsZero(), "service": !s.LastUsedAt.IsZero()}
			want := map[string]bool{"agent": tt.want, "service": tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("uses recorded (-want +got):\n%s", diff)
			}
		})
	}
}
