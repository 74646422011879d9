package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A write that raises a principal (a binding, a share) may make it
// outrank the minter of one of its API keys: from then on every use of
// the key is refused (minter.go). The write is not refused (DESIGN §1.2
// lets whoever may grant the role grant it); its answer warns instead,
// naming the keys that stop (threat-model row 86). Agent tokens are not
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

// OutrankedKeys lists the live API keys of org, among the keys of
// principals (a "team:" id stands for the services among its members;
// only services' keys are minted by someone else), whose use would now be
// refused 403 credential-outranks-minter — minterStands' comparison
// against the engine's current state, so call it once the write has
// settled. visible says whether c may read those keys' metadata
// (apikeys:read at org scope, or every key is c's own): a caller that may
// not is told only how many there are. truncated: more keys than
// maxOutrankedKeys were read.
func (s *Service) OutrankedKeys(ctx context.Context, c Caller, org string, principals []string) (keys []OutrankedKey, visible, truncated bool, err error) {
	svcs, err := s.servicesOf(ctx, org, principals)
	if err != nil || len(svcs) == 0 {
		return nil, false, false, err
	}
	now := s.opts.Now()
	read := 0
	for _, p := range svcs {
		page := store.Page{Size: 200}
		for {
			ks, next, err := s.st.ListAPIKeys(ctx, store.APIKeyFilter{Org: org, Principal: p}, page)
			if err != nil {
				return nil, false, false, storeErr("list outranked keys", err)
			}
			for _, k := range ks {
				if read++; read > maxOutrankedKeys {
					return keys, s.keysVisible(c, org, keys), true, nil
				}
				minter := mintedBy(k.Principal, k.CreatedBy)
				if minter == "" || !k.RevokedAt.IsZero() || (!k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)) {
					continue
				}
				var oe *OutrankedError
				if errors.As(s.standsBehind(org, minter, k.Principal, "API key", now), &oe) {
					keys = append(keys, OutrankedKey{ID: k.ID, Principal: k.Principal, Minter: minter, Err: oe})
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	return keys, s.keysVisible(c, org, keys), false, nil
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
	var out []string
	for _, p := range principals {
		switch {
		case strings.HasPrefix(p, authz.KindService+":"):
			out = append(out, p)
		case strings.HasPrefix(p, authz.KindTeam+":"):
			t, err := s.st.GetTeam(ctx, org, strings.TrimPrefix(p, authz.KindTeam+":"))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, storeErr("list outranked keys", err)
			}
			for _, m := range t.Members {
				if strings.HasPrefix(m, authz.KindService+":") {
					out = append(out, m)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
