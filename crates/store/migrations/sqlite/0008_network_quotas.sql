-- Quotas of networks and ports (addresses, a container's included), generous by default (SQLite); the
-- count of a project's ports is read on every port written, under the placement lock.
ALTER TABLE quotas ADD COLUMN networks BIGINT NOT NULL DEFAULT 100;
ALTER TABLE quotas ADD COLUMN ports BIGINT NOT NULL DEFAULT 10000;
CREATE INDEX ports_project ON ports (project_id);
CREATE INDEX networks_project ON networks (project_id);
