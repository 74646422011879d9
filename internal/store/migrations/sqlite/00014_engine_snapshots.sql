-- Engine snapshots for point-in-time decisions (issue 20): one org's
-- engine state as of a revision, encoded by internal/directory
-- (snapshot.go). Derived data, never a source of truth: written without a
-- revision and outside the changelog, off the request path; a point in
-- time is answered from the newest snapshot at or before it plus the org's
-- changelog entries after it, and a snapshot that is missing or does not
-- decode falls back to replaying the changelog.
--
-- One org's changelog is read in (revision, seq) order from a revision
-- on: changelog_org gains seq so that the read needs no sort.
--
-- Forward-only: once released, this file is never edited.

-- +goose Up
CREATE TABLE engine_snapshots (
    org        TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL, -- the commit time of that revision
    payload    BLOB    NOT NULL,
    PRIMARY KEY (org, revision)
) STRICT;

DROP INDEX changelog_org;
CREATE INDEX changelog_org ON changelog (org, revision, seq);

-- +goose Down
DROP INDEX changelog_org;
CREATE INDEX changelog_org ON changelog (org, revision);
DROP TABLE engine_snapshots;
