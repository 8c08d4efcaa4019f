-- Global networks across regions on the overlay (step 7). Their VNIs are the central's: a range
-- above every region's own (8388608..=16000000; regions give their networks 4096..=8388607), so one
-- global network has one VNI in every region. Global networks made before get theirs here where
-- they were made (a server with no central link: the central), in id order; a region's copies take
-- the central's VNI when it next answers for them.
UPDATE networks SET vni = 8388607 + (SELECT COUNT(*) FROM networks m WHERE m.is_global = 1 AND m.id <= networks.id)
WHERE is_global = 1 AND NOT EXISTS (SELECT 1 FROM central_link);

-- The containers of global networks that the overlay reaches across regions: at the central what
-- each region reported (its containers on the network whose host has a tunnel address: address,
-- MAC, that host's tunnel address), at a region those of the other regions, learned from the
-- central and kept while it cannot be reached. Addresses are kept as their 32-bit value too.
CREATE TABLE global_endpoints (
    network_id     TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
    region_id      TEXT NOT NULL,
    ip             BIGINT NOT NULL,
    ip_address     TEXT NOT NULL,
    mac            TEXT NOT NULL,
    tunnel_address TEXT NOT NULL,
    PRIMARY KEY (network_id, region_id, ip)
);
