-- A host's revision (what its agent long-polls on) in a row of its own. Every write to a host's
-- set bumps it and holds it until that transaction commits (a placement batch: the whole batch),
-- while each agent's heartbeat writes the host's row every few seconds: apart, neither waits for
-- the other (a heartbeat batch waited up to 2 s behind a scale-out's placements on PostgreSQL).
CREATE TABLE host_revisions (
    host_id  TEXT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    revision BIGINT NOT NULL
);
INSERT INTO host_revisions (host_id, revision) SELECT id, revision FROM hosts;

-- As in 0034, with the revision from its own table.
DROP VIEW host_view;
ALTER TABLE hosts DROP COLUMN revision;
CREATE VIEW host_view AS
SELECT h.*,
       r.revision,
       (SELECT CAST(COALESCE(SUM(t.cpu_millis), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(t.memory_mib), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COALESCE(SUM(t.containers), 0) AS BIGINT) FROM host_tallies t WHERE t.host_id = h.id) AS container_count
FROM hosts h JOIN host_revisions r ON r.host_id = h.id;
