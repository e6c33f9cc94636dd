-- Adopt and import requests: a drifted service's live values become the approved ones;
-- a namespace's existing objects become catalog entries of a team.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('service', 'ingress', 'certificate', 'decommission', 'exposure',
                    'restore', 'adopt', 'import'));
