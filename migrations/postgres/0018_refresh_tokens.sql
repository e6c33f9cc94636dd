-- The identity provider's refresh token (where it issues one), sealed with a key derived
-- from the OIDC client secret: it lets the portal fetch a person's groups again before
-- they age past auth.groups_max_age_hours, without sending them through sign-in.
ALTER TABLE users ADD COLUMN refresh_token_sealed TEXT;
