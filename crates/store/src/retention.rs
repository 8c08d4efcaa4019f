//! Retention: events and finished actions older than a cutoff are deleted, one bounded batch per call.

use crate::codec::millis;
use crate::{Store, StoreError};
use flotilla_core::Timestamp;

/// Up to `$2` events with an id below `$1`, on the primary key.
const PURGE_EVENTS: &str = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < $1 ORDER BY id LIMIT $2)";

/// Up to `$2` actions that ended before `$1` and that nothing still needs, on the `(status, ended_at)` index.
const PURGE_ACTIONS: &str = "DELETE FROM actions WHERE id IN (
    SELECT a.id FROM actions a
    WHERE a.ended_at IS NOT NULL AND a.ended_at < $1 AND a.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED')
      AND NOT EXISTS (SELECT 1 FROM clusters c WHERE c.lock_action = a.id)
      AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.lock_action = a.id)
      AND NOT EXISTS (SELECT 1 FROM actions p WHERE p.id = a.parent AND p.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))
    LIMIT $2)";

impl Store {
    /// Deletes up to `batch` of the oldest events made before `before`; answers how many went.
    /// Events are found by id on the primary key: a UUIDv7 id orders as its time.
    pub async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let floor = flotilla_core::event::id_floor(before);
        let mut w = self.begin_write().await?;
        let done = sqlx::query(PURGE_EVENTS).bind(floor.to_string()).bind(i64::from(batch)).execute(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` of the actions that ended (SUCCEEDED, FAILED or CANCELLED) before `before`; answers
    /// how many went. Never one that a cluster's or node's lock names, nor a child whose parent has not ended (its
    /// engine still counts its children). Candidates come from the `(status, ended_at)` index, unsorted, so a
    /// batch costs its size, not the table's.
    pub async fn purge_actions(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query(PURGE_ACTIONS).bind(millis(before)).bind(i64::from(batch)).execute(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// SQLite's plan of `sql`, one line per step.
    async fn plan(store: &Store, sql: &str) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(explain)).bind("x").bind(1_i64).fetch_all(&store.pool).await.unwrap();
        rows.iter().map(|r| r.try_get::<String, _>("detail").unwrap()).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn purges_search_indexes_not_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("f.db").display())).await.unwrap();
        let actions = plan(&store, PURGE_ACTIONS).await;
        assert!(actions.contains("USING INDEX actions_ended (status=? AND ended_at"), "{actions}");
        assert!(actions.contains("clusters_lock") && actions.contains("nodes_lock"), "{actions}");
        assert!(!actions.contains("SCAN") && !actions.contains("TEMP B-TREE"), "{actions}");
        let events = plan(&store, PURGE_EVENTS).await;
        assert!(events.contains("SEARCH events USING COVERING INDEX sqlite_autoindex_events_1 (id<?)"), "{events}");
        assert!(!events.contains("SCAN"), "{events}");
    }
}
