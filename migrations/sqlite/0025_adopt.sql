-- Adopt and import requests: a drifted service's live values become the approved ones;
-- a namespace's existing objects become catalog entries of a team.
-- SQLite cannot change a CHECK constraint, so the requests table is rebuilt with the new
-- kind, as 0023 did; the foreign keys into it (approvals, jobs, applied objects) are
-- checked at commit, when the rebuilt table holds every id again.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE requests_before_adopt AS SELECT * FROM requests;
CREATE TABLE requests_sequence_before_adopt AS
    SELECT seq FROM sqlite_sequence WHERE name = 'requests';
DROP TABLE requests;

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('service', 'ingress', 'certificate',
                        'decommission', 'exposure', 'restore', 'adopt', 'import')),
    team_name       TEXT NOT NULL,
    cluster         TEXT NOT NULL,
    title           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending_review', 'queued', 'applying',
                        'applied', 'failed', 'rejected', 'cancelled')),
    requester_id    INTEGER NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL DEFAULT '',
    spec_json       TEXT NOT NULL,
    manifests_yaml  TEXT NOT NULL,
    plan_json       TEXT NOT NULL,
    plan_hash       TEXT NOT NULL,
    notes_json      TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    service_name    TEXT,
    host            TEXT,
    iac_commit      TEXT,
    applied_at      TEXT,
    exposed_port    TEXT
);
-- Re-inserting each id satisfies the approvals, jobs and applied objects that point at it.
INSERT INTO requests (id, kind, team_name, cluster, title, status, requester_id, reason,
    spec_json, manifests_yaml, plan_json, plan_hash, notes_json, created_at, updated_at,
    service_name, host, iac_commit, applied_at, exposed_port)
SELECT id, kind, team_name, cluster, title, status, requester_id, reason, spec_json,
    manifests_yaml, plan_json, plan_hash, notes_json, created_at, updated_at, service_name,
    host, iac_commit, applied_at, exposed_port
FROM requests_before_adopt;
-- Ids are never reused, not even those of the newest requests if they were removed.
UPDATE sqlite_sequence
SET seq = MAX(seq, (SELECT COALESCE(MAX(seq), 0) FROM requests_sequence_before_adopt))
WHERE name = 'requests';
DROP TABLE requests_before_adopt;
DROP TABLE requests_sequence_before_adopt;

CREATE INDEX requests_by_status ON requests (status, id);
CREATE INDEX requests_by_team ON requests (team_name, status, id);
CREATE INDEX requests_by_requester ON requests (requester_id, id);
CREATE INDEX requests_by_service ON requests (team_name, service_name, id);
CREATE UNIQUE INDEX requests_waiting_host ON requests (host)
WHERE host IS NOT NULL AND status IN ('pending_review', 'queued', 'applying');
CREATE INDEX requests_applied_order ON requests (applied_at, id) WHERE status = 'applied';
CREATE UNIQUE INDEX requests_waiting_exposed_port ON requests (cluster, exposed_port)
WHERE exposed_port IS NOT NULL AND status IN ('pending_review', 'queued', 'applying');
