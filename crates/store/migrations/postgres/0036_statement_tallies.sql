-- The tallies of 0033 and 0034 written once per statement, not once per row: a placement batch
-- inserts hundreds of containers and ports in a few statements, and each row's trigger ran a
-- PL/pgSQL call and two or three single-row inserts (half of what inserting a container cost).
-- Now an insert or delete adds one tally row per host and per project it touched, from its
-- transition table. A change of host or size (rare: moves and resizes) stays a row trigger: a
-- trigger on chosen columns cannot see a transition table. SQLite's row triggers run in-process
-- and stay as they are.
CREATE FUNCTION containers_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib)
        SELECT host_id, COUNT(*), SUM(cpu_millis), SUM(memory_mib) FROM added WHERE host_id IS NOT NULL GROUP BY host_id;
    INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib)
        SELECT project_id, COUNT(*), SUM(cpu_millis), SUM(memory_mib) FROM added GROUP BY project_id;
    RETURN NULL;
END;
$$;
CREATE FUNCTION containers_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib)
        SELECT host_id, -COUNT(*), -SUM(cpu_millis), -SUM(memory_mib) FROM removed WHERE host_id IS NOT NULL GROUP BY host_id;
    INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib)
        SELECT project_id, -COUNT(*), -SUM(cpu_millis), -SUM(memory_mib) FROM removed GROUP BY project_id;
    RETURN NULL;
END;
$$;
DROP TRIGGER containers_tally ON containers;
CREATE TRIGGER containers_tally_insert AFTER INSERT ON containers REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION containers_tally_inserted();
CREATE TRIGGER containers_tally_delete AFTER DELETE ON containers REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION containers_tally_deleted();

CREATE FUNCTION ports_tally_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO port_tallies (project_id, n) SELECT project_id, COUNT(*) FROM added GROUP BY project_id;
    RETURN NULL;
END;
$$;
CREATE FUNCTION ports_tally_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO port_tallies (project_id, n) SELECT project_id, -COUNT(*) FROM removed GROUP BY project_id;
    RETURN NULL;
END;
$$;
DROP TRIGGER ports_tally ON ports;
DROP FUNCTION ports_tally();
CREATE TRIGGER ports_tally_insert AFTER INSERT ON ports REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION ports_tally_inserted();
CREATE TRIGGER ports_tally_delete AFTER DELETE ON ports REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION ports_tally_deleted();

-- What is left of 0034's row function: a container moved or resized.
CREATE OR REPLACE FUNCTION containers_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.host_id IS NOT NULL THEN
        INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib) VALUES (OLD.host_id, -1, -OLD.cpu_millis, -OLD.memory_mib);
    END IF;
    IF NEW.host_id IS NOT NULL THEN
        INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib) VALUES (NEW.host_id, 1, NEW.cpu_millis, NEW.memory_mib);
    END IF;
    IF NEW.cpu_millis != OLD.cpu_millis OR NEW.memory_mib != OLD.memory_mib THEN
        INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib)
            VALUES (NEW.project_id, 0, NEW.cpu_millis - OLD.cpu_millis, NEW.memory_mib - OLD.memory_mib);
    END IF;
    RETURN NULL;
END;
$$;
