package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testBindingExpiry: a binding's expires_at round-trips through every read
// (get, list, LoadOrg, the changelog), must lie in the future when the
// binding is created, and DeleteExpiredBindings removes exactly the
// bindings expired by its cut-off, in one org, each as a changelog entry.
func testBindingExpiry(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	seed(t, s, "b")
	var now time.Time
	write(t, s, func(ctx context.Context, tx store.Tx) error { now = tx.Now(); return nil })
	soon := now.Add(time.Hour).Truncate(time.Microsecond)
	later := now.Add(48 * time.Hour).Truncate(time.Microsecond)
	res := authz.Scope{Namespace: "prod", Type: "chains", ID: "triage"}
	rev0 := write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, org := range []string{"a", "b"} {
			for _, b := range []authz.Binding{
				{ID: "soon", Principal: "user:bob", Role: "viewer", ExpiresAt: soon.Add(123 * time.Nanosecond)}, // stored to the microsecond
				{ID: "later", Principal: "user:bob", Actions: []string{"run"}, Scope: res, ExpiresAt: later.In(time.FixedZone("X", 3600))},
				{ID: "forever", Principal: "user:bob", Role: "operator", Scope: authz.Scope{Namespace: "prod"}},
			} {
				if _, err := tx.CreateBinding(ctx, store.Binding{Org: org, Binding: b}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	want := map[string]time.Time{"soon": soon, "later": later, "forever": {}}
	for id, exp := range want {
		b := must(s.GetBinding(ctx, f.org, id)).get(t)
		if !b.ExpiresAt.Equal(exp) || (!exp.IsZero() && b.ExpiresAt.Location() != time.UTC) {
			t.Errorf("GetBinding(%s).ExpiresAt = %v, want %v in UTC", id, b.ExpiresAt, exp)
		}
	}
	bs, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{Principal: "user:bob"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if exp, ok := want[b.ID]; ok && !b.ExpiresAt.Equal(exp) {
			t.Errorf("ListBindings %s: expires_at %v, want %v", b.ID, b.ExpiresAt, exp)
		}
	}
	snap := must(s.LoadOrg(ctx, f.org)).get(t)
	for _, b := range snap.Bindings {
		if exp, ok := want[b.ID]; ok && !b.ExpiresAt.Equal(exp) {
			t.Errorf("LoadOrg %s: expires_at %v, want %v", b.ID, b.ExpiresAt, exp)
		}
	}
	for _, c := range changes(t, s, rev0-1) {
		if c.Org != f.org || c.Kind != store.KindBindingPut {
			continue
		}
		b := must(c.Decode()).get(t).(store.Binding)
		if !b.ExpiresAt.Equal(want[b.ID]) {
			t.Errorf("changelog %s: expires_at %v, want %v", b.ID, b.ExpiresAt, want[b.ID])
		}
	}

	for _, tc := range []struct {
		name string
		exp  time.Time
	}{{"in the past", now.Add(-time.Hour)}, {"now", now.Add(-time.Microsecond)}} {
		wantErr(t, "expires_at "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateBinding(ctx, store.Binding{Org: f.org, Binding: authz.Binding{Principal: "user:bob", Role: "viewer", ExpiresAt: tc.exp}})
			return err
		}), store.ErrInvalid)
	}
	for _, limit := range []int{0, -1, 10001} {
		wantErr(t, "DeleteExpiredBindings bad limit", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.DeleteExpiredBindings(ctx, f.org, later, limit)
			return err
		}), store.ErrInvalid)
	}

	purge := func(before time.Time, limit int) (int, uint64) {
		var n int
		rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
			var err error
			n, err = tx.DeleteExpiredBindings(ctx, f.org, before, limit)
			return err
		})
		return n, rev
	}
	if n, _ := purge(soon.Add(-time.Second), 100); n != 0 {
		t.Errorf("before anything expired: deleted %d", n)
	}
	n, rev := purge(later.Add(time.Second), 1)
	if n != 1 {
		t.Errorf("limit 1: deleted %d", n)
	}
	diff(t, "changelog of the first purge", []string{"binding.delete soon"}, kinds(changes(t, s, rev-1)))
	if n, _ := purge(later, 100); n != 1 {
		t.Errorf("second purge (at exactly later): deleted %d, want 1", n)
	}
	left, _, err := s.ListBindings(ctx, f.org, store.BindingFilter{Principal: "user:bob"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range left {
		if b.ID == "soon" || b.ID == "later" {
			t.Errorf("binding %s survived the purge", b.ID)
		}
	}
	for _, id := range []string{"soon", "later", "forever"} {
		if _, err := s.GetBinding(ctx, "b", id); err != nil {
			t.Errorf("org b's binding %s: %v (a purge of org a touched it)", id, err)
		}
	}
}

// testAgentLifecycle: an agent's sponsors (users and teams), suspension,
// attestation and last use round-trip through reads, LoadOrg and the
// changelog; a sponsor leaving or a sponsoring team deleted is removed
// from every agent it sponsored (agent.put each); RecordAgentUse only
// moves forward; the org's rules round-trip and reach LoadOrg.
func testAgentLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	var now time.Time
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		now = tx.Now()
		_, err := tx.CreateAgent(ctx, store.Agent{Org: f.org, Name: "Bot", Role: "viewer",
			Sponsors: []string{"user:bob", "team:support", "user:alice", "user:bob"}, Suspended: true, AttestedAt: now.Add(-time.Hour)})
		return err
	})
	bot := must(s.GetAgent(ctx, f.org, "Bot")).get(t)
	diff(t, "sponsors, sorted and deduplicated", []string{"team:support", "user:alice", "user:bob"}, bot.Sponsors)
	if bot.Sponsor != "alice" || !bot.Suspended || !bot.AttestedAt.Equal(now.Add(-time.Hour).Truncate(time.Microsecond)) || !bot.LastUsedAt.IsZero() {
		t.Errorf("agent Bot = %+v", bot)
	}
	if got := must(s.GetAgent(ctx, f.org, "Triage")).get(t); len(got.Sponsors) != 1 || got.Sponsors[0] != "user:alice" {
		t.Errorf("a legacy Sponsor gives Sponsors %v, want [user:alice]", got.Sponsors)
	}
	for _, tc := range badSponsors() {
		wantErr(t, "sponsor "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateAgent(ctx, store.Agent{Org: f.org, Name: "X", Role: "viewer", Sponsors: tc.sponsors})
			return err
		}), tc.want)
	}

	// Reads by sponsor: exact ids only (no prefix, no LIKE wildcard),
	// services with agents, and the teams a principal is in.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "keeper", Sponsors: []string{"team:support"}, RequireSponsor: true})
		return err
	})
	names := func(as []store.Agent, svcs []store.Service) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.PrincipalID())
		}
		for _, sv := range svcs {
			out = append(out, sv.PrincipalID())
		}
		return out
	}
	for sponsor, want := range map[string][]string{
		"user:alice": {"agent:Bot", "agent:Triage"}, "team:support": {"agent:Bot", "service:keeper"},
		"user:bob": {"agent:Bot"}, "user:ali": {}, "user:_lice": {}, "team:%": {}, "user:nobody": {},
	} {
		as := must(s.ListAgentsSponsoredBy(ctx, f.org, sponsor)).get(t)
		svcs := must(s.ListServicesSponsoredBy(ctx, f.org, sponsor)).get(t)
		diff(t, "sponsored by "+sponsor, want, names(as, svcs))
		if got := must(s.ListAgentsSponsoredBy(ctx, "nope", sponsor)).get(t); len(got) != 0 {
			t.Errorf("agents of an unknown org sponsored by %s: %v", sponsor, got)
		}
	}
	diff(t, "teams of alice", []string{"support"}, must(s.ListTeamsOf(ctx, f.org, "user:alice")).get(t))
	diff(t, "teams of bob", []string(nil), must(s.ListTeamsOf(ctx, f.org, "user:bob")).get(t))

	used := now.Add(time.Minute)
	usesMoveForward(t, s, f.org, "agent", "Bot", "Nope", used, store.Tx.RecordAgentUse,
		func() time.Time { return must(s.GetAgent(ctx, f.org, "Bot")).get(t).LastUsedAt })

	// Sponsors leaving.
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, f.org, "alice") })
	bot = must(s.GetAgent(ctx, f.org, "Bot")).get(t)
	diff(t, "sponsors after alice left", []string{"team:support", "user:bob"}, bot.Sponsors)
	if bot.Sponsor != "bob" {
		t.Errorf("legacy sponsor after alice left = %q, want bob", bot.Sponsor)
	}
	var puts []string
	for _, c := range changes(t, s, rev-1) {
		if c.Kind == store.KindAgentPut {
			puts = append(puts, c.Key)
		}
	}
	diff(t, "agents put when alice left", []string{"agent:Bot", "agent:Triage"}, puts)
	if got := must(s.GetAgent(ctx, f.org, "Triage")).get(t); len(got.Sponsors) != 0 || got.Sponsor != "" {
		t.Errorf("Triage after its only sponsor left: %+v", got)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTeam(ctx, f.org, "support") })
	diff(t, "sponsors after the team went", []string{"user:bob"}, must(s.GetAgent(ctx, f.org, "Bot")).get(t).Sponsors)

	// The org's rules.
	rules := authz.LifecycleSettings{InactiveAfter: 30 * 24 * time.Hour, AttestEvery: 90 * 24 * time.Hour}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.SetOrgLifecycle(ctx, f.org, rules)
		return err
	})
	if got := must(s.GetOrg(ctx, f.org)).get(t).Lifecycle; got != rules {
		t.Errorf("org lifecycle %+v, want %+v", got, rules)
	}
	if got := must(s.LoadOrg(ctx, f.org)).get(t).Org.Lifecycle; got != rules {
		t.Errorf("LoadOrg lifecycle %+v, want %+v", got, rules)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateOrg(ctx, store.Org{ID: f.org, Name: "Renamed"})
		return err
	})
	if got := must(s.GetOrg(ctx, f.org)).get(t).Lifecycle; got != rules {
		t.Errorf("a rename changed the lifecycle to %+v", got)
	}
	for _, bad := range []authz.LifecycleSettings{{InactiveAfter: -time.Hour}, {AttestEvery: time.Millisecond}} {
		wantErr(t, "bad rules", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.SetOrgLifecycle(ctx, f.org, bad)
			return err
		}), store.ErrInvalid)
	}
	wantErr(t, "rules of an unknown org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.SetOrgLifecycle(ctx, "nope", rules)
		return err
	}), store.ErrNotFound)
}

