-- Audit run contexts, SQLite dialect (issue 19 goal 4; docs/audit.md,
-- "Stored columns").
--
-- Forward-only: once released, this file is never edited.
--
-- A bulk write's entries begin with the same request context (roles,
-- key_id, session_id, client_addr, request_id: about 100 bytes of every
-- body). A run of two or more entries with the same context now stores
-- it once, in ctx: the exact bytes the bodies begin with ('{', the
-- context's members and the ',' after them), and each of its entries
-- stores only the rest of its body (which starts with '"'). A reader puts
-- them together again (ctx || body): the body read is byte for byte the
-- body written and hashed, so a run's ctx is evidence like the entries
-- (altering it breaks the chain). Runs written before this migration, and
-- runs of one entry, have ctx '' and whole bodies (which start with '{').
--
-- The column is added, not the table rebuilt: audit_runs_no_update still
-- refuses every UPDATE.

-- +goose Up

ALTER TABLE audit_runs ADD COLUMN ctx TEXT NOT NULL DEFAULT '';
