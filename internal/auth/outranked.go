package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

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
// (threat-model rows 86 and 97). Minted agent tokens are judged the same
// way at every use (agenttoken.go) and, since their metadata is stored
// until they expire (store/agenttokens.go), are named beside the keys
// (threat-model row 107).

// Kinds of OutrankedKey: an API key, or an agent token (the values of
// api.OutrankedCredential.Kind).
const (
	KindAPIKey     = "api_key"
	KindAgentToken = "agent_token"
)

// OutrankedKey is a live minted credential — an API key or an agent token
// (Kind) — that a use would now refuse: its principal outranks its minter
// (Err says where and why).
type OutrankedKey struct {
	Kind      string
	ID        string
	Principal string
	Minter    string
	Err       *OutrankedError
}

// maxOutrankedKeys bounds the credentials (API keys and agent tokens
// together) OutrankedKeys reads: a warning names the first ones; past it
// the count is a lower bound (Truncated).
const maxOutrankedKeys = 1000

// Touched says whose minted keys a write may have stopped: the keys of
// the principals it raised, the keys minted by the principals it
// lowered, or every minted key of the org when what it changed (a role,
// the policy, the org's lifecycle rules, a cascade) reaches principals
// it does not name. Only these keys are read and judged, so that a write
// that touches no minted key costs one indexed read at most.
type Touched struct {
	// Raised: principals that may now hold more (a binding, a share, a
	// team joined, a suspension lifted); their API keys and agent tokens
	// are judged. A "team:" id stands for the services and agents among
	// its members; only services' keys and agents' tokens are minted by
	// someone else.
	Raised []string
	// Lowered: principals that may now stand lower (demoted, removed,
	// suspended, a binding or team lost); the keys and agent tokens they
	// minted are judged. A "team:" id stands for its members.
	Lowered []string
	// All: every minted key and agent token of the org is judged.
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

// OutrankedKeys lists the live API keys and agent tokens of org touched
// by a write (t)
// whose use would now be refused 403 credential-outranks-minter —
// minterStands' comparison against the engine's current state, so call
// it once the write has settled — each once, but those that were already
// refused in before (the state pinned before the write: the write did
// not stop them). Only the keys refused now are judged against before,
// at the same instant. visible says whether c may read those keys'
// metadata (apikeys:read at org scope, or every one is an API key of c's
// own; an agent token's list needs apikeys:read): a caller that may not
// is told only how many there are. truncated: more credentials than
// maxOutrankedKeys were read.
func (s *Service) OutrankedKeys(ctx context.Context, c Caller, org string, t Touched, before Before) (keys []OutrankedKey, visible, truncated bool, err error) {
	keys, truncated, err = s.outranked(ctx, org, t, before)
	if err != nil {
		return nil, false, false, err
	}
	return keys, s.keysVisible(c, org, keys), truncated, nil
}

// outranked is the live minted API keys, then agent tokens, of org
// touched by t (read at most maxOutrankedKeys together: truncated) that
// minterStands would now refuse and, when before pinned a state, would
// not have refused in it.
func (s *Service) outranked(ctx context.Context, org string, t Touched, before Before) (keys []OutrankedKey, truncated bool, err error) {
	var filters []store.APIKeyFilter
	var agents []string  // t.Raised's agents, whose tokens are judged
	var minters []string // t.Lowered's members, whose tokens are judged
	if t.All {
		filters = append(filters, store.APIKeyFilter{Org: org, Minted: true})
	} else {
		raised, err := s.membersOf(ctx, org, t.Raised)
		if err != nil {
			return nil, false, err
		}
		for _, p := range raised {
			switch {
			case strings.HasPrefix(p, authz.KindService+":"):
				filters = append(filters, store.APIKeyFilter{Org: org, Principal: p, Minted: true})
			case strings.HasPrefix(p, authz.KindAgent+":"):
				agents = append(agents, p)
			}
		}
		if minters, err = s.membersOf(ctx, org, t.Lowered); err != nil {
			return nil, false, err
		}
		for _, m := range minters {
			filters = append(filters, store.APIKeyFilter{Org: org, CreatedBy: m, Minted: true})
		}
	}
	now := s.opts.Now()
	j := judge{s: s, org: org, before: before, now: now, seen: map[string]bool{}}
	for _, f := range filters {
		page := store.Page{Size: 200}
		for {
			ks, next, err := s.st.ListAPIKeys(ctx, f, page)
			if err != nil {
				return nil, false, storeErr("list outranked keys", err)
			}
			for _, k := range ks {
				if j.add(KindAPIKey, k.ID, k.Principal, k.CreatedBy, k.RevokedAt, k.ExpiresAt) {
					return j.keys, true, nil
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	// Agent tokens: the unexpired ones of the agents raised, and those
	// minted by the members lowered (or all of the org's).
	var tfilters []store.AgentTokenFilter
	if t.All {
		tfilters = append(tfilters, store.AgentTokenFilter{ExpiresAfter: now})
	}
	for _, a := range agents {
		tfilters = append(tfilters, store.AgentTokenFilter{Agent: a, ExpiresAfter: now})
	}
	for _, m := range minters {
		tfilters = append(tfilters, store.AgentTokenFilter{CreatedBy: m, ExpiresAfter: now})
	}
	for _, f := range tfilters {
		page := store.Page{Size: 200}
		for {
			ts, next, err := s.st.ListAgentTokens(ctx, org, f, page)
			if err != nil {
				return nil, false, storeErr("list outranked agent tokens", err)
			}
			for _, tk := range ts {
				_, name, _ := cutPrincipal(tk.Agent)
				created, err := s.agentIncarnation(ctx, org, name, now)
				if err != nil {
					return nil, false, err
				}
				if created.IsZero() || tk.CreatedAt.Before(created) {
					continue // its agent was deleted (and perhaps made again): refused as another's, not by this write
				}
				if j.add(KindAgentToken, tk.ID, tk.Agent, tk.CreatedBy, tk.RevokedAt, tk.ExpiresAt) {
					return j.keys, true, nil
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	return j.keys, false, nil
}

// judge collects the outranked credentials of one OutrankedKeys call.
type judge struct {
	s      *Service
	org    string
	before Before
	now    time.Time
	seen   map[string]bool // kind/id
	read   int
	keys   []OutrankedKey
}

// add judges one credential (kind, id) of principal minted by createdBy,
// keeping it when it is live and now refused but was not in j.before;
// true once more than maxOutrankedKeys were read (the credential is not
// judged).
func (j *judge) add(kind, id, principal, createdBy string, revokedAt, expiresAt time.Time) (truncated bool) {
	if j.seen[kind+"/"+id] {
		return false
	}
	j.seen[kind+"/"+id] = true
	if j.read++; j.read > maxOutrankedKeys {
		return true
	}
	minter := mintedBy(principal, createdBy)
	if minter == "" || !revokedAt.IsZero() || (!expiresAt.IsZero() && !j.now.Before(expiresAt)) {
		return false
	}
	what := "API key"
	if kind == KindAgentToken {
		what = "agent token"
	}
	var oe *OutrankedError
	if !errors.As(j.s.standsBehind(j.s.dir, j.org, minter, principal, what, j.now), &oe) {
		return false
	}
	if j.before.state != nil && j.s.standsBehind(j.before.state, j.org, minter, principal, what, j.now) != nil {
		return false // refused before the write too: not its doing
	}
	j.keys = append(j.keys, OutrankedKey{Kind: kind, ID: id, Principal: principal, Minter: minter, Err: oe})
	return false
}

// keysVisible: c may read the metadata of every credential of keys in
// org: apikeys:read, as ListAgentTokens needs for a token, or every one
// is an API key of c's own (as GetKey decides).
func (s *Service) keysVisible(c Caller, org string, keys []OutrankedKey) bool {
	if s.need(org, c.Principal, "apikeys:read") == nil {
		return true
	}
	for _, k := range keys {
		if k.Kind != KindAPIKey || k.Principal != c.Principal {
			return false
		}
	}
	return true
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
