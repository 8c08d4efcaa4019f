-- Each project's count of ports kept as it changes, so a port's quota check reads a few rows
-- instead of counting every port of the project (which grew with every address handed out).
-- Triggers add a row of +1 for each port written and -1 for each one deleted (a container's go
-- with it), never updating a shared row (no lock for concurrent writers to wait on or deadlock
-- over); the quota check sums a project's rows and folds them into one when they pile up.
CREATE TABLE port_tallies (
    project_id TEXT NOT NULL,
    n          BIGINT NOT NULL
);
CREATE INDEX port_tallies_project ON port_tallies (project_id);
INSERT INTO port_tallies (project_id, n) SELECT project_id, COUNT(*) FROM ports GROUP BY project_id;
CREATE FUNCTION ports_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO port_tallies (project_id, n) VALUES (NEW.project_id, 1);
    ELSE
        INSERT INTO port_tallies (project_id, n) VALUES (OLD.project_id, -1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ports_tally AFTER INSERT OR DELETE ON ports FOR EACH ROW EXECUTE FUNCTION ports_tally();
