-- What each host has allocated and what each project uses, kept as containers change, so a
-- placement reads a few rows per host and per project instead of summing every container (the
-- cost grew with the region: each create summed all of them). As with ports (0033), triggers add
-- a row of deltas for each container written, moved, resized or deleted, never updating a shared
-- row (no lock for concurrent writers to wait on or deadlock over); readers sum a host's or a
-- project's rows, and placements fold them into one under the placement lock.
CREATE TABLE host_tallies (
    host_id    TEXT NOT NULL,
    containers BIGINT NOT NULL,
    cpu_millis BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL
);
CREATE INDEX host_tallies_host ON host_tallies (host_id);
CREATE TABLE project_tallies (
    project_id TEXT NOT NULL,
    containers BIGINT NOT NULL,
    cpu_millis BIGINT NOT NULL,
    memory_mib BIGINT NOT NULL
);
CREATE INDEX project_tallies_project ON project_tallies (project_id);
INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib)
    SELECT host_id, COUNT(*), SUM(cpu_millis), SUM(memory_mib) FROM containers WHERE host_id IS NOT NULL GROUP BY host_id;
INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib)
    SELECT project_id, COUNT(*), SUM(cpu_millis), SUM(memory_mib) FROM containers GROUP BY project_id;

CREATE FUNCTION containers_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.host_id IS NOT NULL THEN
        INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib) VALUES (OLD.host_id, -1, -OLD.cpu_millis, -OLD.memory_mib);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.host_id IS NOT NULL THEN
        INSERT INTO host_tallies (host_id, containers, cpu_millis, memory_mib) VALUES (NEW.host_id, 1, NEW.cpu_millis, NEW.memory_mib);
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib) VALUES (NEW.project_id, 1, NEW.cpu_millis, NEW.memory_mib);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib) VALUES (OLD.project_id, -1, -OLD.cpu_millis, -OLD.memory_mib);
    ELSIF NEW.cpu_millis != OLD.cpu_millis OR NEW.memory_mib != OLD.memory_mib THEN
        INSERT INTO project_tallies (project_id, containers, cpu_millis, memory_mib)
            VALUES (NEW.project_id, 0, NEW.cpu_millis - OLD.cpu_millis, NEW.memory_mib - OLD.memory_mib);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER containers_tally AFTER INSERT OR DELETE ON containers FOR EACH ROW EXECUTE FUNCTION containers_tally();
CREATE TRIGGER containers_tally_update AFTER UPDATE OF host_id, cpu_millis, memory_mib ON containers FOR EACH ROW
    WHEN (OLD.host_id IS DISTINCT FROM NEW.host_id OR OLD.cpu_millis != NEW.cpu_millis OR OLD.memory_mib != NEW.memory_mib)
    EXECUTE FUNCTION containers_tally();

-- As in 0027, the allocations summed from the tallies.
DROP VIEW host_view;
CREATE VIEW host_view AS
SELECT h.*,
       (SELECT CAST(COALESCE(SUM(t.cpu_millis), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(t.memory_mib), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COALESCE(SUM(t.containers), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS container_count
FROM hosts h;

-- A placement reads the host ports taken on each host: only the containers that take any.
CREATE INDEX containers_host_ports ON containers (host_id, host_ports) WHERE host_ports != '[]';
