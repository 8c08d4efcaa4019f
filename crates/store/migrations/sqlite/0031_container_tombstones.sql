-- A row for each container deleted lately, so the engine's container watch sees a deletion as
-- soon as it sees a change (a deleted row cannot be found by its updated_at). Kept a minute.
CREATE TABLE container_tombstones (
    id         TEXT PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);
CREATE INDEX container_tombstones_deleted ON container_tombstones (deleted_at);
