-- Clusters, nodes, policies, receivers, actions and engine services (SQLite).

CREATE TABLE clusters (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    project_id       TEXT NOT NULL REFERENCES projects(id),
    user_id          TEXT NOT NULL,
    profile_id       TEXT NOT NULL REFERENCES profiles(id),
    desired_capacity BIGINT NOT NULL,
    min_size         BIGINT NOT NULL,
    max_size         BIGINT NOT NULL,
    timeout          BIGINT NOT NULL,
    config           TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_reason    TEXT NOT NULL,
    next_index       BIGINT NOT NULL,
    -- The action holding the cluster's exclusive lock; NULL when free.
    lock_action      TEXT,
    -- Scaling refused until then (milliseconds); 0 when no cooldown runs.
    cooldown_until   BIGINT NOT NULL,
    metadata         TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE nodes (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    user_id       TEXT NOT NULL,
    cluster_id    TEXT REFERENCES clusters(id),
    node_index    BIGINT NOT NULL,
    role          TEXT NOT NULL,
    profile_id    TEXT NOT NULL REFERENCES profiles(id),
    status        TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    tainted       BIGINT NOT NULL,
    physical_id   TEXT,
    host_id       TEXT,
    region        TEXT NOT NULL,
    -- The action holding the node's lock; NULL when free.
    lock_action   TEXT,
    metadata      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX nodes_cluster ON nodes (cluster_id, node_index);
CREATE INDEX nodes_physical ON nodes (physical_id);

CREATE TABLE policies (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    spec       TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE cluster_policies (
    cluster_id TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    policy_id  TEXT NOT NULL REFERENCES policies(id),
    priority   BIGINT NOT NULL,
    enabled    BIGINT NOT NULL,
    -- What the policy remembers between runs (last scaling, autoscaler history), as JSON.
    data       TEXT NOT NULL,
    PRIMARY KEY (cluster_id, policy_id)
);

CREATE TABLE receivers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id    TEXT NOT NULL,
    type       TEXT NOT NULL,
    cluster_id TEXT NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    params     TEXT NOT NULL,
    -- SHA-256 of the trigger secret; the secret itself is shown once.
    secret_digest TEXT NOT NULL UNIQUE,
    metadata   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- The queue: engines claim READY actions; WAITING ones wait for what they depend on.
CREATE TABLE actions (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    cluster_id       TEXT,
    project_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    cause            TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_reason    TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    outputs          TEXT NOT NULL,
    owner            TEXT,
    parent           TEXT,
    timeout          BIGINT NOT NULL,
    cancel_requested BIGINT NOT NULL,
    started_at       BIGINT,
    ended_at         BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX actions_status ON actions (status, id);
CREATE INDEX actions_project ON actions (project_id, id);
CREATE INDEX actions_parent ON actions (parent);
CREATE INDEX actions_target ON actions (target_id);

-- The engines of the region, each heartbeating; a silent one's actions are taken over.
CREATE TABLE services (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- Engines watch containers that changed since their last look.
CREATE INDEX containers_updated ON containers (updated_at);
