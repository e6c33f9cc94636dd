-- Clusters (from configuration) and what is applied on them besides services: ingress
-- hosts and TLS certificates. Indexes follow the catalog's filters and sort orders.
CREATE TABLE clusters (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

-- A host belongs to exactly one ingress.
CREATE TABLE hosts (
    id         INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id),
    host       TEXT NOT NULL UNIQUE,
    class      TEXT NOT NULL CHECK (class IN ('nginx', 'alb')),
    tls        TEXT NOT NULL CHECK (tls IN ('none', 'cert_manager', 'acm')),
    created_at TEXT NOT NULL
);
CREATE INDEX hosts_service ON hosts (service_id);

CREATE TABLE certificates (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL REFERENCES teams (id),
    name        TEXT NOT NULL,
    dns_names   TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    expires_at  TEXT,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed')),
    created_at  TEXT NOT NULL,
    UNIQUE (team_id, name)
);

CREATE INDEX services_team_name ON services (team_id, name);
CREATE INDEX services_updated ON services (updated_at);
CREATE INDEX services_cluster ON services (cluster);
CREATE INDEX services_status ON services (status);
