//! Idempotency keys: the first request with a key runs, repeats replay its stored response.

use crate::codec::now_millis;
use crate::{Store, StoreError};
use flotilla_core::IdempotencyScope;
use sqlx::Row;

/// How long a key is remembered.
const KEY_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: run the request, then `finish_idempotent` or `release_idempotent`.
    Run,
    /// Seen before with the same request: answer with this stored response.
    Replay { status: u16, body: String },
    /// The first request with this key has not finished yet.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for a request whose method, path and body hash to `request_hash`.
    pub async fn claim_idempotency_key(
        &self,
        scope: IdempotencyScope,
        key: &str,
        request_hash: &str,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = now_millis();
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3")
            .bind(scope.to_string())
            .bind(key.to_owned())
            .bind(now - KEY_LIFETIME_MS)
            .execute(&self.pool)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(scope.to_string())
        .bind(key.to_owned())
        .bind(request_hash.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyClaim::Run);
        }
        let row = sqlx::query("SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(scope.to_string())
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(IdempotencyClaim::InFlight);
        };
        let stored_hash: String = row.try_get("request_hash")?;
        if stored_hash != request_hash {
            return Ok(IdempotencyClaim::Mismatch);
        }
        let status: Option<i64> = row.try_get("status")?;
        let body: Option<String> = row.try_get("body")?;
        Ok(match (status, body) {
            (Some(status), Some(body)) => IdempotencyClaim::Replay { status: u16::try_from(status).unwrap_or(500), body },
            _ => IdempotencyClaim::InFlight,
        })
    }

    /// Stores the response of the request that claimed `key`.
    pub async fn finish_idempotency_key(&self, scope: IdempotencyScope, key: &str, status: u16, body: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2")
            .bind(scope.to_string())
            .bind(key.to_owned())
            .bind(i64::from(status))
            .bind(body.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets `key` so the request may be retried (it failed in a way worth retrying).
    pub async fn release_idempotency_key(&self, scope: IdempotencyScope, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2")
            .bind(scope.to_string())
            .bind(key.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
