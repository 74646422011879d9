-- Approvals and runs, SQLite dialect (issue 15; DESIGN §1.1 item 8, §1.4).
--
-- Forward-only: once released, this file is never edited.
--
-- Records, not directory state: no changelog entries, no foreign keys to
-- orgs (like run tokens and audit rows they outlive nothing they name).
-- The columns are what reads filter and order by; body is the whole record
-- as JSON. ids are 32 lower-case hex digits that sort by creation time.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

-- +goose Up

CREATE TABLE approvals (
    org        TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    principal  TEXT    NOT NULL,
    on_behalf  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    PRIMARY KEY (org, id)
) STRICT;
CREATE INDEX approvals_key ON approvals (org, key, status);
CREATE INDEX approvals_status ON approvals (org, status, id);

CREATE TABLE runs (
    org         TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (org, id)
) STRICT;
CREATE INDEX runs_resource ON runs (org, namespace, type, resource_id, id);
