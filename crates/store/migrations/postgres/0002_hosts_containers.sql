-- Hosts, join tokens, containers, images and quotas (PostgreSQL).

CREATE TABLE join_tokens (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE hosts (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    zone              TEXT NOT NULL,
    pool              TEXT NOT NULL,
    labels            TEXT NOT NULL,
    runtime           TEXT NOT NULL,
    advertise         TEXT NOT NULL,
    callback_secret   TEXT NOT NULL,
    credential_digest TEXT NOT NULL UNIQUE,
    cpu_millis        BIGINT NOT NULL,
    memory_mib        BIGINT NOT NULL,
    disk_mib          BIGINT NOT NULL,
    cpu_percent       DOUBLE PRECISION NOT NULL,
    memory_used_mib   BIGINT NOT NULL,
    schedulable       TEXT NOT NULL,
    alive             BIGINT NOT NULL,
    last_heartbeat    BIGINT,
    images            TEXT NOT NULL,
    revision          BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE containers (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    user_id       TEXT NOT NULL,
    spec          TEXT NOT NULL,
    image         TEXT NOT NULL,
    image_id      TEXT,
    host_id       TEXT REFERENCES hosts(id),
    cpu_millis    BIGINT NOT NULL,
    memory_mib    BIGINT NOT NULL,
    host_ports    TEXT NOT NULL,
    desired       TEXT NOT NULL,
    generation    BIGINT NOT NULL,
    status        TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    runtime_id    TEXT,
    exit_code     BIGINT,
    metadata      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX containers_host ON containers (host_id);

CREATE TABLE images (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id    TEXT NOT NULL,
    public     BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    docker_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Limits per project; -1 is unlimited. A project without a row is unlimited.
CREATE TABLE quotas (
    project_id  TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    containers  BIGINT NOT NULL,
    cpu_millis  BIGINT NOT NULL,
    memory_mib  BIGINT NOT NULL,
    image_bytes BIGINT NOT NULL
);

-- Hosts with what is placed on them, summed per host through containers_host (agents read one
-- host on every call, so the sums must not scan every container).
CREATE VIEW host_view AS
SELECT h.*,
       (SELECT CAST(COALESCE(SUM(c.cpu_millis), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_cpu_millis,
       (SELECT CAST(COALESCE(SUM(c.memory_mib), 0) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS alloc_memory_mib,
       (SELECT CAST(COUNT(*) AS BIGINT) FROM containers c WHERE c.host_id = h.id) AS container_count
FROM hosts h;

-- Containers with their host's name and address.
CREATE VIEW container_view AS
SELECT c.*, h.name AS host_name, h.advertise AS host_advertise
FROM containers c LEFT JOIN hosts h ON h.id = c.host_id;

-- Images with each project that sees them (its own, and public ones), for per-project lists.
CREATE VIEW image_visibility_view AS
SELECT i.*, p.id AS visible_to
FROM images i JOIN projects p ON (i.project_id = p.id OR i.public = 1);
