-- Requests for infrastructure and the objects applied to clusters.
-- What the rules need to know of a service beyond the list: how it speaks and which kind
-- of Service fronts it (an ALB with instance targets needs NodePort).
ALTER TABLE services ADD COLUMN protocol TEXT NOT NULL DEFAULT 'http'
    CHECK (protocol IN ('http', 'grpc', 'tcp'));
ALTER TABLE services ADD COLUMN service_type TEXT NOT NULL DEFAULT 'ClusterIP'
    CHECK (service_type IN ('ClusterIP', 'NodePort'));

CREATE TABLE requests (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('service', 'ingress', 'certificate')),
    team_name       TEXT NOT NULL,
    cluster         TEXT NOT NULL,
    title           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending_review', 'queued', 'applying',
                        'applied', 'failed', 'rejected', 'cancelled')),
    requester_id    BIGINT NOT NULL REFERENCES users (id),
    reason          TEXT NOT NULL DEFAULT '',
    spec_json       TEXT NOT NULL,
    manifests_yaml  TEXT NOT NULL,
    plan_json       TEXT NOT NULL,
    plan_hash       TEXT NOT NULL,
    notes_json      TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX requests_by_status ON requests (status, id);
CREATE INDEX requests_by_team ON requests (team_name, status, id);
CREATE INDEX requests_by_requester ON requests (requester_id, id);

-- Each object as Stargate last applied it, per cluster: what plans compare against.
CREATE TABLE applied_objects (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    namespace     TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    manifest_json TEXT NOT NULL,
    request_id    BIGINT REFERENCES requests (id),
    applied_at    TEXT NOT NULL,
    UNIQUE (cluster, kind, namespace, name)
);

-- A request's timeline is its audit events.
CREATE INDEX audit_events_subject ON audit_events (subject, id);

-- The audit log is append-only, whatever the code tries.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
