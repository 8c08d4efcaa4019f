-- The version of the agent a host runs, as it reports it on joining and on each heartbeat
-- ('' until an agent that reports it joins).
DROP VIEW host_view;
ALTER TABLE hosts ADD COLUMN agent_version TEXT NOT NULL DEFAULT '';

-- As in 0016, over the columns hosts has now.
CREATE VIEW host_view AS
SELECT h.*,
       (SELECT CAST(COALESCE(SUM(c.cpu_millis), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(c.memory_mib), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COUNT(*) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS container_count
FROM hosts h;
