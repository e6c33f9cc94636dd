-- Which worker checks a cluster for drift: one at a time, so several workers cost the
-- cluster one watch and one round of LISTs, and record each change once. A lease that runs
-- out (its worker stopped) is taken over by the next worker that asks.
CREATE TABLE drift_leases (
    cluster     TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
