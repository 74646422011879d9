-- Audit log against a database writer, SQLite dialect (issue 11;
-- docs/audit.md, "Guarantees").
--
-- Forward-only: once released, this file is never edited.
--
-- audit_entries.mac: HMAC-SHA-256 of the entry's chain hash under a key
-- derived from the audit signing key (which the database does not hold).
-- NULL for entries written before this migration, or by a writer without
-- the key; internal/audit decides what such an entry proves.
--
-- audit_heads: each org's newest entry as the writer recorded it, in the
-- same transaction as the entry, with its own MAC (another label, so that
-- an entry's MAC is never a valid head MAC): verification compares the
-- chain's end with it, which detects entries deleted from the end and a
-- log deleted whole. Mutable (the head moves with every entry) but never
-- deleted.

-- +goose Up

ALTER TABLE audit_entries ADD COLUMN mac BLOB;

CREATE TABLE audit_heads (
    org  TEXT    NOT NULL PRIMARY KEY,
    seq  INTEGER NOT NULL CHECK (seq >= 1),
    hash BLOB    NOT NULL,
    mac  BLOB
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN
    SELECT RAISE(ABORT, 'audit heads are never deleted');
END;
-- +goose StatementEnd
