-- Adopt requests: a drifted service's live values become the approved ones.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('service', 'ingress', 'certificate', 'decommission', 'exposure',
                    'restore', 'adopt'));
