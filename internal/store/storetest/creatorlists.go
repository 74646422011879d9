package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// testListsByCreator lists an org's agent tokens and API keys under
// every combination of their filters (agent or principal, minter,
// expiry, minted), a page of one row at a time, and compares each list
// with a filter of all the rows in Go: every row once, in order, the
// cursors carrying the filter. Run through TestQueryPlans it also makes
// the store issue each list's statement with and without a cursor, so
// every combination's plan is checked (migration 00021: the minter's
// indexes).
func testListsByCreator(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := seed(t, s, "a")
	b := seed(t, s, "b")
	created := must(s.GetUser(ctx, "alice")).get(t).CreatedAt
	orgA := must(s.GetOrg(ctx, a.org)).get(t)
	orgB := must(s.GetOrg(ctx, b.org)).get(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	agents := []string{"agent:Triage", "agent:Other"}
	minters := []string{"user:alice", "user:bob", "service:ci"}
	var tokens []store.AgentToken
	var keys []store.APIKey
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		n := 0
		for _, org := range []store.Org{orgA, orgB} {
			for i := range 12 {
				n++
				at := store.AgentToken{Org: org.ID, ID: agentTokenID(n), Agent: agents[i%2], Audience: "https://gh.example/mcp/x",
					CreatedBy: minters[i%3], ExpiresAt: now.Add(time.Duration(10+i%4) * time.Minute)}
				at, err := tx.CreateAgentToken(ctx, at)
				if err != nil {
					return err
				}
				tokens = append(tokens, at)
				principal := []string{"user:alice", "user:bob", "service:ci", "service:ci"}[i%4]
				k := store.APIKey{ID: fmt.Sprintf("key%02dorg%s", n, org.ID), Org: org.ID, Principal: principal, Name: "k",
					Hash: hash32(fmt.Sprint(n)), PrincipalCreatedAt: created, OrgCreatedAt: org.CreatedAt,
					CreatedBy: []string{"user:alice", "user:bob", "user:alice", ""}[i%3+i%2]}
				if k, err = tx.CreateAPIKey(ctx, k); err != nil {
					return err
				}
				k.Hash = nil
				keys = append(keys, k)
			}
		}
		return nil
	})
	slices.SortFunc(tokens, func(x, y store.AgentToken) int { return cmp.Compare(y.ID, x.ID) }) // newest first
	slices.SortFunc(keys, func(x, y store.APIKey) int { return cmp.Compare(x.ID, y.ID) })

	for _, org := range []string{a.org, b.org} {
		for _, agent := range append([]string{""}, agents...) {
			for _, by := range append([]string{"", "user:nobody"}, minters...) {
				for _, after := range []time.Time{{}, now.Add(11*time.Minute + time.Second)} {
					f := store.AgentTokenFilter{Agent: agent, CreatedBy: by, ExpiresAfter: after}
					var want []string
					for _, x := range tokens {
						if x.Org == org && (agent == "" || x.Agent == agent) && (by == "" || x.CreatedBy == by) &&
							(after.IsZero() || x.ExpiresAt.After(after)) {
							want = append(want, x.ID)
						}
					}
					got := pagedIDs(t, fmt.Sprintf("ListAgentTokens(%s, %+v)", org, f), func(p store.Page) ([]string, string, error) {
						ts, next, err := s.ListAgentTokens(ctx, org, f, p)
						var ids []string
						for _, x := range ts {
							ids = append(ids, x.ID)
						}
						return ids, next, err
					})
					diff(t, fmt.Sprintf("ListAgentTokens(%s, %+v)", org, f), want, got)
				}
			}
		}
		for _, principal := range []string{"", "user:alice", "service:ci"} {
			for _, by := range []string{"", "user:alice", "user:bob", "user:nobody"} {
				for _, minted := range []bool{false, true} {
					f := store.APIKeyFilter{Org: org, Principal: principal, CreatedBy: by, Minted: minted}
					var want []string
					for _, k := range keys {
						if k.Org == org && (principal == "" || k.Principal == principal) && (by == "" || k.CreatedBy == by) &&
							(!minted || k.CreatedBy != "" && k.CreatedBy != k.Principal) {
							want = append(want, k.ID)
						}
					}
					got := pagedIDs(t, fmt.Sprintf("ListAPIKeys(%+v)", f), func(p store.Page) ([]string, string, error) {
						ks, next, err := s.ListAPIKeys(ctx, f, p)
						var ids []string
						for _, k := range ks {
							ids = append(ids, k.ID)
						}
						return ids, next, err
					})
					diff(t, fmt.Sprintf("ListAPIKeys(%+v)", f), want, got)
				}
			}
		}
	}
}

// pagedIDs collects a list a page of one at a time (at most 100 pages).
func pagedIDs(t *testing.T, what string, list func(store.Page) ([]string, string, error)) []string {
	t.Helper()
	var out []string
	p := store.Page{Size: 1}
	for range 100 {
		ids, next, err := list(p)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(ids) > 1 || len(ids) == 0 && next != "" {
			t.Fatalf("%s: a page of one returned %d rows, next %q", what, len(ids), next)
		}
		out = append(out, ids...)
		if next == "" {
			return out
		}
		p.Cursor = next
	}
	t.Fatalf("%s: more than 100 pages", what)
	return nil
}
