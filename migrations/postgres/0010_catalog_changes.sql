-- Every `serve` process keeps a read model of catalog pages in memory. A statement that
-- changes what those pages show announces it on the `stargate_catalog` channel, so the
-- read models of all processes (and of workers elsewhere) drop what they hold. NOTIFY is
-- delivered on commit and folds repeats within one transaction into one notice.
CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stargate_catalog', '');
    RETURN NULL;
END $$;

CREATE TRIGGER teams_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER clusters_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON clusters
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER hosts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hosts
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER certificates_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER requests_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON requests
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER applied_objects_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON applied_objects
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER user_groups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
