-- Gatehouse store schema, SQLite dialect.
--
-- Forward-only: once released, this file is never edited; every change is a
-- new numbered migration. Times are INTEGER microseconds since the Unix epoch
-- (UTC); JSON columns are TEXT holding compact JSON. Every org-scoped table
-- leads its primary key with org, so every query is `WHERE org = ?`.

-- +goose Up

-- The deployment's revision: bumped once per committed write transaction,
-- under the write lock, so revisions commit in order.
CREATE TABLE store_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL CHECK (revision >= 0)
) STRICT;
INSERT INTO store_revision (id, revision) VALUES (1, 0);

-- One row per change; one revision has one or more rows (seq from 0).
CREATE TABLE changelog (
    revision   INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    org        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    change_key TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (revision, seq)
) STRICT;
CREATE INDEX changelog_org ON changelog (org, revision);

CREATE TABLE orgs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    template   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE namespaces (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, name)
) STRICT;

CREATE TABLE users (
    id           TEXT    NOT NULL PRIMARY KEY,
    email        TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';

CREATE TABLE members (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    user_id    TEXT    NOT NULL REFERENCES users (id),
    attributes TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, user_id)
) STRICT;
CREATE INDEX members_user ON members (user_id, org);

CREATE TABLE agents (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    sponsor    TEXT    NOT NULL,
    expires_at INTEGER,
    attributes TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, name)
) STRICT;
CREATE INDEX agents_sponsor ON agents (org, sponsor);

CREATE TABLE services (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    name       TEXT    NOT NULL,
    attributes TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, name)
) STRICT;

CREATE TABLE teams (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    slug       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, slug)
) STRICT;

CREATE TABLE team_members (
    org        TEXT    NOT NULL,
    team       TEXT    NOT NULL,
    principal  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, team, principal),
    FOREIGN KEY (org, team) REFERENCES teams (org, slug)
) STRICT;
CREATE INDEX team_members_principal ON team_members (org, principal);

-- A binding grants a role (actions NULL) or, at resource scope, an action
-- list (role ''). Scope columns are '' when unused.
CREATE TABLE bindings (
    org             TEXT    NOT NULL REFERENCES orgs (id),
    id              TEXT    NOT NULL,
    principal       TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    actions         TEXT,
    scope_namespace TEXT    NOT NULL,
    scope_type      TEXT    NOT NULL,
    scope_id        TEXT    NOT NULL,
    condition_name  TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (org, id),
    CHECK ((role = '') = (actions IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX bindings_principal ON bindings (org, principal);
CREATE INDEX bindings_scope ON bindings (org, scope_namespace, scope_type, scope_id);

CREATE TABLE resources (
    org        TEXT    NOT NULL,
    namespace  TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    labels     TEXT    NOT NULL,
    attributes TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org, namespace, type, id),
    FOREIGN KEY (org, namespace) REFERENCES namespaces (org, name)
) STRICT;
CREATE INDEX resources_type ON resources (org, type);

-- Every version of every resource: the state after the write that made it.
CREATE TABLE resource_versions (
    org        TEXT    NOT NULL,
    namespace  TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    spec       TEXT,
    labels     TEXT    NOT NULL,
    attributes TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, namespace, type, id, version),
    FOREIGN KEY (org, namespace, type, id) REFERENCES resources (org, namespace, type, id)
) STRICT;

CREATE TABLE policies (
    org        TEXT    NOT NULL REFERENCES orgs (id),
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT    NOT NULL,
    author     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org, version)
) STRICT;
