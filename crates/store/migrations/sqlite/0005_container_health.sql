-- Containers' health and CPU use, as their agents probe and measure them (SQLite).
-- health: '' (no probe: no health check, or not running), 'starting', 'healthy' or 'unhealthy';
-- cpu_percent: as docker stats counts it (100 = one core busy), NULL until measured or while not
-- running; observed_at: when the agent last reported either (milliseconds).

ALTER TABLE containers ADD COLUMN health TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN health_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN cpu_percent DOUBLE PRECISION;
ALTER TABLE containers ADD COLUMN observed_at BIGINT;

-- The view's c.* was expanded when it was created: create it again so it has the new columns.
DROP VIEW container_view;
CREATE VIEW container_view AS
SELECT c.*, h.name AS host_name, h.advertise AS host_advertise
FROM containers c LEFT JOIN hosts h ON h.id = c.host_id;