// testServiceSuspension: a service's suspension round-trips through
// create, update, get, list, LoadOrg (as a Lifecycle suspended by hand,
// and no Lifecycle at all while active) and the changelog; updating the
// attributes keeps it.
func testServiceSuspension(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "paused", Suspended: true})
		return err
	})
	if got := must(s.GetService(ctx, f.org, "paused")).get(t); !got.Suspended {
		t.Errorf("created suspended: %+v", got)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "runner"})
		return err
	})
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateService(ctx, store.Service{Org: f.org, Name: "runner", Attributes: map[string]any{"x": "y"}, Suspended: true})
		return err
	})
	got := must(s.GetService(ctx, f.org, "runner")).get(t)
	if !got.Suspended || got.Attributes["x"] != "y" {
		t.Errorf("after suspending: %+v", got)
	}
	var payload *store.Service
	for _, c := range changes(t, s, rev-1) {
		if c.Kind == store.KindServicePut && c.Key == "service:runner" {
			v, err := c.Decode()
			if err != nil {
				t.Fatal(err)
			}
			sv := v.(store.Service)
			payload = &sv
		}
	}
	if payload == nil || !payload.Suspended {
		t.Errorf("service.put payload of the suspension = %+v, want suspended", payload)
	}
	list, _ := must2(s.ListServices(ctx, f.org, store.Page{}))(t)
	states := map[string]bool{}
	for _, sv := range list {
		states[sv.Name] = sv.Suspended
	}
	diff(t, "listed suspensions", map[string]bool{"paused": true, "runner": true, "ci": false}, states)
	lifeOf := func() map[string]*authz.Lifecycle {
		out := map[string]*authz.Lifecycle{}
		for _, p := range must(s.LoadOrg(ctx, f.org)).get(t).Principals {
			if strings.HasPrefix(p.ID, "service:") {
				out[p.ID] = p.Lifecycle
			}
		}
		return out
	}
	type shape struct{ Suspended, RequireSponsor, NoOrgRules bool }
	shapes := map[string]*shape{}
	for id, l := range lifeOf() {
		if l != nil {
			shapes[id] = &shape{l.Suspended, l.RequireSponsor, l.NoOrgRules}
		} else {
			shapes[id] = nil
		}
	}
	diff(t, "LoadOrg lifecycles", map[string]*shape{
		"service:paused": {Suspended: true, NoOrgRules: true}, "service:runner": {Suspended: true, NoOrgRules: true}, "service:ci": nil}, shapes)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateService(ctx, store.Service{Org: f.org, Name: "runner", Attributes: map[string]any{"x": "y"}})
		return err
	})
	if got := must(s.GetService(ctx, f.org, "runner")).get(t); got.Suspended {
		t.Errorf("after resuming: %+v", got)
	}
	if l := lifeOf()["service:runner"]; l != nil {
		t.Errorf("a resumed service has lifecycle %+v, want none", l)
	}
}

