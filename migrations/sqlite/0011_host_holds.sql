-- A host is held from the moment a request for it is submitted until that request is
-- rejected, cancelled or failed (then applying it puts the host in the catalog). The
-- partial unique index makes two waiting requests for one host impossible, even when they
-- are submitted at the same moment.
ALTER TABLE requests ADD COLUMN host TEXT;

-- Existing ingress requests: the oldest waiting request keeps its host; a younger one for
-- the same host stays unmarked, and the re-check before approval fails it with the reason.
UPDATE requests SET host = json_extract(spec_json, '$.host')
WHERE kind = 'ingress'
  AND NOT (
    status IN ('pending_review', 'queued', 'applying')
    AND EXISTS (
      SELECT 1 FROM requests older
      WHERE older.kind = 'ingress'
        AND older.status IN ('pending_review', 'queued', 'applying')
        AND json_extract(older.spec_json, '$.host') = json_extract(requests.spec_json, '$.host')
        AND older.id < requests.id
    )
  );

CREATE UNIQUE INDEX requests_waiting_host ON requests (host)
WHERE host IS NOT NULL AND status IN ('pending_review', 'queued', 'applying');
