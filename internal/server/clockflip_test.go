package server_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/auth"
	"github.com/gatehouse-dev/gatehouse/internal/directory"
)

// clockFlipWorld is an outrankWorld with a minter under the org's
// clock-based lifecycle rules: service "boss" (owner, opted in, sponsored
// by the owner) that minted an API key of service "worker" (admin) and
// a token of agent "Runner"; flip is the instant the org's rule
// suspends boss, read from the store.
type clockFlipWorld struct {
	*outrankWorld
	key, tok string
	flip     time.Time
}

// newClockFlipWorld sets the org's rules to s, where each rule is on,
// with boss's last use and attestation at its creation.
func newClockFlipWorld(t *testing.T, clk *clock, s authz.LifecycleSettings) *clockFlipWorld {
	t.Helper()
	ow := newOutrankWorldOpts(t, auth.Options{FailureBurst: 1e12, FailureRate: 1e12, Now: clk.Now})
	sponsor := "user:" + ow.ownerID
	ow.as(t, 201, "POST", "/services", map[string]any{"name": "boss", "role": "owner", "sponsors": []string{sponsor}, "lifecycle": true})
	boss := ow.key(t, ow.owner, "boss")
	ow.as(t, 201, "POST", "/services", map[string]any{"name": "worker", "role": "admin"})
	key := ow.key(t, boss, "worker")
	ow.as(t, 201, "POST", "/agents", map[string]any{"name": "Runner", "role": "viewer", "sponsors": []string{sponsor}})
	var at api.AgentToken
	ow.e.must(201, "POST", ow.org+"/agents/Runner/tokens", boss, map[string]any{"audience": ow.gwAud, "ttl": "1h"}, &at)
	if _, _, err := ow.e.dir.SetOrgLifecycle(ctxT(t), directory.Actor{Principal: sponsor}, ow.world.org, s); err != nil {
		t.Fatal(err)
	}
	sv, err := ow.e.st.GetService(ctxT(t), ow.world.org, "boss")
	if err != nil {
		t.Fatal(err)
	}
	l := sv.LifecycleOf()
	flip := l.LastUsedAt.Add(s.InactiveAfter)
	if s.InactiveAfter == 0 {
		flip = l.AttestedAt.Add(s.AttestEvery)
	}
	return &clockFlipWorld{outrankWorld: ow, key: key, tok: at.Token, flip: flip}
}

// TestMinterClockSuspensionIsSeenAtOnce: a minter that the org's
// inactivity or attestation rule suspends at T stands behind its
// credentials until T and not an instant longer — refused at T exactly,
// not up to the remembered verdict's bound later — on every path that
// uses a minted credential: its API key on the check fast path, the
// check through the mux, a write and a read; its agent token at the
// gateway's authentication. The verdict remembered 500 ms before T
// (which a 1 s bound would keep until T+500 ms) must end at T.
func TestMinterClockSuspensionIsSeenAtOnce(t *testing.T) {
	t.Parallel()
	for _, rule := range []struct {
		name string
		s    authz.LifecycleSettings
	}{
		{"inactive", authz.LifecycleSettings{InactiveAfter: 10 * time.Minute}},
		{"attestation due", authz.LifecycleSettings{AttestEvery: 10 * time.Minute}},
	} {
		t.Run(rule.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			w := newClockFlipWorld(t, clk, rule.s)
			ctx := ctxT(t)
			tokUse := func() string {
				t.Helper()
				_, err := w.e.auth.AuthenticateAudience(ctx, w.tok, w.gwAud, "192.0.2.9")
				switch {
				case err == nil:
					return "ok"
				case errors.Is(err, auth.ErrOutranksMinter):
					return refused
				}
				return err.Error()
			}
			use := func(how string) string {
				t.Helper()
				if how == "agent token" {
					return tokUse()
				}
				return w.use(t, w.key, how)
			}
			set := func(at time.Time) { clk.Advance(at.Sub(clk.Now())) }
			// Each path's own first use after T, its verdict remembered
			// 500 ms before T by a use that writes nothing (a write
			// moves the revision, which forgets every verdict).
			got, want := map[string][]string{}, map[string][]string{}
			for _, how := range append(every, "agent token") {
				prime := how
				if how == "write" {
					prime = "read"
				}
				set(w.flip.Add(-500 * time.Millisecond))
				before := use(prime)
				set(w.flip)
				atT := use(how)
				set(w.flip.Add(-time.Nanosecond))
				got[how] = []string{before, atT, use(how)}
				want[how] = []string{"ok", refused, "ok"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("500 ms before, at, 1 ns before the minter's suspension by the clock at %s (-want +got):\n%s", w.flip, diff)
			}
		})
	}
}
