-- Day two: requests that decommission what earlier requests created, and requests that
-- expose a service's port over TCP or UDP.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('service', 'ingress', 'certificate', 'decommission', 'exposure'));

-- A decommissioned service or certificate stays in the catalog's history, out of its
-- lists, and its name is free: requesting it again brings it back.
ALTER TABLE services ADD COLUMN decommissioned_at TEXT;
ALTER TABLE certificates ADD COLUMN decommissioned_at TEXT;
