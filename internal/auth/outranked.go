package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A write that raises a principal (a binding, a share, a team joined, a
// suspension lifted), lowers the member that minted one of its API keys
// (demoted, removed, suspended, a binding or team lost), or changes what
// roles mean (a role, the policy) may make the principal outrank the
// minter: from then on every use of the key is refused (minter.go). The
// write is not refused (DESIGN §1.2 lets whoever may grant the role
// grant it); its answer warns instead, naming the keys that stop
// (threat-model rows 86 and 97). Agent tokens are not
// stored (they live an hour at most), so they cannot be listed.

// OutrankedKey is a live API key that a use would now refuse: its
// principal outranks its minter (Err says where and why).
type OutrankedKey struct {
	ID        string
	Principal string
	Minter    string
	Err       *OutrankedError
}

// maxOutrankedKeys bounds the keys OutrankedKeys reads: a warning names
// the first ones; past it the count is a lower bound (Truncated).
const maxOutrankedKeys = 1000

// Touched says whose minted keys a write may have stopped: the keys of
// the principals it raised, the keys minted by the principals it
// lowered, or every minted key of the org when what it changed (a role,
// the policy, the org's lifecycle rules, a cascade) reaches principals
// it does not name. Only these keys are read and judged, so that a write
// that touches no minted key costs one indexed read at most.
type Touched struct {
	// Raised: principals that may now hold more (a binding, a share, a
	// team joined, a suspension lifted); their API keys are judged. A
	// "team:" id stands for the services among its members; only
	// services' keys are minted by someone else.
	Raised []string
	// Lowered: principals that may now stand lower (demoted, removed,
	// suspended, a binding or team lost); the keys they minted are
	// judged. A "team:" id stands for its members.
	Lowered []string
	// All: every minted key of the org is judged.
	All bool
}

// Any reports whether t names anything to judge.
func (t Touched) Any() bool { return t.All || len(t.Raised) > 0 || len(t.Lowered) > 0 }

// Before is the engine's state before a write (Service.Before): what
// OutrankedKeys judges a key's standing against to leave out the keys
// already refused then, which the write did not stop. The zero Before
// leaves out nothing.
type Before struct {
	state engineState // nil: nothing pinned
}

// Before pins the engine's state before a write that touches t, for
// OutrankedKeys to compare against once the write committed. It reads no
// key and judges none (directory.Directory.Pin copies nothing): a write
// that is refused — its authorization is made inside the write — makes
// the server do no judging (threat-model row 99). The zero Before when t
// touches nothing.
func (s *Service) Before(t Touched) Before {
	if !t.Any() {
		return Before{}
	}
	return Before{s.dir.Pin()}
}

// OutrankedKeys lists the live API keys of org touched by a write (t)
// whose use would now be refused 403 credential-outranks-minter —
// minterStands' comparison against the engine's current state, so call
// it once the write has settled — each once, but those that were already
// refused in before (the state pinned before the write: the write did
// not stop them). Only the keys refused now are judged against before,
// at the same instant. visible says whether c may read those keys'
// metadata (apikeys:read at org scope, or every key is c's own): a
// caller that may not is told only how many there are. truncated: more
// keys than maxOutrankedKeys were read.
func (s *Service) OutrankedKeys(ctx context.Context, c Caller, org string, t Touched, before Before) (keys []OutrankedKey, visible, truncated bool, err error) {
	keys, truncated, err = s.outranked(ctx, org, t, before)
	if err != nil {
		return nil, false, false, err
	}
	return keys, s.keysVisible(c, org, keys), truncated, nil
}

// outranked is the live minted API keys of org touched by t (read at
// most maxOutrankedKeys: truncated) that minterStands would now refuse
// and, when before pinned a state, would not have refused in it.
func (s *Service) outranked(ctx context.Context, org string, t Touched, before Before) (keys []OutrankedKey, truncated bool, err error) {
	var filters []store.APIKeyFilter
	if t.All {
		filters = append(filters, store.APIKeyFilter{Org: org, Minted: true})
	} else {
		svcs, err := s.servicesOf(ctx, org, t.Raised)
		if err != nil {
			return nil, false, err
		}
		for _, p := range svcs {
			filters = append(filters, store.APIKeyFilter{Org: org, Principal: p, Minted: true})
		}
		minters, err := s.membersOf(ctx, org, t.Lowered)
		if err != nil {
			return nil, false, err
		}
		for _, m := range minters {
			filters = append(filters, store.APIKeyFilter{Org: org, CreatedBy: m, Minted: true})
		}
	}
	now := s.opts.Now()
	read := 0
	seen := map[string]bool{}
	for _, f := range filters {
		page := store.Page{Size: 200}
		for {
			ks, next, err := s.st.ListAPIKeys(ctx, f, page)
			if err != nil {
				return nil, false, storeErr("list outranked keys", err)
			}
			for _, k := range ks {
				if seen[k.ID] {
					continue
				}
				seen[k.ID] = true
				if read++; read > maxOutrankedKeys {
					return keys, true, nil
				}
				minter := mintedBy(k.Principal, k.CreatedBy)
				if minter == "" || !k.RevokedAt.IsZero() || (!k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)) {
					continue
				}
				var oe *OutrankedError
				if !errors.As(s.standsBehind(s.dir, org, minter, k.Principal, "API key", now), &oe) {
					continue
				}
				if before.state != nil && s.standsBehind(before.state, org, minter, k.Principal, "API key", now) != nil {
					continue // refused before the write too: not its doing
				}
				keys = append(keys, OutrankedKey{ID: k.ID, Principal: k.Principal, Minter: minter, Err: oe})
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	return keys, false, nil
}

// keysVisible: c may read the metadata of every key of keys in org (as
// GetKey decides: its own, or apikeys:read).
func (s *Service) keysVisible(c Caller, org string, keys []OutrankedKey) bool {
	if s.need(org, c.Principal, "apikeys:read") == nil {
		return true
	}
	for _, k := range keys {
		if k.Principal != c.Principal {
			return false
		}
	}
	return true
}

// servicesOf is the services among principals, a team standing for its
// members, sorted and each once.
func (s *Service) servicesOf(ctx context.Context, org string, principals []string) ([]string, error) {
	ps, err := s.membersOf(ctx, org, principals)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(p string) bool { return !strings.HasPrefix(p, authz.KindService+":") }), nil
}

// membersOf is principals with each "team:" id replaced by the team's
// members (a team that no longer exists by none), sorted and each once.
func (s *Service) membersOf(ctx context.Context, org string, principals []string) ([]string, error) {
	var out []string
	for _, p := range principals {
		slug, isTeam := strings.CutPrefix(p, authz.KindTeam+":")
		if !isTeam {
			out = append(out, p)
			continue
		}
		t, err := s.st.GetTeam(ctx, org, slug)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeErr("list outranked keys", err)
		}
		out = append(out, t.Members...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
