-- Run tokens remember the user their run acted for, postgres dialect.
--
-- Forward-only: once released, this file is never edited.
--
-- run_tokens.on_behalf_of: the user an agent or service issuing the token
-- acted for ('' for none). An exchange checks that the issuer may still
-- run the resource on that user's behalf (the intersection), so a user
-- who lost the right meanwhile has no secrets released for its run
-- (threat-model row 54).

-- +goose Up
ALTER TABLE run_tokens ADD COLUMN on_behalf_of text COLLATE "C" NOT NULL DEFAULT '';

