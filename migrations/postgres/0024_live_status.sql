-- Live status, as the drift watch reads it from the cluster (NULL until it has): a
-- service's Deployment's pods and available pods, a host's load-balancer address, and
-- when a certificate's expiry and status last came from its cert-manager Certificate.
ALTER TABLE services ADD COLUMN live_replicas BIGINT;
ALTER TABLE services ADD COLUMN live_available BIGINT;
ALTER TABLE services ADD COLUMN live_at TEXT;
ALTER TABLE hosts ADD COLUMN lb_address TEXT;
ALTER TABLE certificates ADD COLUMN live_at TEXT;
