-- The dashboard's secrets (step 10): one-time sign-in links and browser sessions. Only the
-- SHA-256 of each secret is kept; the API token it stands for is sealed with the secret itself
-- (so the rows alone cannot act as anyone).
CREATE TABLE ui_secrets (
    digest       TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    sealed_token TEXT NOT NULL,
    owns_token   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX ui_secrets_expires_at ON ui_secrets (expires_at);
