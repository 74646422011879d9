-- Audit log, SQLite dialect (issue 7; docs/audit.md describes the format).
--
-- Forward-only: once released, this file is never edited.
--
-- Entries, checkpoints and prune records are append-only: the triggers
-- below refuse UPDATE, and DELETE except of entries that a prune record
-- covers (PruneAudit inserts the record, then deletes). Nothing in
-- Gatehouse issues an UPDATE or DELETE on them otherwise. The triggers stop
-- mistakes and the application; tamper evidence against someone who can
-- drop them comes from the hash chain and the signed checkpoints.
--
-- Audit rows have no foreign key to orgs: an org's log outlives the org.
-- Times are INTEGER microseconds since the Unix epoch (UTC), as hashed.

-- +goose Up

CREATE TABLE audit_entries (
    org    TEXT    NOT NULL,
    seq    INTEGER NOT NULL CHECK (seq >= 1),
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    result TEXT    NOT NULL,
    body   TEXT    NOT NULL,
    hash   BLOB    NOT NULL,
    PRIMARY KEY (org, seq)
) STRICT;
CREATE INDEX audit_entries_actor ON audit_entries (org, actor, seq);
CREATE INDEX audit_entries_target ON audit_entries (org, target, seq);
CREATE INDEX audit_entries_at ON audit_entries (org, at, seq);

CREATE TABLE audit_checkpoints (
    org       TEXT    NOT NULL,
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    head      BLOB    NOT NULL,
    at        INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (org, seq)
) STRICT;

CREATE TABLE audit_prunes (
    org         TEXT    NOT NULL,
    through_seq INTEGER NOT NULL CHECK (through_seq >= 1),
    at          INTEGER NOT NULL,
    PRIMARY KEY (org, through_seq)
) STRICT;

-- Exporters' positions: mutable (an exporter moves its cursor forward).
CREATE TABLE audit_export_cursors (
    org        TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org, name)
) STRICT;

-- Per-org audit settings (decision logging): a JSON object, mutable.
CREATE TABLE audit_settings (
    org        TEXT    NOT NULL PRIMARY KEY,
    settings   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
WHEN NOT EXISTS (SELECT 1 FROM audit_prunes p WHERE p.org = OLD.org AND p.through_seq >= OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only (only a recorded prune deletes)');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_prunes_no_update BEFORE UPDATE ON audit_prunes
BEGIN
    SELECT RAISE(ABORT, 'audit prune records are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_prunes_no_delete BEFORE DELETE ON audit_prunes
BEGIN
    SELECT RAISE(ABORT, 'audit prune records are append-only');
END;
-- +goose StatementEnd
