-- The catalog's size, kept by triggers. Counting 10,000 services took PostgreSQL about a
-- millisecond per unfiltered list request, which bounded the list's throughput; writes to
-- services are rare (seeding, an applied request), so one counter row costs little.
CREATE TABLE catalog_size (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    services BIGINT NOT NULL
);
INSERT INTO catalog_size (id, services) SELECT 1, COUNT(*) FROM services;

CREATE FUNCTION catalog_size_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE catalog_size SET services = services + 1 WHERE id = 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE catalog_size SET services = services - 1 WHERE id = 1;
    ELSE
        UPDATE catalog_size SET services = 0 WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER services_counted AFTER INSERT OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION catalog_size_follow();
CREATE TRIGGER services_counted_truncate AFTER TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_size_follow();
