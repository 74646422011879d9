-- Indexes for the agent tokens and API keys a principal minted, sqlite
-- dialect (issue 19; docs/storage.md, "Query plans").
--
-- Forward-only: once released, this file is never edited.
--
-- ListAgentTokens and ListAPIKeys filter on created_by (the keys and
-- tokens a member minted, read after every write that lowers a member,
-- for the warning of what it stops: threat-model row 98). No index had
-- created_by: tokens walked the org's whole primary key and keys read
-- the org's api_keys_org entries and sorted them, filtering created_by
-- row by row. (org, created_by, id) serves the filter in the lists'
-- order (tokens newest first by id, keys by id), with or without a
-- cursor. TestQueryPlans (both backends) checks every filter's plan.

-- +goose Up
CREATE INDEX agent_tokens_creator ON agent_tokens (org, created_by, id);
CREATE INDEX api_keys_creator ON api_keys (org, created_by, id);

-- +goose Down
DROP INDEX api_keys_creator;
DROP INDEX agent_tokens_creator;
