-- Lifetimes of grants and agents, SQLite dialect (issue 20; docs/agents.md).
--
-- Forward-only: once released, this file is never edited.
--
-- bindings.expires_at: when set (microseconds since the epoch), the binding
-- grants nothing from that instant on; the engine ignores it at decision
-- time, and DeleteExpiredBindings removes it later. NULL: never expires.

-- +goose Up

ALTER TABLE bindings ADD COLUMN expires_at INTEGER;
CREATE INDEX bindings_expires ON bindings (org, expires_at) WHERE expires_at IS NOT NULL;
