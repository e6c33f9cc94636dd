-- Sign-ins in flight are written by anyone who opens /login. Cleaning up the expired ones
-- and counting the live ones (the table is bounded, auth.max_login_flows) read this index,
-- not the whole table.
CREATE INDEX login_flows_expires_at ON login_flows (expires_at);
