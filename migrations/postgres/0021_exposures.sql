-- A service port exposed over TCP or UDP: an entry of ingress-nginx's tcp-services or
-- udp-services ConfigMap (one external port per cluster and protocol, one owner, like a
-- host), or a LoadBalancer Service of its own that becomes an AWS NLB.
CREATE TABLE exposures (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id    BIGINT NOT NULL REFERENCES services (id),
    cluster       TEXT NOT NULL,
    protocol      TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    external_port BIGINT NOT NULL CHECK (external_port BETWEEN 1 AND 65535),
    port          BIGINT NOT NULL CHECK (port BETWEEN 1 AND 65535),
    via           TEXT NOT NULL CHECK (via IN ('nginx', 'nlb')),
    scheme        TEXT CHECK (scheme IN ('internal', 'internet-facing')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX exposures_nginx_port ON exposures (cluster, protocol, external_port)
WHERE via = 'nginx';
CREATE UNIQUE INDEX exposures_nlb ON exposures (service_id, protocol, external_port)
WHERE via = 'nlb';
CREATE INDEX exposures_service ON exposures (service_id);

-- An nginx exposure request holds its external port (`tcp/9000`) from submit until it is
-- rejected, cancelled or fails, as an ingress request holds its host: the partial unique
-- index settles two submits at the same moment.
ALTER TABLE requests ADD COLUMN exposed_port TEXT;
CREATE UNIQUE INDEX requests_waiting_exposed_port ON requests (cluster, exposed_port)
WHERE exposed_port IS NOT NULL AND status IN ('pending_review', 'queued', 'applying');
