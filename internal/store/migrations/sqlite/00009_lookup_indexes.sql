-- Indexes so that every lookup by email is a search, not a scan (issue 19).
--
-- Forward-only: once released, this file is never edited.
--
-- users_email (00001) is a partial unique index, WHERE email <> ''. SQLite
-- uses a partial index only when the query's WHERE clause implies the
-- index's, and `email = ?` with a bound parameter does not: GetUserByEmail
-- and the email-uniqueness check scanned the whole users table, so every
-- user created made the next one slower (a bulk load was quadratic).
-- PostgreSQL's generic plans for prepared statements cannot prove it
-- either. A plain index on email serves `email = $1` on both; the partial
-- unique index still enforces uniqueness of non-empty emails.
-- TestQueryPlans (sqlite and postgres) checks every store statement's plan.

--
-- bindings_principal_scope: creating a binding first lists the
-- principal's bindings at the same scope (an identical one is a
-- conflict). bindings_principal (org, principal) found every binding of
-- the principal in the org and filtered the scope row by row, so sharing
-- the 10,000th chain with a user read its 9,999 other shares: a bulk load
-- of shares was quadratic per user (a quarter of its CPU). The longer
-- index serves that lookup exactly and every query bindings_principal
-- served (it is its prefix), so that one goes.

--
-- Statistics: without them SQLite's planner assumes that `org = ?` on the
-- primary key (org, id) is as selective as `org = ? AND principal = ? AND
-- scope… = ?` on bindings_principal_scope (the first column of any index
-- is guessed to leave ~10 rows), and walks the org's whole key range
-- instead (a "SEARCH … USING PRIMARY KEY (org=?)" that reads the tenant).
-- These rows (the format ANALYZE writes; a later ANALYZE replaces them
-- with measured ones) describe the shape a deployment grows into: many
-- bindings per org, few per principal and scope; the same for team
-- memberships by principal and agents by sponsor.

-- +goose Up
CREATE INDEX users_email_lookup ON users (email);
CREATE INDEX bindings_principal_scope ON bindings (org, principal, scope_namespace, scope_type, scope_id);
DROP INDEX bindings_principal;
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl IN ('bindings', 'team_members', 'agents');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('bindings', 'bindings', '1000000 10000 1'),
    ('bindings', 'bindings_scope', '1000000 10000 1000 100 10'),
    ('bindings', 'bindings_principal_scope', '1000000 10000 10 5 2 1'),
    ('team_members', 'sqlite_autoindex_team_members_1', '1000000 10000 100 1'),
    ('team_members', 'team_members_principal', '1000000 10000 5'),
    ('agents', 'sqlite_autoindex_agents_1', '100000 1000 1'),
    ('agents', 'agents_sponsor', '100000 1000 10');
ANALYZE sqlite_schema;

-- +goose Down
DELETE FROM sqlite_stat1 WHERE tbl IN ('bindings', 'team_members', 'agents');
CREATE INDEX bindings_principal ON bindings (org, principal);
DROP INDEX bindings_principal_scope;
DROP INDEX users_email_lookup;
