-- Retention (PostgreSQL): finished actions are purged by status and age (ended_at), never one a lock still names. Events
-- are purged by id (UUIDv7, time-ordered) on their primary key and need no new index.
CREATE INDEX actions_ended ON actions (status, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX clusters_lock ON clusters (lock_action) WHERE lock_action IS NOT NULL;
CREATE INDEX nodes_lock ON nodes (lock_action) WHERE lock_action IS NOT NULL;
