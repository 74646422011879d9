-- Indexes that keep approval and run reads searches of what they filter
-- on, in the order they answer (issue 19's plan test).
--
-- Forward-only: once released, this file is never edited.
--
-- A pending approval is found by (org, key) newest first: with
-- approvals_key on (org, key, status), SQLite's planner preferred the
-- primary key (org, id) for the ORDER BY and searched the whole org. Runs
-- listed by status had no index beyond the primary key.

-- +goose Up
DROP INDEX approvals_key;
CREATE INDEX approvals_key ON approvals (org, key, id);
CREATE INDEX runs_status ON runs (org, status, id);

-- +goose Down
DROP INDEX runs_status;
DROP INDEX approvals_key;
CREATE INDEX approvals_key ON approvals (org, key, status);
