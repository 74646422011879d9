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

-- +goose Up
CREATE INDEX users_email_lookup ON users (email);
CREATE INDEX bindings_principal_scope ON bindings (org, principal, scope_namespace, scope_type, scope_id);
DROP INDEX bindings_principal;

-- +goose Down
CREATE INDEX bindings_principal ON bindings (org, principal);
DROP INDEX bindings_principal_scope;
DROP INDEX users_email_lookup;
