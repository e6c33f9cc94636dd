-- Offboarding: an admin deactivates someone. Their sessions end and their tokens are
-- revoked in the same transaction (whose audit event announces it to every process); this
-- column keeps them from signing in or being issued a token again.
ALTER TABLE users ADD COLUMN deactivated_at TEXT;
