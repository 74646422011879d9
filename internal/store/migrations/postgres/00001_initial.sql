-- Gatehouse store schema, PostgreSQL dialect.
--
-- Forward-only: once released, this file is never edited; every change is a
-- new numbered migration. Times are timestamptz (microseconds); labels and
-- attributes are jsonb, specs and changelog payloads json (kept verbatim).
-- Key columns use the "C" collation so that ordering and keyset pagination
-- compare bytes, as on SQLite. Every org-scoped table leads its primary key
-- with org, so every query is `WHERE org = $1`.

-- +goose Up

-- The deployment's revision: bumped once per committed write transaction,
-- under the write lock, so revisions commit in order.
CREATE TABLE store_revision (
    id       integer PRIMARY KEY CHECK (id = 1),
    revision bigint NOT NULL CHECK (revision >= 0)
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);

-- One row per change; one revision has one or more rows (seq from 0).
CREATE TABLE changelog (
    revision   bigint NOT NULL,
    seq        integer NOT NULL,
    org        text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    change_key text COLLATE "C" NOT NULL,
    payload    json NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (revision, seq)
);
CREATE INDEX changelog_org ON changelog (org, revision);

CREATE TABLE orgs (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    template   text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE namespaces (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    name       text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, name)
);

CREATE TABLE users (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    email        text COLLATE "C" NOT NULL,
    display_name text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';

CREATE TABLE members (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id),
    attributes jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, user_id)
);
CREATE INDEX members_user ON members (user_id, org);

CREATE TABLE agents (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    name       text COLLATE "C" NOT NULL,
    role       text COLLATE "C" NOT NULL,
    sponsor    text COLLATE "C" NOT NULL,
    expires_at timestamptz,
    attributes jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, name)
);
CREATE INDEX agents_sponsor ON agents (org, sponsor);

CREATE TABLE services (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    name       text COLLATE "C" NOT NULL,
    attributes jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, name)
);

CREATE TABLE teams (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    slug       text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, slug)
);

CREATE TABLE team_members (
    org        text COLLATE "C" NOT NULL,
    team       text COLLATE "C" NOT NULL,
    principal  text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, team, principal),
    FOREIGN KEY (org, team) REFERENCES teams (org, slug)
);
CREATE INDEX team_members_principal ON team_members (org, principal);

-- A binding grants a role (actions NULL) or, at resource scope, an action
-- list (role ''). Scope columns are '' when unused.
CREATE TABLE bindings (
    org             text COLLATE "C" NOT NULL REFERENCES orgs (id),
    id              text COLLATE "C" NOT NULL,
    principal       text COLLATE "C" NOT NULL,
    role            text COLLATE "C" NOT NULL,
    actions         jsonb,
    scope_namespace text COLLATE "C" NOT NULL,
    scope_type      text COLLATE "C" NOT NULL,
    scope_id        text COLLATE "C" NOT NULL,
    condition_name  text COLLATE "C" NOT NULL,
    created_by      text COLLATE "C" NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (org, id),
    CHECK ((role = '') = (actions IS NOT NULL))
);
CREATE INDEX bindings_principal ON bindings (org, principal);
CREATE INDEX bindings_scope ON bindings (org, scope_namespace, scope_type, scope_id);

CREATE TABLE resources (
    org        text COLLATE "C" NOT NULL,
    namespace  text COLLATE "C" NOT NULL,
    type       text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    labels     jsonb NOT NULL,
    attributes jsonb NOT NULL,
    version    bigint NOT NULL CHECK (version >= 1),
    updated_by text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (org, namespace, type, id),
    FOREIGN KEY (org, namespace) REFERENCES namespaces (org, name)
);
CREATE INDEX resources_type ON resources (org, type);

-- Every version of every resource: the state after the write that made it.
CREATE TABLE resource_versions (
    org        text COLLATE "C" NOT NULL,
    namespace  text COLLATE "C" NOT NULL,
    type       text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    version    bigint NOT NULL,
    spec       json,
    labels     jsonb NOT NULL,
    attributes jsonb NOT NULL,
    author     text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, namespace, type, id, version),
    FOREIGN KEY (org, namespace, type, id) REFERENCES resources (org, namespace, type, id)
);

CREATE TABLE policies (
    org        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    version    bigint NOT NULL CHECK (version >= 1),
    body       text NOT NULL,
    author     text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org, version)
);
