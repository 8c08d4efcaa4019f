-- Routers across regions (step 7): a global router is made at the central and joins global
-- networks only; a region keeps a copy (same id) of each one joining a network its hosts carry.
ALTER TABLE routers ADD COLUMN is_global INTEGER NOT NULL DEFAULT 0;
