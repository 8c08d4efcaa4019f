-- Identity, idempotency and profiles (SQLite).
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    enabled     BIGINT NOT NULL,
    metadata    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    email              TEXT,
    password_hash      TEXT NOT NULL,
    enabled            BIGINT NOT NULL,
    default_project_id TEXT REFERENCES projects(id) ON DELETE SET NULL,
    metadata           TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE role_assignments (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, project_id, role)
);

CREATE VIEW role_assignment_view AS
SELECT ra.id, ra.user_id, u.name AS user_name, ra.project_id, p.name AS project_name, ra.role,
       ra.created_at, ra.created_at AS updated_at, u.name || '/' || p.name AS name
FROM role_assignments ra JOIN users u ON u.id = ra.user_id JOIN projects p ON p.id = ra.project_id;

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked     BIGINT NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

CREATE TABLE profiles (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    user_id    TEXT NOT NULL,
    spec       TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Users with the project they hold a role on, one row per (user, project): lists users of a project.
CREATE VIEW user_membership_view AS
SELECT DISTINCT u.*, ra.project_id AS member_of
FROM users u JOIN role_assignments ra ON ra.user_id = u.id;

-- Profiles with their spec's type as a column, for filtering.
CREATE VIEW profile_view AS
SELECT p.*, json_extract(p.spec, '$.type') AS type FROM profiles p;
