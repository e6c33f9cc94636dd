-- What a personal access token may do beyond reading: `request` (submit, cancel, comment)
-- and `review` (approve, reject, retry). Tokens made before scopes existed keep what they
-- could do.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,request,review';
-- Every token expires from now on: one made to live forever gets the longest lifetime a
-- token may have by default (365 days, `auth.token_max_days`), counted from this upgrade.
UPDATE api_tokens
SET expires_at = to_char((now() AT TIME ZONE 'UTC') + interval '365 days', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
WHERE expires_at IS NULL;
