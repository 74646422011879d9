-- Authentication data, PostgreSQL dialect (issue 5): API keys and
-- invitations.
--
-- Forward-only: once released, this file is never edited.
--
-- Both tables are deployment-wide (found by id alone) and have no foreign
-- key to orgs: rows are never deleted, only revoked or accepted, and a key
-- or invitation records the creation time of its principal and org so that
-- it stops working if they are deleted and created again. Secrets are not
-- stored: hash is the SHA-256 of the token.

-- +goose Up

CREATE TABLE api_keys (
    id                   text COLLATE "C" NOT NULL PRIMARY KEY,
    org                  text COLLATE "C" NOT NULL,
    principal            text COLLATE "C" NOT NULL,
    name                 text COLLATE "C" NOT NULL,
    hash                 bytea NOT NULL CHECK (length(hash) = 32),
    principal_created_at timestamptz NOT NULL,
    org_created_at       timestamptz,
    created_by           text COLLATE "C" NOT NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz,
    revoked_at           timestamptz,
    last_used_at         timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org, principal, id);

CREATE TABLE invitations (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    org            text COLLATE "C" NOT NULL,
    email          text COLLATE "C" NOT NULL,
    role           text COLLATE "C" NOT NULL,
    invited_by     text COLLATE "C" NOT NULL,
    hash           bytea NOT NULL CHECK (length(hash) = 32),
    org_created_at timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    accepted_at    timestamptz,
    accepted_by    text COLLATE "C" NOT NULL,
    revoked_at     timestamptz
);
CREATE INDEX invitations_org ON invitations (org, id);
