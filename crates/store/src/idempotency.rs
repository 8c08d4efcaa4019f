//! Idempotency keys: the first request with a key runs, repeats replay what was kept of its
//! answer (never a secret), and keys are forgotten a day after their first use.

use crate::codec::now_millis;
use crate::{Store, StoreError};
use flotilla_core::IdempotencyScope;
use sqlx::Row;

/// How long a key is remembered.
const KEY_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// What is kept of a finished request's answer: enough to replay it, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentAnswer {
    pub status: u16,
    /// The body; `None` when it carried a secret, which is shown once and never kept.
    pub body: Option<String>,
    /// The `Location` header (a 202's action, a 201's object).
    pub location: Option<String>,
}

/// What to do with a request carrying an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: run the request, then `finish_idempotency_key` or `release_idempotency_key`.
    Run,
    /// Seen before with the same request: answer with what was kept of its answer.
    Replay(IdempotentAnswer),
    /// The first request with this key has not finished yet.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    /// Claims `key` for a request whose method, path and body hash to `request_hash`. Every
    /// claim first forgets the keys (of anyone) older than a day, through their creation index.
    pub async fn claim_idempotency_key(
        &self,
        scope: IdempotencyScope,
        key: &str,
        request_hash: &str,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now = now_millis();
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(now - KEY_LIFETIME_MS).execute(&self.pool).await?;
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
        let row = sqlx::query("SELECT request_hash, status, body, location FROM idempotency_keys WHERE user_id = $1 AND key = $2")
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
        Ok(match status {
            Some(status) => IdempotencyClaim::Replay(IdempotentAnswer {
                status: u16::try_from(status).unwrap_or(500),
                body: row.try_get("body")?,
                location: row.try_get("location")?,
            }),
            None => IdempotencyClaim::InFlight,
        })
    }

    /// Keeps what a replay of the request that claimed `key` needs.
    pub async fn finish_idempotency_key(&self, scope: IdempotencyScope, key: &str, answer: &IdempotentAnswer) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_keys SET status = $3, body = $4, location = $5 WHERE user_id = $1 AND key = $2")
            .bind(scope.to_string())
            .bind(key.to_owned())
            .bind(i64::from(answer.status))
            .bind(answer.body.clone())
            .bind(answer.location.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys older than a day are deleted by the next claim of any key, by anyone.
    #[tokio::test]
    async fn old_keys_are_purged_by_the_next_claim() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
        let count = |store: Store| async move {
            let n: i64 = sqlx::query("SELECT COUNT(*) FROM idempotency_keys").fetch_one(&store.pool).await.unwrap().try_get(0).unwrap();
            n
        };
        let (old, recent) = (IdempotencyScope::new(), IdempotencyScope::new());
        for (scope, age) in [(old, KEY_LIFETIME_MS + 1000), (recent, KEY_LIFETIME_MS - 60_000)] {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at) VALUES ($1, 'k', 'h', 201, '{}', $2)",
            )
            .bind(scope.to_string())
            .bind(now_millis() - age)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        assert_eq!(count(store.clone()).await, 2);
        assert_eq!(store.claim_idempotency_key(IdempotencyScope::new(), "other", "h").await.unwrap(), IdempotencyClaim::Run);
        assert_eq!(count(store.clone()).await, 2, "the day-old key went, the new one came");
        let kept = IdempotentAnswer { status: 201, body: Some("{}".into()), location: None };
        assert_eq!(store.claim_idempotency_key(recent, "k", "h").await.unwrap(), IdempotencyClaim::Replay(kept));
        assert_eq!(store.claim_idempotency_key(old, "k", "h").await.unwrap(), IdempotencyClaim::Run);
    }
}
