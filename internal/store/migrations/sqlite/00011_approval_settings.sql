-- Approval lifetimes as an org setting, and run tokens bound to the
-- approval their run consumed (docs/approvals.md), sqlite dialect.
--
-- Forward-only: once released, this file is never edited.
--
-- orgs: how long a pending approval waits for approvers and how long a
-- granted one may wait to be used, in seconds; 0 means the server's
-- default (gatehouse serve --approval-pending-ttl, --approval-use-window).
-- run_tokens.approval_id: the approval the token's run consumed ('' for
-- none): its issuer's right to run is then the policy's allow but for an
-- ask before rule, when the token is exchanged as when it was issued.

-- +goose Up
ALTER TABLE orgs ADD COLUMN approval_pending_ttl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN approval_use_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_tokens ADD COLUMN approval_id TEXT NOT NULL DEFAULT '';

