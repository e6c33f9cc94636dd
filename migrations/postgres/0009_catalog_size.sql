-- The catalog's size, kept by triggers. Counting 10,000 services took PostgreSQL about a
-- millisecond per unfiltered list request, which bounded the list's throughput. The
-- triggers run once per statement (over its transition table), so a bulk insert updates
-- the counter row once rather than once per service.
CREATE TABLE catalog_size (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    services BIGINT NOT NULL
);
INSERT INTO catalog_size (id, services) SELECT 1, COUNT(*) FROM services;

CREATE FUNCTION catalog_size_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_size SET services = services + (SELECT COUNT(*) FROM added) WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION catalog_size_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_size SET services = services - (SELECT COUNT(*) FROM removed) WHERE id = 1;
    RETURN NULL;
END $$;
CREATE FUNCTION catalog_size_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_size SET services = 0 WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER services_counted AFTER INSERT ON services
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION catalog_size_add();
CREATE TRIGGER services_uncounted AFTER DELETE ON services
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION catalog_size_remove();
CREATE TRIGGER services_counted_truncate AFTER TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_size_reset();
