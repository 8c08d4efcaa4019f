-- The event log (SQLite): who did what to which object. Append-only; ids are UUIDv7, so id order
-- is time order. project_id is NULL for region-level objects (hosts); no foreign keys: events
-- outlive their objects.

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    timestamp   BIGINT NOT NULL,
    level       TEXT NOT NULL,
    project_id  TEXT,
    user_id     TEXT,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    object_name TEXT NOT NULL,
    action      TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    metadata    TEXT NOT NULL
);
CREATE INDEX events_project ON events (project_id, id);
CREATE INDEX events_object ON events (object_id, id);
