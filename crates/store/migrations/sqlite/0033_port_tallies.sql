-- Each project's count of ports kept as it changes, so a port's quota check reads a few rows
-- instead of counting every port of the project (which grew with every address handed out).
-- Triggers add a row of +1 for each port written and -1 for each one deleted (a container's go
-- with it), never updating a shared row; the quota check sums a project's rows and folds them
-- into one when they pile up.
CREATE TABLE port_tallies (
    project_id TEXT NOT NULL,
    n          BIGINT NOT NULL
);
CREATE INDEX port_tallies_project ON port_tallies (project_id);
INSERT INTO port_tallies (project_id, n) SELECT project_id, COUNT(*) FROM ports GROUP BY project_id;
CREATE TRIGGER ports_tally_insert AFTER INSERT ON ports
BEGIN
    INSERT INTO port_tallies (project_id, n) VALUES (NEW.project_id, 1);
END;
CREATE TRIGGER ports_tally_delete AFTER DELETE ON ports
BEGIN
    INSERT INTO port_tallies (project_id, n) VALUES (OLD.project_id, -1);
END;
