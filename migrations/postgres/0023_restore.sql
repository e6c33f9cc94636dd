-- Restore requests: a service's drifted or missing objects applied again as last approved.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('service', 'ingress', 'certificate', 'decommission', 'exposure',
                    'restore'));
