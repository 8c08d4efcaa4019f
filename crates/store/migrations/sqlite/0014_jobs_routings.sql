-- Jobs and the routing table (SQLite).

-- Work done in the background and retried (cross-region calls): NEW, RUNNING, SUCCESS or FAIL. At most one NEW job per
-- (job_type, resource_id): a second enqueue while one waits coalesces into it.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    job_type    TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    project_id  TEXT,
    status      TEXT NOT NULL,
    -- Runs begun so far.
    attempts    BIGINT NOT NULL,
    last_error  TEXT,
    -- A NEW job is not claimed before then (milliseconds): backoff after a failure.
    run_after   BIGINT NOT NULL,
    -- The runner running it and since when: a RUNNING job claimed longer ago than the expiry is taken over.
    claimed_by  TEXT,
    claimed_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_one_new ON jobs (job_type, resource_id) WHERE status = 'NEW';
CREATE INDEX jobs_resource ON jobs (job_type, resource_id, status);
CREATE INDEX jobs_due ON jobs (status, run_after);
CREATE INDEX jobs_ended ON jobs (status, updated_at);

-- At the central: where each global id lives. Written by the regions, each only for itself.
CREATE TABLE routings (
    id            TEXT PRIMARY KEY,
    region_id     TEXT NOT NULL,
    region        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    project_id    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX routings_region ON routings (region, id);
CREATE INDEX routings_project ON routings (project_id, id);