// testServiceLifecycle: a service's optional sponsors (users and teams),
// its opt-in to the org's rules, attestation and last use round-trip
// through reads, LoadOrg and the changelog; a sponsor leaving or a
// sponsoring team deleted is removed from every service it sponsored
// (service.put each) while RequireSponsor stays, so the service becomes
// sponsor_gone; RecordServiceUse only moves forward; a service without
// sponsors never requires one.
func testServiceLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	f := seed(t, s, "a")
	var now time.Time
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		now = tx.Now()
		if _, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "deploy",
			Sponsors: []string{"user:bob", "team:support", "user:alice", "user:bob"}, Lifecycle: true, AttestedAt: now.Add(-time.Hour)}); err != nil {
			return err
		}
		_, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "solo", Sponsors: []string{"user:alice"}})
		return err
	})
	dep := must(s.GetService(ctx, f.org, "deploy")).get(t)
	diff(t, "sponsors, sorted and deduplicated", []string{"team:support", "user:alice", "user:bob"}, dep.Sponsors)
	if !dep.RequireSponsor || !dep.Lifecycle || !dep.AttestedAt.Equal(now.Add(-time.Hour).Truncate(time.Microsecond)) || !dep.LastUsedAt.IsZero() {
		t.Errorf("service deploy = %+v", dep)
	}
	if ci := must(s.GetService(ctx, f.org, "ci")).get(t); ci.RequireSponsor || ci.Lifecycle || len(ci.Sponsors) != 0 {
		t.Errorf("a service created without sponsors = %+v, want none required", ci)
	}
	for _, tc := range badSponsors() {
		wantErr(t, "service sponsor "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateService(ctx, store.Service{Org: f.org, Name: "x", Sponsors: tc.sponsors})
			return err
		}), tc.want)
		wantErr(t, "service sponsor update "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.UpdateService(ctx, store.Service{Org: f.org, Name: "ci", Sponsors: tc.sponsors})
			return err
		}), tc.want)
	}

	used := now.Add(time.Minute)
	usesMoveForward(t, s, f.org, "service", "deploy", "nope", used, store.Tx.RecordServiceUse,
		func() time.Time { return must(s.GetService(ctx, f.org, "deploy")).get(t).LastUsedAt })

	// LoadOrg gives the engine the lifecycle: sponsors required, the
	// org's rules opted in, the creation counting as a use.
	lifeOf := func(id string) *authz.Lifecycle {
		for _, p := range must(s.LoadOrg(ctx, f.org)).get(t).Principals {
			if p.ID == id {
				return p.Lifecycle
			}
		}
		t.Fatalf("LoadOrg has no %s", id)
		return nil
	}
	if l := lifeOf("service:deploy"); l == nil || !l.RequireSponsor || l.NoOrgRules || len(l.Sponsors) != 3 || !l.LastUsedAt.Equal(used.Truncate(time.Microsecond)) {
		t.Errorf("LoadOrg lifecycle of deploy = %+v", l)
	}
	if l := lifeOf("service:solo"); l == nil || !l.RequireSponsor || !l.NoOrgRules {
		t.Errorf("LoadOrg lifecycle of solo (sponsored, not opted in) = %+v", l)
	}

	// Sponsors leaving: removed, recorded, RequireSponsor kept.
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RemoveMember(ctx, f.org, "alice") })
	diff(t, "sponsors after alice left", []string{"team:support", "user:bob"}, must(s.GetService(ctx, f.org, "deploy")).get(t).Sponsors)
	var puts []string
	var soloPut *store.Service
	for _, c := range changes(t, s, rev-1) {
		if c.Kind == store.KindServicePut {
			puts = append(puts, c.Key)
			if c.Key == "service:solo" {
				v, err := c.Decode()
				if err != nil {
					t.Fatal(err)
				}
				sv := v.(store.Service)
				soloPut = &sv
			}
		}
	}
	diff(t, "services put when alice left", []string{"service:deploy", "service:solo"}, puts)
	if soloPut == nil || len(soloPut.Sponsors) != 0 || !soloPut.RequireSponsor {
		t.Errorf("service.put of solo after its only sponsor left = %+v, want no sponsors, still required", soloPut)
	}
	if got := must(s.GetService(ctx, f.org, "solo")).get(t); len(got.Sponsors) != 0 || !got.RequireSponsor {
		t.Errorf("solo after its only sponsor left: %+v", got)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTeam(ctx, f.org, "support") })
	diff(t, "sponsors after team support was deleted", []string{"user:bob"}, must(s.GetService(ctx, f.org, "deploy")).get(t).Sponsors)

	// An admin clearing the sponsors (RequireSponsor false) makes it a
	// plain service again.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.UpdateService(ctx, store.Service{Org: f.org, Name: "solo"})
		return err
	})
	if got := must(s.GetService(ctx, f.org, "solo")).get(t); got.RequireSponsor || got.Lifecycle {
		t.Errorf("solo after clearing: %+v", got)
	}
	if l := lifeOf("service:solo"); l != nil {
		t.Errorf("a plain service has lifecycle %+v, want none", l)
	}
}

