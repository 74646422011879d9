-- Audit runs, PostgreSQL dialect (issue 19 goal 4; docs/audit.md,
-- "Storage"). See the SQLite file for the design.
--
-- Forward-only: once released, this file is never edited.

-- +goose Up

CREATE TABLE audit_runs (
    org       text COLLATE "C" NOT NULL,
    actor     text COLLATE "C" NOT NULL,
    last_seq  bigint NOT NULL CHECK (last_seq >= 1),
    first_seq bigint NOT NULL CHECK (first_seq >= 1 AND first_seq <= last_seq),
    at        bigint NOT NULL,
    PRIMARY KEY (org, actor, last_seq)
);
CREATE INDEX audit_runs_at ON audit_runs (org, at);

INSERT INTO audit_runs (org, actor, last_seq, first_seq, at)
    SELECT org, actor, seq, seq, at FROM audit_entries;

DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_at;

-- +goose StatementBegin
CREATE FUNCTION audit_runs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_prunes p WHERE p.org = OLD.org AND p.through_seq >= OLD.last_seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_runs is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_runs_append_only BEFORE UPDATE OR DELETE ON audit_runs
    FOR EACH ROW EXECUTE FUNCTION audit_runs_append_only();
CREATE TRIGGER audit_runs_no_truncate BEFORE TRUNCATE ON audit_runs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_runs_append_only();
