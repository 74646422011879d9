-- Authentication data, SQLite dialect (issue 5): API keys and invitations.
--
-- Forward-only: once released, this file is never edited.
--
-- Both tables are deployment-wide (found by id alone) and have no foreign
-- key to orgs: rows are never deleted, only revoked or accepted, and a key
-- or invitation records the creation time of its principal and org so that
-- it stops working if they are deleted and created again. Secrets are not
-- stored: hash is the SHA-256 of the token. Times are INTEGER microseconds
-- since the Unix epoch (UTC).

-- +goose Up

CREATE TABLE api_keys (
    id                   TEXT    NOT NULL PRIMARY KEY,
    org                  TEXT    NOT NULL,
    principal            TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    hash                 BLOB    NOT NULL CHECK (length(hash) = 32),
    principal_created_at INTEGER NOT NULL,
    org_created_at       INTEGER,
    created_by           TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER,
    revoked_at           INTEGER,
    last_used_at         INTEGER
) STRICT;
CREATE INDEX api_keys_org ON api_keys (org, principal, id);

CREATE TABLE invitations (
    id             TEXT    NOT NULL PRIMARY KEY,
    org            TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    invited_by     TEXT    NOT NULL,
    hash           BLOB    NOT NULL CHECK (length(hash) = 32),
    org_created_at INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    accepted_at    INTEGER,
    accepted_by    TEXT    NOT NULL,
    revoked_at     INTEGER
) STRICT;
CREATE INDEX invitations_org ON invitations (org, id);
