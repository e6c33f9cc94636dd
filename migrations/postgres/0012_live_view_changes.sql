-- Live views (a request's event stream) sleep until the data changes instead of polling.
-- They wake on the same `stargate_catalog` notices as the read models (0010), so what
-- they show must announce itself too: a request's timeline is its audit events, and a
-- stream ends when its session is signed out or its token revoked. NOTIFY is sent on
-- commit, once per transaction however many statements fire it.
--
-- Only the changes that end a credential: a session is touched (last_seen_at) and a token
-- marked used (last_used_at) on ordinary requests, and waking every stream for those
-- would cost a read each for nothing. SQLite needs no counterpart: `PRAGMA data_version`
-- moves on any commit by another connection.
CREATE TRIGGER audit_events_appended AFTER INSERT ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER sessions_ended AFTER DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER api_tokens_revoked AFTER UPDATE OF revoked_at, expires_at OR DELETE OR TRUNCATE
    ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
