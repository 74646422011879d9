-- Approvals and runs, PostgreSQL dialect (issue 15; DESIGN §1.1 item 8,
-- §1.4).
--
-- Forward-only: once released, this file is never edited.
--
-- Records, not directory state: no changelog entries, no foreign keys to
-- orgs (like run tokens and audit rows they outlive nothing they name).
-- The columns are what reads filter and order by; body is the whole record
-- as JSON text. ids are 32 lower-case hex digits that sort by creation
-- time.

-- +goose Up

CREATE TABLE approvals (
    org        text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    status     text COLLATE "C" NOT NULL,
    principal  text COLLATE "C" NOT NULL,
    on_behalf  text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    body       text NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX approvals_key ON approvals (org, key, status);
CREATE INDEX approvals_status ON approvals (org, status, id);

CREATE TABLE runs (
    org         text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    namespace   text COLLATE "C" NOT NULL,
    type        text COLLATE "C" NOT NULL,
    resource_id text COLLATE "C" NOT NULL,
    status      text COLLATE "C" NOT NULL,
    started_at  timestamptz NOT NULL,
    body        text NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX runs_resource ON runs (org, namespace, type, resource_id, id);
