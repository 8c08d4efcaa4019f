-- Clusters across regions (step 6). At a cluster's home region: the members it runs in other
-- regions (one row per container there, same id; desired 'running', or 'deleted' until the other
-- region confirmed the removal: the fence), and the other regions as the central lists them.
-- At the region running such a member: which home region it belongs to.
CREATE TABLE remote_members (
    container_id  TEXT PRIMARY KEY,
    -- NULL once its node let go of it (the member is only waiting to be removed there).
    node_id       TEXT,
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- The container's spec (JSON) and metadata (JSON) sent to the other region.
    spec          TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    desired       TEXT NOT NULL,
    -- The container's status there as last seen; UNKNOWN while its region cannot be reached.
    status        TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    host          TEXT,
    addresses     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX remote_members_region ON remote_members (region, desired);
CREATE INDEX remote_members_node ON remote_members (node_id);

CREATE TABLE peer_regions (
    name       TEXT PRIMARY KEY,
    api_url    TEXT NOT NULL,
    -- 1 while the central lists it UP and this region's calls to it succeed.
    up         BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);

CREATE TABLE hosted_members (
    container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
    home_region  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX hosted_members_home ON hosted_members (home_region);
