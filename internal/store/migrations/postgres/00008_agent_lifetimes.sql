-- Lifetimes of grants and agents, PostgreSQL dialect (issue 20;
-- docs/agents.md).
--
-- Forward-only: once released, this file is never edited.
--
-- bindings.expires_at: when set, the binding grants nothing from that
-- instant on; the engine ignores it at decision time, and
-- DeleteExpiredBindings removes it later. NULL: never expires.

-- +goose Up

ALTER TABLE bindings ADD COLUMN expires_at timestamptz;
CREATE INDEX bindings_expires ON bindings (org, expires_at) WHERE expires_at IS NOT NULL;

-- Lifecycles (docs/agents.md, "Sponsors and lifecycle"). orgs: the org's
-- rules, in seconds (0: off): suspend agents unused for inactive_after,
-- and those not attested for attest_every. agents: sponsors is a JSON
-- array of "user:<id>" and "team:<slug>" (the legacy sponsor column keeps
-- the first user's id); suspended is a suspension by hand (0 or 1);
-- attested_at and last_used_at are NULL until the first attestation or
-- recorded use (the creation counts as both).
ALTER TABLE orgs ADD COLUMN inactive_after bigint NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN attest_every bigint NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN sponsors text COLLATE "C";
ALTER TABLE agents ADD COLUMN suspended integer NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN attested_at timestamptz;
ALTER TABLE agents ADD COLUMN last_used_at timestamptz;
UPDATE agents SET sponsors = '["user:' || sponsor || '"]' WHERE sponsor <> '';
