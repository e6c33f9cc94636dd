-- Import requests: a namespace's existing objects become catalog entries of a team.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('service', 'ingress', 'certificate', 'decommission', 'exposure',
                    'restore', 'adopt', 'import'));
