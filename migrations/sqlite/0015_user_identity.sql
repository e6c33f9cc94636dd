-- Users are keyed by their identity provider's (issuer, subject); the email address is an
-- attribute, compared case-insensitively through `email_key` (folded by the portal), so a
-- second account cannot take over the first by claiming its address in another case.
ALTER TABLE users ADD COLUMN issuer TEXT;
ALTER TABLE users ADD COLUMN subject TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
-- When an identity provider last vouched for the groups; NULL when they come from the
-- configuration (development sign-in) or an operator (`stargate token create --groups`).
ALTER TABLE users ADD COLUMN groups_at TEXT;
UPDATE users SET email_key = lower(email), groups_at = last_login_at;
-- Addresses that differed only in case were two users before: the oldest keeps the key,
-- the others get one no sign-in can match (they stay listed for admins to deactivate).
UPDATE users SET email_key = email_key || '#' || CAST(id AS TEXT)
WHERE id NOT IN (SELECT MIN(id) FROM users GROUP BY email_key);
CREATE UNIQUE INDEX users_email_folded ON users (email_key);
CREATE UNIQUE INDEX users_identity ON users (issuer, subject) WHERE subject IS NOT NULL;
