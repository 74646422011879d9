-- Audit run contexts, PostgreSQL dialect (issue 19 goal 4;
-- docs/audit.md, "Stored columns"). See the SQLite file for the design.
--
-- Forward-only: once released, this file is never edited.

-- +goose Up

ALTER TABLE audit_runs ADD COLUMN ctx text NOT NULL DEFAULT '';
