//! Retention: events and finished actions older than a cutoff are deleted, one bounded batch per call.

use crate::codec::millis;
use crate::{Store, StoreError};
use flotilla_core::Timestamp;

impl Store {
    /// Deletes up to `batch` of the oldest events made before `before`; answers how many went.
    /// Events are found by id on the primary key: a UUIDv7 id orders as its time.
    pub async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let floor = flotilla_core::event::id_floor(before);
        let mut w = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < $1 ORDER BY id LIMIT $2)")
            .bind(floor.to_string())
            .bind(i64::from(batch))
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` of the actions that ended (SUCCEEDED, FAILED or CANCELLED) before `before`, oldest
    /// first; answers how many went. Never one that a cluster's or node's lock names, nor a child whose parent has
    /// not ended (its engine still counts its children).
    pub async fn purge_actions(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM actions WHERE id IN (
                SELECT a.id FROM actions a
                WHERE a.ended_at IS NOT NULL AND a.ended_at < $1 AND a.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
                  AND NOT EXISTS (SELECT 1 FROM clusters c WHERE c.lock_action = a.id)
                  AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.lock_action = a.id)
                  AND NOT EXISTS (SELECT 1 FROM actions p WHERE p.id = a.parent AND p.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))
                ORDER BY a.ended_at LIMIT $2)",
        )
        .bind(millis(before))
        .bind(i64::from(batch))
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(done.rows_affected())
    }
}
