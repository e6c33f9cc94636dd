-- The catalog: teams and the services they own. Timestamps are RFC 3339 text in UTC.
CREATE TABLE teams (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    namespace    TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE services (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    image       TEXT NOT NULL,
    cluster     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'live', 'degraded', 'failed')),
    replicas    INTEGER NOT NULL CHECK (replicas BETWEEN 0 AND 1000),
    port        INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE INDEX services_name ON services (name);

-- One-off markers, e.g. that the demo catalog was loaded.
CREATE TABLE portal_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
