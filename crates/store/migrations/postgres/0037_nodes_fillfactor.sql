-- Room on each page of `nodes` for the new versions of its rows: a node's status is written as
-- its actions start and end (no index holds it), and with full pages every such write put the
-- row on another page and added an entry to each of the table's indexes; with room on its page
-- it is a heap-only update. Applies to pages written from now on.
ALTER TABLE nodes SET (fillfactor = 70);
