-- Names across regions (step 7): each endpoint of a global network carries the names it answers
-- to (its container's, and its cluster's while it runs), so that other regions' hosts resolve them.
ALTER TABLE global_endpoints ADD COLUMN names TEXT NOT NULL DEFAULT '[]';
