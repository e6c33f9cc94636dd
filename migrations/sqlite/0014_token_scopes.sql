-- What a personal access token may do beyond reading: `request` (submit, cancel, comment)
-- and `review` (approve, reject, retry). Tokens made before scopes existed keep what they
-- could do.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read,request,review';
