-- A network's name server asks for one name at a time, in any case: containers and clusters
-- are found by their lower-case name.
CREATE INDEX containers_lower_name ON containers (lower(name));
CREATE INDEX clusters_lower_name ON clusters (lower(name));
