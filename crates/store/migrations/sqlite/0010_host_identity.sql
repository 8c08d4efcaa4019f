-- Hosts keep no secret that reaches their agents: the callback bearer secret goes; the server pins
-- the agent's callback certificate instead (public). A host that joined before this has none: its
-- next join under its name takes it, as joins did before names needed the host's credential.
-- A join token may be issued to replace one host (`replaces`: that host's id).
DROP VIEW host_view;
ALTER TABLE hosts DROP COLUMN callback_secret;
ALTER TABLE hosts ADD COLUMN agent_certificate TEXT NOT NULL DEFAULT '';
ALTER TABLE join_tokens ADD COLUMN replaces TEXT;

-- As in 0002, over the columns hosts has now.
CREATE VIEW host_view AS
SELECT h.*,
       (SELECT CAST(COALESCE(SUM(c.cpu_millis), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(c.memory_mib), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COUNT(*) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS container_count
FROM hosts h;
