-- The IaC repository: the commit that records each applied request, and when it was
-- applied (the order commits are made in, and replayed in when the repository is rebuilt).
-- Requests applied before the repository existed keep their last update as the moment.
ALTER TABLE requests ADD COLUMN iac_commit TEXT;
ALTER TABLE requests ADD COLUMN applied_at TEXT;
UPDATE requests SET applied_at = updated_at WHERE status = 'applied';
CREATE INDEX requests_applied_order ON requests (applied_at, id) WHERE status = 'applied';
