-- A network's name server asks for one name at a time, in any case: containers and clusters
-- are found by their lower-case name.
CREATE INDEX containers_lower_name ON containers (lower(name));
CREATE INDEX clusters_lower_name ON clusters (lower(name));
-- A waiting cluster action asks whether any child has not ended, without counting them all.
DROP INDEX actions_parent;
CREATE INDEX actions_parent_status ON actions (parent, status);
