-- The overlay: each network gets a VXLAN id (VNI) unique in the region, handed out at create
-- (existing networks get theirs here, in id order from 4096); hosts keep the tunnel address their
-- agent reported at join (NULL: no overlay, the host's networks stay local bridges).
ALTER TABLE networks ADD COLUMN vni BIGINT;
UPDATE networks SET vni = 4095 + (SELECT COUNT(*) FROM networks m WHERE m.id <= networks.id);
ALTER TABLE networks ALTER COLUMN vni SET NOT NULL;
CREATE UNIQUE INDEX networks_vni ON networks (vni);

DROP VIEW host_view;
ALTER TABLE hosts ADD COLUMN tunnel_address TEXT;

-- As in 0010, over the columns hosts has now.
CREATE VIEW host_view AS
SELECT h.*,
       (SELECT CAST(COALESCE(SUM(c.cpu_millis), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(c.memory_mib), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COUNT(*) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS container_count
FROM hosts h;
