-- Reviews bind to the plan they approved: when the plan changes, older approvals no
-- longer count (they stay, for the record).
CREATE TABLE approvals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES requests (id),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    plan_hash   TEXT NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL,
    UNIQUE (request_id, user_id, plan_hash)
);

-- One job per request: created when the request is queued, claimed by a worker. A retry
-- puts the same job back in the queue.
CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id   BIGINT NOT NULL UNIQUE REFERENCES requests (id),
    cluster      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_after    TEXT NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_after);

-- The team an audit event concerns, so admins can filter the log by team.
ALTER TABLE audit_events ADD COLUMN team TEXT;
CREATE INDEX audit_events_team ON audit_events (team, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);

-- Row triggers do not see TRUNCATE; a statement trigger refuses it too.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
