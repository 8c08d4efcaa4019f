-- Idempotency keys keep only what a replay needs: the status, the body unless the answer carried
-- a secret (then NULL: the secret is shown once), and the Location header; they are purged a day
-- after their creation, found by this index. Rows written before kept whole answers (join tokens,
-- webhook URLs in clear): they are dropped, which loses at most a day of replays.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys ADD COLUMN location TEXT;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- The parameters a webhook's trigger body may override (a JSON array of names; none by default).
ALTER TABLE receivers ADD COLUMN overridable TEXT NOT NULL DEFAULT '[]';
