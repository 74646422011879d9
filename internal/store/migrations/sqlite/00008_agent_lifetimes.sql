-- Lifetimes of grants and agents, SQLite dialect (issue 20; docs/agents.md).
--
-- Forward-only: once released, this file is never edited.
--
-- bindings.expires_at: when set (microseconds since the epoch), the binding
-- grants nothing from that instant on; the engine ignores it at decision
-- time, and DeleteExpiredBindings removes it later. NULL: never expires.

-- +goose Up

ALTER TABLE bindings ADD COLUMN expires_at INTEGER;
CREATE INDEX bindings_expires ON bindings (org, expires_at) WHERE expires_at IS NOT NULL;

-- Lifecycles (docs/agents.md, "Sponsors and lifecycle"). orgs: the org's
-- rules, in seconds (0: off): suspend agents unused for inactive_after,
-- and those not attested for attest_every. agents: sponsors is a JSON
-- array of "user:<id>" and "team:<slug>" (the legacy sponsor column keeps
-- the first user's id); suspended is a suspension by hand (0 or 1);
-- attested_at and last_used_at are NULL until the first attestation or
-- recorded use (the creation counts as both).
ALTER TABLE orgs ADD COLUMN inactive_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN attest_every INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN sponsors TEXT;
ALTER TABLE agents ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN attested_at INTEGER;
ALTER TABLE agents ADD COLUMN last_used_at INTEGER;
UPDATE agents SET sponsors = '["user:' || sponsor || '"]' WHERE sponsor <> '';
