-- Agent tokens' metadata, sqlite dialect (threat-model row 101).
--
-- Forward-only: once released, this file is never edited.
--
-- One row per minted agent token (docs/agents.md, "Agent tokens"), written
-- in the same transaction as its agent_token.create audit entry, so that
-- an admin can list an agent's tokens and revoke one. Never the token
-- itself. id is the token's jti, 32 lower-case hex digits that sort by
-- creation time. Rows are deleted once expired (by the next mint in the
-- org), so the table holds about an hour of tokens. Times are INTEGER
-- microseconds since the Unix epoch (UTC); revoked_at is NULL until
-- revoked.

-- +goose Up
CREATE TABLE agent_tokens (
    org          TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    agent        TEXT    NOT NULL,
    on_behalf_of TEXT    NOT NULL DEFAULT '',
    audience     TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    revoked_by   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (org, id)
) STRICT;
CREATE INDEX agent_tokens_agent ON agent_tokens (org, agent, id);
CREATE INDEX agent_tokens_expiry ON agent_tokens (org, expires_at);
