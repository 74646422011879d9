-- Agent tokens' metadata, postgres dialect (threat-model row 101).
--
-- Forward-only: once released, this file is never edited.
--
-- One row per minted agent token (docs/agents.md, "Agent tokens"), written
-- in the same transaction as its agent_token.create audit entry, so that
-- an admin can list an agent's tokens and revoke one. Never the token
-- itself. id is the token's jti, 32 lower-case hex digits that sort by
-- creation time. Rows are deleted once expired (by the next mint in the
-- org), so the table holds about an hour of tokens. revoked_at is NULL
-- until revoked.

-- +goose Up
CREATE TABLE agent_tokens (
    org          text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    agent        text COLLATE "C" NOT NULL,
    on_behalf_of text COLLATE "C" NOT NULL DEFAULT '',
    audience     text NOT NULL,
    created_by   text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (org, id)
);
CREATE INDEX agent_tokens_agent ON agent_tokens (org, agent, id);
CREATE INDEX agent_tokens_expiry ON agent_tokens (org, expires_at);
