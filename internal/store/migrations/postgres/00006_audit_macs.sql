-- Audit log against a database writer, PostgreSQL dialect (issue 11;
-- docs/audit.md, "Guarantees"). See the SQLite file for the design.
--
-- Forward-only: once released, this file is never edited.

-- +goose Up

ALTER TABLE audit_entries ADD COLUMN mac bytea;

CREATE TABLE audit_heads (
    org  text COLLATE "C" NOT NULL PRIMARY KEY,
    seq  bigint NOT NULL CHECK (seq >= 1),
    hash bytea NOT NULL,
    mac  bytea
);

-- +goose StatementBegin
CREATE FUNCTION audit_heads_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit heads are never deleted (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION audit_heads_keep();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit_heads_keep();
