package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Agent tokens' metadata (store/agenttokens.go).

// agentTokenID is a well-formed token id: 32 hex digits whose order is n's.
func agentTokenID(n int) string { return fmt.Sprintf("%032x", n) }

func testAgentTokens(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := seed(t, s, "a")
	b := seed(t, s, "b")
	exp := time.Now().UTC().Add(time.Hour).Truncate(time.Microsecond)
	tok := func(org string, n int, agent string) store.AgentToken {
		return store.AgentToken{Org: org, ID: agentTokenID(n), Agent: agent, Audience: "https://gh.example/mcp/" + org + "/default/x",
			CreatedBy: "user:alice", ExpiresAt: exp}
	}
	var first store.AgentToken
	before := must(s.CurrentRevision(ctx)).get(t)
	rev := write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		t1 := tok(a.org, 1, "agent:Triage")
		t1.OnBehalfOf = "user:bob"
		if first, err = tx.CreateAgentToken(ctx, t1); err != nil {
			return err
		}
		t3 := tok(a.org, 3, "agent:Other")
		t3.CreatedBy = "user:bob"
		for _, x := range []store.AgentToken{tok(a.org, 2, "agent:Triage"), t3, tok(b.org, 4, "agent:Triage")} {
			if _, err := tx.CreateAgentToken(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	if rev != before+1 {
		t.Errorf("creating tokens committed revision %d, want %d", rev, before+1)
	}
	got := must(s.GetAgentToken(ctx, a.org, first.ID)).get(t)
	diff(t, "GetAgentToken", first, got)
	if got.CreatedAt.IsZero() || !got.ExpiresAt.Equal(exp) || got.OnBehalfOf != "user:bob" {
		t.Errorf("GetAgentToken = %+v", got)
	}
	// Org isolation: b's token is not a's, and the other way round.
	wantErr(t, "GetAgentToken of another org", second(s.GetAgentToken(ctx, a.org, agentTokenID(4))), store.ErrNotFound)
	wantErr(t, "GetAgentToken of another org", second(s.GetAgentToken(ctx, b.org, first.ID)), store.ErrNotFound)

	ids := func(f store.AgentTokenFilter, org string) []string {
		t.Helper()
		ts := must3(t, func(ctx context.Context, org string, p store.Page) ([]store.AgentToken, string, error) {
			return s.ListAgentTokens(ctx, org, f, p)
		}, ctx, org)
		var out []string
		for _, x := range ts {
			out = append(out, x.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		org  string
		f    store.AgentTokenFilter
		want []string
	}{
		{"org, newest first", a.org, store.AgentTokenFilter{}, []string{agentTokenID(3), agentTokenID(2), agentTokenID(1)}},
		{"one agent", a.org, store.AgentTokenFilter{Agent: "agent:Triage"}, []string{agentTokenID(2), agentTokenID(1)}},
		{"other org", b.org, store.AgentTokenFilter{}, []string{agentTokenID(4)}},
		{"unexpired", a.org, store.AgentTokenFilter{ExpiresAfter: exp.Add(-time.Second)}, []string{agentTokenID(3), agentTokenID(2), agentTokenID(1)}},
		{"expired by then", a.org, store.AgentTokenFilter{ExpiresAfter: exp}, nil},
		{"one minter", a.org, store.AgentTokenFilter{CreatedBy: "user:bob"}, []string{agentTokenID(3)}},
		{"another minter", a.org, store.AgentTokenFilter{CreatedBy: "user:alice"}, []string{agentTokenID(2), agentTokenID(1)}},
		{"one minter and agent", a.org, store.AgentTokenFilter{Agent: "agent:Triage", CreatedBy: "user:bob"}, nil},
		{"one minter, other org", b.org, store.AgentTokenFilter{CreatedBy: "user:bob"}, nil},
	} {
		diff(t, "ListAgentTokens "+tc.name, tc.want, ids(tc.f, tc.org))
	}
	// Paging, newest first, one at a time.
	var paged []string
	cursor := ""
	for range 5 {
		ts, next, err := s.ListAgentTokens(ctx, a.org, store.AgentTokenFilter{Agent: "agent:Triage"}, store.Page{Size: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			paged = append(paged, x.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	diff(t, "ListAgentTokens by pages", []string{agentTokenID(2), agentTokenID(1)}, paged)

	// Revocation: once, under the token's org only, as a change.
	base := must(s.CurrentRevision(ctx)).get(t)
	wantErr(t, "revoke through another org", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAgentToken(ctx, b.org, first.ID, "user:alice")
		return err
	}), store.ErrNotFound)
	wantErr(t, "revoke by a malformed principal", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAgentToken(ctx, a.org, first.ID, "nobody")
		return err
	}), store.ErrInvalid)
	var revoked store.AgentToken
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		revoked, err = tx.RevokeAgentToken(ctx, a.org, first.ID, "user:alice")
		return err
	})
	if revoked.RevokedAt.IsZero() || revoked.RevokedBy != "user:alice" {
		t.Errorf("RevokeAgentToken = %+v", revoked)
	}
	diff(t, "GetAgentToken after revoke", revoked, must(s.GetAgentToken(ctx, a.org, first.ID)).get(t))
	wantErr(t, "revoke twice", writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.RevokeAgentToken(ctx, a.org, first.ID, "user:alice")
		return err
	}), store.ErrConflict)
	cs := changes(t, s, base)
	if len(cs) != 1 || cs[0].Kind != store.KindAgentTokenPut || cs[0].Org != a.org || cs[0].Key != first.ID {
		t.Fatalf("revocation changes = %+v, want one agent_token.put of %s/%s", cs, a.org, first.ID)
	}
	if v, err := cs[0].Decode(); err != nil {
		t.Errorf("Decode: %v", err)
	} else {
		diff(t, "revocation payload", revoked, v)
	}

	// Malformed input is ErrInvalid, a missing org ErrNotFound, a taken
	// id ErrConflict; nothing is written.
	for _, tc := range []struct {
		name string
		edit func(*store.AgentToken)
		want error
	}{
		{"short id", func(x *store.AgentToken) { x.ID = "abc" }, store.ErrInvalid},
		{"upper-case id", func(x *store.AgentToken) { x.ID = "ABCDEF0123456789ABCDEF0123456789" }, store.ErrInvalid},
		{"not an agent", func(x *store.AgentToken) { x.Agent = "service:ci" }, store.ErrInvalid},
		{"obo not a user", func(x *store.AgentToken) { x.OnBehalfOf = "agent:Triage" }, store.ErrInvalid},
		{"no minter", func(x *store.AgentToken) { x.CreatedBy = "" }, store.ErrInvalid},
		{"no audience", func(x *store.AgentToken) { x.Audience = "" }, store.ErrInvalid},
		{"no expiry", func(x *store.AgentToken) { x.ExpiresAt = time.Time{} }, store.ErrInvalid},
		{"bad org", func(x *store.AgentToken) { x.Org = "Not An Org" }, store.ErrInvalid},
		{"missing org", func(x *store.AgentToken) { x.Org = "nosuch" }, store.ErrNotFound},
		{"taken id", func(x *store.AgentToken) { x.ID = agentTokenID(2) }, store.ErrConflict},
	} {
		x := tok(a.org, 99, "agent:Triage")
		tc.edit(&x)
		wantErr(t, "CreateAgentToken "+tc.name, writeErr(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.CreateAgentToken(ctx, x)
			return err
		}), tc.want)
	}
	wantErr(t, "GetAgentToken of a refused create", second(s.GetAgentToken(ctx, a.org, agentTokenID(99))), store.ErrNotFound)

	// Pruning: a mint deletes the org's expired rows, not the other
	// org's, nor rows still live.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		x := tok(b.org, 5, "agent:Triage")
		x.ExpiresAt = tx.Now().Add(-time.Minute) // already expired: stored, pruned by the next mint
		_, err := tx.CreateAgentToken(ctx, x)
		return err
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateAgentToken(ctx, tok(a.org, 6, "agent:Triage"))
		return err
	})
	if _, err := s.GetAgentToken(ctx, b.org, agentTokenID(5)); err != nil {
		t.Errorf("a mint in org a pruned org b's row: %v", err)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.CreateAgentToken(ctx, tok(b.org, 7, "agent:Triage"))
		return err
	})
	wantErr(t, "GetAgentToken of an expired row after a mint", second(s.GetAgentToken(ctx, b.org, agentTokenID(5))), store.ErrNotFound)
	diff(t, "org b's rows after pruning", []string{agentTokenID(7), agentTokenID(4)}, ids(store.AgentTokenFilter{}, b.org))

	// Deleting the org deletes its rows.
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteOrg(ctx, b.org) })
	seed(t, s, b.org)
	diff(t, "a recreated org's tokens", []string(nil), ids(store.AgentTokenFilter{}, b.org))
}
