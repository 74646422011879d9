-- Suspension of services on request, SQLite dialect (issues 16 and 20;
-- docs/agents.md, "Suspending a service").
--
-- Forward-only: once released, this file is never edited.
--
-- services.suspended: a suspension by hand (0 or 1). While it is set,
-- every decision for the service is deny with reason "suspended", and
-- its API keys and run-token exchanges are refused.

-- +goose Up

ALTER TABLE services ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
