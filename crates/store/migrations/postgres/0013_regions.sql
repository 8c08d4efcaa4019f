-- Federation (step 6). At the central: the region registry and the one-use tokens regions register
-- with (stored as their SHA-256, spent on use). At a region: the credential its central gave it,
-- one row, so a restart needs no token.
CREATE TABLE regions (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    api_url           TEXT NOT NULL,
    network_pool      TEXT NOT NULL,
    credential_digest TEXT NOT NULL UNIQUE,
    last_heartbeat    BIGINT,
    host_count        BIGINT NOT NULL,
    container_count   BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE region_join_tokens (
    id         TEXT PRIMARY KEY,
    digest     TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE central_link (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    central_url TEXT NOT NULL,
    region_id   TEXT NOT NULL,
    credential  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
