package store

import (
	"context"
	"time"
)

// Agent tokens (docs/agents.md, "Agent tokens"): the metadata of each
// minted agent token, so that an admin can list an agent's tokens and
// revoke one by its id (threat-model row 101). The token itself (a signed
// JWT) is never stored. A row is written in the same Write as the token's
// agent_token.create audit entry and lives until the token expires: each
// CreateAgentToken deletes the org's rows that expired before the
// transaction's time, so the table holds at most the tokens of the last
// hour (a token's longest life).
//
// Invariants the conformance suite checks:
//
//   - Org isolation: every read and write names its org; an id of
//     another org is ErrNotFound.
//   - Revocation is one-way: RevokeAgentToken succeeds once; the row
//     keeps who revoked it and when until it is pruned.
//   - Every create and revoke is one agent_token.put changelog entry
//     under the token's org, carrying the row, so that every process's
//     in-memory revocation set follows it.

// AgentToken is a minted agent token's metadata. ID is the token's jti:
// 32 lower-case hex digits, which sort by creation time.
type AgentToken struct {
	Org        string    `json:"org"`
	ID         string    `json:"id"`
	Agent      string    `json:"agent"`                  // "agent:<name>"
	OnBehalfOf string    `json:"on_behalf_of,omitempty"` // "user:<id>" or ""
	Audience   string    `json:"audience"`
	CreatedBy  string    `json:"created_by"` // the minter
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	RevokedBy  string    `json:"revoked_by,omitempty"`
}

// AgentTokenFilter narrows ListAgentTokens.
type AgentTokenFilter struct {
	Agent string // exact "agent:<name>"; "" matches every agent of the org
	// CreatedBy: only the tokens this principal minted (exact; "" matches
	// every minter).
	CreatedBy string
	// ExpiresAfter: only tokens that expire after this instant (zero: all
	// rows still stored).
	ExpiresAfter time.Time
}

// KindAgentTokenPut is the changelog kind of a created or revoked agent
// token (Change.Org is the token's org, Key its id); the payload is the
// AgentToken.
const KindAgentTokenPut Kind = "agent_token.put"

// AgentTokenReader reads agent tokens.
type AgentTokenReader interface {
	// GetAgentToken returns the org's token id. ErrNotFound if there is
	// none in that org (never minted, minted before this table existed,
	// pruned after expiry, or another org's).
	GetAgentToken(ctx context.Context, org, id string) (AgentToken, error)
	// ListAgentTokens lists the org's tokens matching f, newest first (by
	// id). ErrInvalid for a bad page or a cursor of another filter.
	ListAgentTokens(ctx context.Context, org string, f AgentTokenFilter, p Page) ([]AgentToken, string, error)
}

// AgentTokenWriter changes agent tokens.
type AgentTokenWriter interface {
	// CreateAgentToken stores a token's metadata (CreatedAt is the
	// transaction's time; RevokedAt and RevokedBy are cleared) and
	// deletes the org's rows that expired before that time.
	// ErrInvalid for a malformed id, org, agent, on_behalf_of, minter,
	// an empty audience or a zero expiry; ErrNotFound if the org does not
	// exist; ErrConflict if the id is taken in the org.
	CreateAgentToken(ctx context.Context, t AgentToken) (AgentToken, error)
	// RevokeAgentToken marks the org's token id revoked now by revokedBy
	// and returns it as revoked. ErrInvalid for a malformed revokedBy;
	// ErrNotFound if the org has no such token; ErrConflict if it is
	// already revoked.
	RevokeAgentToken(ctx context.Context, org, id, revokedBy string) (AgentToken, error)
}
