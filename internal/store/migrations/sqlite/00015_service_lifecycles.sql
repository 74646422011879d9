-- Services under the same lifecycle as agents, SQLite dialect (issue 20;
-- docs/agents.md, "Services: sponsors and lifecycle").
--
-- Forward-only: once released, this file is never edited.
--
-- services.sponsors: a JSON array of "user:<id>" and "team:<slug>", or
-- NULL (none; a service needs no sponsor). require_sponsor (0 or 1) is set
-- while an admin has assigned sponsors: it stays set when the last one
-- leaves the org (the service is then sponsor_gone) until an admin assigns
-- new ones or clears them. lifecycle (0 or 1): the service opted in to the
-- org's inactivity and attestation rules. attested_at and last_used_at
-- (microseconds since the epoch) are NULL until the first attestation or
-- recorded use; the opt-in counts as both.

-- +goose Up

ALTER TABLE services ADD COLUMN sponsors TEXT;
ALTER TABLE services ADD COLUMN require_sponsor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN lifecycle INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN attested_at INTEGER;
ALTER TABLE services ADD COLUMN last_used_at INTEGER;
