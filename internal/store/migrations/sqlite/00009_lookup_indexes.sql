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

-- +goose Up
CREATE INDEX users_email_lookup ON users (email);

-- +goose Down
DROP INDEX users_email_lookup;
