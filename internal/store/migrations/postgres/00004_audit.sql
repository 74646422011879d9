-- Audit log, PostgreSQL dialect (issue 7; docs/audit.md describes the
-- format).
--
-- Forward-only: once released, this file is never edited.
--
-- Entries, checkpoints and prune records are append-only: the triggers
-- below refuse UPDATE and TRUNCATE, and DELETE except of entries that a
-- prune record covers (PruneAudit inserts the record, then deletes).
-- Nothing in Gatehouse issues an UPDATE or DELETE on them otherwise. The
-- triggers stop mistakes and the application; tamper evidence against
-- someone who can drop them comes from the hash chain and the signed
-- checkpoints.
--
-- Audit rows have no foreign key to orgs: an org's log outlives the org.
-- Times are bigint microseconds since the Unix epoch (UTC), as hashed;
-- text columns use the "C" collation so ordering compares bytes.

-- +goose Up

CREATE TABLE audit_entries (
    org    text COLLATE "C" NOT NULL,
    seq    bigint NOT NULL CHECK (seq >= 1),
    at     bigint NOT NULL,
    actor  text COLLATE "C" NOT NULL,
    action text COLLATE "C" NOT NULL,
    target text COLLATE "C" NOT NULL,
    result text COLLATE "C" NOT NULL,
    body   text NOT NULL,
    hash   bytea NOT NULL,
    PRIMARY KEY (org, seq)
);
CREATE INDEX audit_entries_actor ON audit_entries (org, actor, seq);
CREATE INDEX audit_entries_target ON audit_entries (org, target, seq);
CREATE INDEX audit_entries_at ON audit_entries (org, at, seq);

CREATE TABLE audit_checkpoints (
    org       text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    head      bytea NOT NULL,
    at        bigint NOT NULL,
    key_id    text COLLATE "C" NOT NULL,
    signature bytea NOT NULL,
    PRIMARY KEY (org, seq)
);

CREATE TABLE audit_prunes (
    org         text COLLATE "C" NOT NULL,
    through_seq bigint NOT NULL CHECK (through_seq >= 1),
    at          bigint NOT NULL,
    PRIMARY KEY (org, through_seq)
);

-- Exporters' positions: mutable (an exporter moves its cursor forward).
CREATE TABLE audit_export_cursors (
    org        text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 0),
    updated_at bigint NOT NULL,
    PRIMARY KEY (org, name)
);

-- Per-org audit settings (decision logging): a JSON object, mutable.
CREATE TABLE audit_settings (
    org        text COLLATE "C" NOT NULL PRIMARY KEY,
    settings   text NOT NULL,
    updated_at bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_entries' AND EXISTS (
        SELECT 1 FROM audit_prunes p WHERE p.org = OLD.org AND p.through_seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_prunes_append_only BEFORE UPDATE OR DELETE ON audit_prunes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_prunes_no_truncate BEFORE TRUNCATE ON audit_prunes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
