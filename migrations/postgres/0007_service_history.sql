-- Which catalog service a request is about (a service request names it, an ingress points
-- at it), so a service page lists its request history from an index.
ALTER TABLE requests ADD COLUMN service_name TEXT;
CREATE INDEX requests_by_service ON requests (team_name, service_name, id);