// usesMoveForward: recording a use of the principal name (an agent or a
// service of org, recorded by record) at used moves its last use
// there; an older use does not move it back; a use of unknown is
// ErrNotFound. last reads the stored last use.
func usesMoveForward(t *testing.T, s store.Store, org, kind, name, unknown string, used time.Time,
	record func(store.Tx, context.Context, string, string, time.Time) (bool, error), last func() time.Time) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if moved, err := record(tx, ctx, org, name, used); err != nil || !moved {
			return fmt.Errorf("first use: %v, %v", moved, err)
		}
		if moved, err := record(tx, ctx, org, name, used.Add(-time.Second)); err != nil || moved {
			return fmt.Errorf("an older use: %v, %v", moved, err)
		}
		return nil
	})
	if got := last(); !got.Equal(used.Truncate(time.Microsecond)) {
		t.Errorf("%s's last use %v, want %v", kind, got, used)
	}
	wantErr(t, "use of an unknown "+kind, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := record(tx, ctx, org, unknown, used)
		return err
	}), store.ErrNotFound)
}

// badSponsors are sponsor lists every store refuses, for an agent and a
// service alike (in the fixture's org, where carol is no member and
// Triage is an agent).
func badSponsors() []struct {
	name     string
	sponsors []string
	want     error
} {
	var seventeen []string
	for i := range 17 {
		seventeen = append(seventeen, fmt.Sprintf("user:u%d", i))
	}
	return []struct {
		name     string
		sponsors []string
		want     error
	}{
		{"a user who is not a member", []string{"user:carol"}, store.ErrNotFound},
		{"a team that does not exist", []string{"team:nope"}, store.ErrNotFound},
		{"an agent", []string{"agent:Triage"}, store.ErrInvalid},
		{"not a principal", []string{"bob"}, store.ErrInvalid},
		{"seventeen", seventeen, store.ErrInvalid},
	}
}
