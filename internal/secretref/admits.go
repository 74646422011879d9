package secretref

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/authz"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Admits reports whether principal p may reference secret s (its
// referable_by restriction): anyone when s.ReferableBy is empty; else p is
// listed, is a member of a listed team, or holds a listed role
// ("role:<name>") unconditionally at org scope or in the secret's
// namespace, directly or through a team. r is read as of the caller's
// transaction.
func Admits(ctx context.Context, r store.Reader, s store.Secret, p string) (bool, error) {
	if len(s.ReferableBy) == 0 {
		return true, nil
	}
	roles := map[string]bool{}
	teams := map[string]bool{}
	for _, e := range s.ReferableBy {
		switch {
		case e == p:
			return true, nil
		case strings.HasPrefix(e, "role:"):
			roles[strings.TrimPrefix(e, "role:")] = true
		case strings.HasPrefix(e, authz.KindTeam+":"):
			teams[strings.TrimPrefix(e, authz.KindTeam+":")] = true
		}
	}
	// The principal's teams: only the listed ones matter for membership,
	// every one for role bindings.
	holders := []string{p}
	ts, err := allTeams(ctx, r, s.Org)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		full, err := r.GetTeam(ctx, s.Org, t.Slug)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return false, err
		}
		if !slices.Contains(full.Members, p) {
			continue
		}
		if teams[t.Slug] {
			return true, nil
		}
		holders = append(holders, full.PrincipalID())
	}
	if len(roles) == 0 {
		return false, nil
	}
	for _, h := range holders {
		page := store.Page{}
		for {
			bs, next, err := r.ListBindings(ctx, s.Org, store.BindingFilter{Principal: h}, page)
			if err != nil {
				return false, err
			}
			for _, b := range bs {
				sc := b.Scope
				inScope := sc.Namespace == "" || (sc.Namespace == s.Namespace && sc.Type == "")
				if b.Role != "" && roles[b.Role] && b.Condition == "" && inScope {
					return true, nil
				}
			}
			if next == "" {
				break
			}
			page.Cursor = next
		}
	}
	return false, nil
}

func allTeams(ctx context.Context, r store.Reader, org string) ([]store.Team, error) {
	var out []store.Team
	page := store.Page{Size: store.MaxPageSize}
	for {
		ts, next, err := r.ListTeams(ctx, org, page)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
		if next == "" {
			return out, nil
		}
		page.Cursor = next
	}
}
