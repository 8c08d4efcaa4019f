-- Global networks and one address space (postgres). A global network has the same id in every region;
-- its subnet lies in the central's global pool. The central hands regions blocks of its addresses
-- (address_blocks: at the central every block handed out, region_id its holder; at a region the
-- blocks it holds), and records fixed addresses asked for outside the asking region's blocks
-- (global_fixed_ips). Addresses are kept as their 32-bit value so ranges compare as numbers.
ALTER TABLE networks ADD COLUMN is_global BIGINT NOT NULL DEFAULT 0;

-- The view's column list is fixed when it is made: made again with is_global.
DROP VIEW network_visibility_view;
CREATE VIEW network_visibility_view AS
SELECT n.*, p.id AS visible_to
FROM networks n JOIN projects p ON (n.project_id = p.id OR n.shared = 1);

CREATE TABLE address_blocks (
    network_id TEXT NOT NULL REFERENCES networks(id),
    cidr       TEXT NOT NULL,
    first_ip   BIGINT NOT NULL,
    last_ip    BIGINT NOT NULL,
    region_id  TEXT NOT NULL,
    -- Addresses inside the block fixed elsewhere before it was handed out: never allocated.
    reserved   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (network_id, first_ip)
);

CREATE TABLE global_fixed_ips (
    network_id TEXT NOT NULL REFERENCES networks(id),
    ip         BIGINT NOT NULL,
    ip_address TEXT NOT NULL,
    region_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (network_id, ip)
);
