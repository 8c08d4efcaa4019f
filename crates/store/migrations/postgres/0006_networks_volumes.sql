-- Networks, subnets, ports (addresses), volumes and their mounts (PostgreSQL).
-- Booleans are BIGINT 0/1; times are milliseconds; addresses are kept as text and as their
-- 32-bit value (ip, first_ip, last_ip) so ranges compare as numbers.

CREATE TABLE networks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    shared     BIGINT NOT NULL,
    is_default BIGINT NOT NULL,
    metadata   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Networks with each project that sees them (its own, and shared ones), for per-project lists.
CREATE VIEW network_visibility_view AS
SELECT n.*, p.id AS visible_to
FROM networks n JOIN projects p ON (n.project_id = p.id OR n.shared = 1);

CREATE TABLE subnets (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks(id),
    project_id TEXT NOT NULL,
    cidr       TEXT NOT NULL,
    first_ip   BIGINT NOT NULL,
    last_ip    BIGINT NOT NULL,
    gateway    TEXT NOT NULL,
    pools      TEXT NOT NULL,
    reserved   TEXT NOT NULL,
    -- Where the next allocation starts looking (addresses rotate).
    next_ip    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX subnets_network ON subnets (network_id);
CREATE INDEX subnets_range ON subnets (first_ip, last_ip);

-- An address is held once per subnet: the unique key is the last word on double allocation.
CREATE TABLE ports (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    network_id   TEXT NOT NULL REFERENCES networks(id),
    subnet_id    TEXT NOT NULL REFERENCES subnets(id),
    ip           BIGINT NOT NULL,
    ip_address   TEXT NOT NULL,
    mac          TEXT NOT NULL,
    container_id TEXT REFERENCES containers(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    UNIQUE (subnet_id, ip)
);
CREATE INDEX ports_container ON ports (container_id);
CREATE INDEX ports_network ON ports (network_id, created_at);

CREATE VIEW port_view AS
SELECT p.*, n.name AS network_name, c.name AS container_name, c.status AS container_status, h.name AS host_name
FROM ports p JOIN networks n ON n.id = p.network_id
LEFT JOIN containers c ON c.id = p.container_id LEFT JOIN hosts h ON h.id = c.host_id;

CREATE TABLE volumes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    driver      TEXT NOT NULL,
    driver_opts TEXT NOT NULL,
    size_mib    BIGINT,
    pool        TEXT,
    metadata    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX volumes_pool ON volumes (pool);

-- Which containers mount which volumes (a volume is not deleted while mounted).
CREATE TABLE container_volumes (
    container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
    volume_id    TEXT NOT NULL REFERENCES volumes(id),
    target       TEXT NOT NULL,
    read_only    BIGINT NOT NULL,
    PRIMARY KEY (container_id, target)
);
CREATE INDEX container_volumes_volume ON container_volumes (volume_id);

-- The hosts a volume was made on: it stays there (its data with it) until the volume is deleted.
CREATE TABLE host_volumes (
    host_id   TEXT NOT NULL,
    volume_id TEXT NOT NULL REFERENCES volumes(id),
    PRIMARY KEY (host_id, volume_id)
);
CREATE INDEX host_volumes_volume ON host_volumes (volume_id);
