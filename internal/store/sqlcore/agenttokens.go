package sqlcore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Agent tokens' metadata (store/agenttokens.go): org-scoped rows, found by
// org and id; their changelog entries carry the org.

const agentTokenCols = `org, id, agent, on_behalf_of, audience, created_by, created_at, expires_at, revoked_at, revoked_by`

func scanAgentToken(r Rows) (t store.AgentToken, err error) {
	err = r.Scan(&t.Org, &t.ID, &t.Agent, &t.OnBehalfOf, &t.Audience, &t.CreatedBy,
		scanTime(&t.CreatedAt), scanTime(&t.ExpiresAt), scanTime(&t.RevokedAt), &t.RevokedBy)
	return t, err
}

// validAgentTokenID: 32 lower-case hex digits.
func validAgentTokenID(s string) bool { return lowerHex(s, 32) }

// maxAgentTokenAudience bounds a stored audience (auth checks 2,048).
const maxAgentTokenAudience = 2048

func (r reader) GetAgentToken(ctx context.Context, org, id string) (store.AgentToken, error) {
	return get(ctx, r, "get agent token", fmt.Sprintf("agent token %q in org %q", id, org), scanAgentToken,
		`SELECT `+agentTokenCols+` FROM agent_tokens WHERE org = $1 AND id = $2`, org, id)
}

func (r reader) ListAgentTokens(ctx context.Context, org string, f store.AgentTokenFilter, p store.Page) ([]store.AgentToken, string, error) {
	sql := `SELECT ` + agentTokenCols + ` FROM agent_tokens WHERE org = $1`
	args := []any{org}
	scope := org + "/" + f.Agent // a cursor is valid only for its filter
	if f.Agent != "" {
		args = append(args, f.Agent)
		sql += fmt.Sprintf(` AND agent = $%d`, len(args))
	}
	if f.CreatedBy != "" {
		scope += "/by/" + f.CreatedBy
		args = append(args, f.CreatedBy)
		sql += fmt.Sprintf(` AND created_by = $%d`, len(args))
	}
	if !f.ExpiresAfter.IsZero() {
		args = append(args, r.s.b.TimeArg(f.ExpiresAfter.UTC().Truncate(time.Microsecond)))
		// Not a range SQLite could search agent_tokens_expiry for: it
		// matches nearly every row (each mint prunes the expired), yet
		// SQLite's planner, which cannot know that, read the org's
		// tokens by expiry and sorted them, even with an agent or minter
		// index at hand (TestQueryPlans). A filter on the key's walk.
		sql += fmt.Sprintf(` AND NOT (expires_at <= $%d)`, len(args))
	}
	return list(ctx, r, listSpec[store.AgentToken]{
		op: "list agent tokens", list: "agent_tokens", scope: scope,
		sql: sql, args: args, keyCols: []string{"id"}, desc: true,
		keys: func(t store.AgentToken) []string { return []string{t.ID} }, scan: scanAgentToken,
	}, p)
}

func (t *txn) CreateAgentToken(ctx context.Context, at store.AgentToken) (store.AgentToken, error) {
	const op = "create agent token"
	if err := t.begin(op); err != nil {
		return store.AgentToken{}, err
	}
	c := checks{op: op}
	c.org(at.Org)
	c.need(validAgentTokenID(at.ID), "agent token id %q is not 32 lower-case hex digits", at.ID)
	kind, _, ok := splitPrincipal(at.Agent)
	c.need(ok && kind == "agent", "agent %q is not agent:<name>", at.Agent)
	if at.OnBehalfOf != "" {
		kind, _, ok := splitPrincipal(at.OnBehalfOf)
		c.need(ok && kind == "user", "on_behalf_of %q is not user:<id>", at.OnBehalfOf)
	}
	_, _, ok = splitPrincipal(at.CreatedBy)
	c.need(ok, "created_by %q is not a principal", at.CreatedBy)
	c.need(at.Audience != "" && validText(at.Audience, maxAgentTokenAudience), "audience is not printable text of 1 to %d bytes", maxAgentTokenAudience)
	c.need(!at.ExpiresAt.IsZero(), "expires_at is required")
	if c.err != nil {
		return store.AgentToken{}, c.err
	}
	if err := t.requireOrg(ctx, op, at.Org); err != nil {
		return store.AgentToken{}, err
	}
	detail := fmt.Sprintf("agent token %q in org %q", at.ID, at.Org)
	if ok, err := t.exists(ctx, op, detail, `SELECT 1 FROM agent_tokens WHERE org = $1 AND id = $2`, at.Org, at.ID); err != nil {
		return store.AgentToken{}, err
	} else if ok {
		return store.AgentToken{}, conflict(op, detail+" already exists")
	}
	// Pruning: the org's rows of tokens that can no longer authenticate.
	// Each row is deleted once, by the first mint after its expiry, so
	// the table holds the last hour's tokens (a token's longest life).
	if _, err := t.exec(ctx, op, detail, `DELETE FROM agent_tokens WHERE org = $1 AND expires_at < $2`, at.Org, t.s.b.TimeArg(t.now)); err != nil {
		return store.AgentToken{}, err
	}
	at.CreatedAt, at.RevokedAt, at.RevokedBy = t.now, time.Time{}, ""
	at.ExpiresAt = at.ExpiresAt.UTC().Truncate(time.Microsecond)
	if _, err := t.exec(ctx, op, detail, `INSERT INTO agent_tokens (`+agentTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, '')`,
		at.Org, at.ID, at.Agent, at.OnBehalfOf, at.Audience, at.CreatedBy, t.s.b.TimeArg(t.now), t.s.b.TimeArg(at.ExpiresAt)); err != nil {
		return store.AgentToken{}, err
	}
	return at, t.record(ctx, op, store.KindAgentTokenPut, at.Org, at.ID, at)
}

func (t *txn) RevokeAgentToken(ctx context.Context, org, id, revokedBy string) (store.AgentToken, error) {
	const op = "revoke agent token"
	if err := t.begin(op); err != nil {
		return store.AgentToken{}, err
	}
	if _, _, ok := splitPrincipal(revokedBy); !ok {
		return store.AgentToken{}, invalid(op, "revoked_by %q is not a principal", revokedBy)
	}
	at, err := t.GetAgentToken(ctx, org, id)
	if err != nil {
		return store.AgentToken{}, err
	}
	detail := fmt.Sprintf("agent token %q in org %q", id, org)
	if !at.RevokedAt.IsZero() {
		return store.AgentToken{}, conflict(op, detail+" is already revoked")
	}
	at.RevokedAt, at.RevokedBy = t.now, revokedBy
	if _, err := t.exec(ctx, op, detail, `UPDATE agent_tokens SET revoked_at = $3, revoked_by = $4 WHERE org = $1 AND id = $2`,
		org, id, t.s.b.TimeArg(t.now), revokedBy); err != nil {
		return store.AgentToken{}, err
	}
	return at, t.record(ctx, op, store.KindAgentTokenPut, org, id, at)
}
