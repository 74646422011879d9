-- Secrets vault, SQLite dialect (issue 6; docs/secrets.md describes the
-- model and the envelope format).
--
-- Forward-only: once released, this file is never edited.
--
-- No column ever holds a plaintext value or a key: secret_versions holds
-- AES-256-GCM ciphertexts and data keys wrapped by a master key that lives
-- outside the database (vault_keys records only each master key's id and a
-- key check value). Run tokens are stored by their SHA-256.
-- Times are INTEGER microseconds since the Unix epoch (UTC); JSON columns
-- are TEXT holding compact JSON.

-- +goose Up

CREATE TABLE secrets (
    org          TEXT    NOT NULL,
    namespace    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    expires_at   INTEGER,
    referable_by TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_by   TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    rotated_at   INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (org, namespace, name),
    FOREIGN KEY (org, namespace) REFERENCES namespaces (org, name)
) STRICT;

CREATE TABLE secret_versions (
    org         TEXT    NOT NULL,
    namespace   TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    key_id      INTEGER NOT NULL CHECK (key_id >= 1),
    wrapped_key BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org, namespace, name, version),
    FOREIGN KEY (org, namespace, name) REFERENCES secrets (org, namespace, name)
) STRICT;
CREATE INDEX secret_versions_key ON secret_versions (key_id, org, namespace, name, version);

CREATE TABLE run_tokens (
    org              TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    namespace        TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    resource_id      TEXT    NOT NULL,
    resource_version INTEGER NOT NULL CHECK (resource_version >= 1),
    secrets          TEXT    NOT NULL,
    issued_by        TEXT    NOT NULL,
    runtime          TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    used_by          TEXT    NOT NULL,
    PRIMARY KEY (org, id)
) STRICT;
CREATE INDEX run_tokens_expiry ON run_tokens (org, expires_at);

-- Deployment-wide: the master key ids in use and their key checks.
CREATE TABLE vault_keys (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id >= 1),
    key_check  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;
