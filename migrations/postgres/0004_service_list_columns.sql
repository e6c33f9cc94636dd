-- The catalog list reads services alone: the owning team's name (team names never change)
-- and a lower-cased search text live on the row, so the list needs no join, its default
-- order walks an index, and a search does one LIKE per row.
ALTER TABLE services ADD COLUMN team_name TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE services SET
    team_name = (SELECT t.name FROM teams t WHERE t.id = services.team_id),
    search_text = lower(name || ' ' || description);
CREATE INDEX services_by_team ON services (team_name, name);
CREATE INDEX services_by_name ON services (name, team_name);
CREATE INDEX services_by_updated ON services (updated_at, team_name, name);
