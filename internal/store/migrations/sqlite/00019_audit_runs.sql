-- Audit runs, SQLite dialect (issue 19 goal 4; docs/audit.md, "Storage").
--
-- Forward-only: once released, this file is never edited.
--
-- A run is a stretch of one org's entries with consecutive sequence
-- numbers, one actor and one time, written by one transaction (a
-- transaction's entries share its time, and a bulk write's its actor):
-- one row, first_seq to last_seq. The audit log's actor and time filters
-- find runs through this table's indexes and then the runs' entries by
-- the entries' key, so the entries need no actor or time index of their
-- own: a bulk write of 1,000 facts writes one run, not 2,000 index
-- entries. Every entry is in exactly one run.
--
-- Runs are append-only like the entries: no UPDATE, and DELETE only of a
-- run whose entries a prune record covers. A run that straddles a prune's
-- end is kept (its entries after the prune remain); the queries join the
-- entries, so it names no pruned entry.

-- +goose Up

CREATE TABLE audit_runs (
    org       TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    last_seq  INTEGER NOT NULL CHECK (last_seq >= 1),
    first_seq INTEGER NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
    at        INTEGER NOT NULL,
    PRIMARY KEY (org, actor, last_seq)
) STRICT, WITHOUT ROWID;
-- Keyed by the actor filter itself (a WITHOUT ROWID table is its key's
-- B-tree): a run is two B-tree entries, this and the time index, as many
-- as the two entry indexes this migration drops, so a transaction of one
-- entry writes no more than before and a bulk write of 1,000 writes two
-- instead of 2,000. With org and actor fixed the key gives the actor's
-- runs in last_seq order, one per value, so a page walks runs and their
-- entries in sequence order without sorting.
CREATE INDEX audit_runs_at ON audit_runs (org, at);

-- One run per existing entry (correct, if not as small as new runs).
INSERT INTO audit_runs (org, actor, last_seq, first_seq, at)
    SELECT org, actor, seq, seq, at FROM audit_entries;

DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_at;

-- +goose StatementBegin
CREATE TRIGGER audit_runs_no_update BEFORE UPDATE ON audit_runs
BEGIN
    SELECT RAISE(ABORT, 'audit runs are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_runs_no_delete BEFORE DELETE ON audit_runs
WHEN NOT EXISTS (SELECT 1 FROM audit_prunes p WHERE p.org = OLD.org AND p.through_seq >= OLD.last_seq)
BEGIN
    SELECT RAISE(ABORT, 'audit runs are append-only (only a recorded prune deletes)');
END;
-- +goose StatementEnd
