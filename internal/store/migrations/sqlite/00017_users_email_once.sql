-- One index on users.email, not two, sqlite dialect (issue 19 goal 4).
--
-- Forward-only: once released, this file is never edited.
--
-- 00009 added users_email_lookup (email) beside the partial unique index
-- users_email (email) WHERE email <> '', because neither SQLite nor a
-- PostgreSQL generic plan uses a partial index for `email = $1`. Every
-- lookup by email now says `AND email <> ''` (an empty email is never
-- looked up: sqlcore's emailTakenSQL), which both planners match against
-- the partial index's WHERE, so users_email serves them all and the plain
-- index was one more B-tree entry written for every user created and
-- read by nothing. TestQueryPlans (both backends) checks that every
-- lookup by email still searches an index.

-- +goose Up
DROP INDEX users_email_lookup;

-- +goose Down
CREATE INDEX users_email_lookup ON users (email);
