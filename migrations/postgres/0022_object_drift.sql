-- Whether each applied object still holds what was approved, as the last drift check
-- found it (rows of objects no longer applied are removed by the next check). `state`
-- `unknown`: the cluster could not be read; `known_state` keeps the last state that was
-- read, so a cluster coming back raises no event for what it already had.
CREATE TABLE object_drift (
    cluster     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('in_sync', 'drifted', 'missing', 'unknown')),
    known_state TEXT CHECK (known_state IN ('in_sync', 'drifted', 'missing')),
    fields_json TEXT NOT NULL DEFAULT '[]',
    since       TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    PRIMARY KEY (cluster, kind, namespace, name)
);
CREATE INDEX object_drift_by_state ON object_drift (state, cluster);
