-- Secrets vault, PostgreSQL dialect (issue 6; docs/secrets.md describes
-- the model and the envelope format).
--
-- Forward-only: once released, this file is never edited.
--
-- No column ever holds a plaintext value or a key: secret_versions holds
-- AES-256-GCM ciphertexts and data keys wrapped by a master key that lives
-- outside the database (vault_keys records only each master key's id and a
-- key check value). Run tokens are stored by their SHA-256.
-- Key columns use the "C" collation so that ordering and keyset pagination
-- compare bytes, as on SQLite.

-- +goose Up

CREATE TABLE secrets (
    org          text COLLATE "C" NOT NULL,
    namespace    text COLLATE "C" NOT NULL,
    name         text COLLATE "C" NOT NULL,
    description  text NOT NULL,
    version      bigint NOT NULL CHECK (version >= 1),
    expires_at   timestamptz,
    referable_by jsonb NOT NULL,
    created_by   text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_by   text COLLATE "C" NOT NULL,
    updated_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    last_used_at timestamptz,
    PRIMARY KEY (org, namespace, name),
    FOREIGN KEY (org, namespace) REFERENCES namespaces (org, name)
);

CREATE TABLE secret_versions (
    org         text COLLATE "C" NOT NULL,
    namespace   text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    version     bigint NOT NULL CHECK (version >= 1),
    key_id      bigint NOT NULL CHECK (key_id >= 1),
    wrapped_key bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    created_by  text COLLATE "C" NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (org, namespace, name, version),
    FOREIGN KEY (org, namespace, name) REFERENCES secrets (org, namespace, name)
);
CREATE INDEX secret_versions_key ON secret_versions (key_id, org, namespace, name, version);

CREATE TABLE run_tokens (
    org              text COLLATE "C" NOT NULL,
    id               text COLLATE "C" NOT NULL,
    namespace        text COLLATE "C" NOT NULL,
    type             text COLLATE "C" NOT NULL,
    resource_id      text COLLATE "C" NOT NULL,
    resource_version bigint NOT NULL CHECK (resource_version >= 1),
    secrets          jsonb NOT NULL,
    issued_by        text COLLATE "C" NOT NULL,
    runtime          text COLLATE "C" NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    used_by          text COLLATE "C" NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX run_tokens_expiry ON run_tokens (org, expires_at);

-- Deployment-wide: the master key ids in use and their key checks.
CREATE TABLE vault_keys (
    id         bigint NOT NULL PRIMARY KEY CHECK (id >= 1),
    key_check  bytea NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);
