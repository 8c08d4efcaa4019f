//! Row operations every object table shares: read one inside a write (locked), delete one by id.

use crate::{Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

/// The row of `table` (a constant) with `id`, read inside the write transaction `tx` and locked
/// until it ends: on PostgreSQL `FOR UPDATE` (a concurrent read-modify-write of the row waits,
/// then reads what this one wrote); on SQLite the transaction already holds the single writer.
/// Without the lock, two writers read the same row and the later one writes back the earlier
/// one's columns as they were (a lost update).
pub(crate) async fn row_for_update(
    tx: &mut Transaction<'static, Any>,
    kind: &'static str,
    table: &'static str,
    id: &str,
) -> Result<AnyRow, StoreError> {
    sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table} WHERE id = $1{}", lock_clause(tx))))
        .bind(id.to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind, key: id.to_owned() })
}

/// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (whose writer lock the transaction holds).
pub(crate) fn lock_clause(tx: &Transaction<'static, Any>) -> &'static str {
    if tx.backend_name() == "PostgreSQL" { " FOR UPDATE" } else { "" }
}

/// `" FOR NO KEY UPDATE"` on PostgreSQL (the lock [`lock_in_order`] takes), nothing on SQLite.
pub(crate) fn no_key_lock_clause(tx: &Transaction<'static, Any>) -> &'static str {
    if tx.backend_name() == "PostgreSQL" { " FOR NO KEY UPDATE" } else { "" }
}

/// Locks the rows of `table` (a constant) whose `key` (a constant) is one of `ids` (sorted) until `tx` ends, in that order, on
/// PostgreSQL: a multi-row `UPDATE` locks its rows in its plan's order, which two writers need
/// not share (they would deadlock). The lock is the one an `UPDATE` of columns outside any key
/// takes (`FOR NO KEY UPDATE`): rows inserted elsewhere that refer to these (a container on a
/// host) hold a key-share lock on them until they commit, which it does not wait for. Nothing on
/// SQLite, whose writer lock `tx` holds.
pub(crate) async fn lock_in_order(
    tx: &mut Transaction<'static, Any>,
    table: &'static str,
    key: &'static str,
    ids: &[String],
) -> Result<(), StoreError> {
    if tx.backend_name() == "PostgreSQL" && !ids.is_empty() {
        let sql = format!(
            "SELECT {key} FROM {table} WHERE {key} IN ({}) ORDER BY {key}{}",
            crate::codec::in_list(ids.len()),
            no_key_lock_clause(tx)
        );
        crate::codec::bind_all(sqlx::query(AssertSqlSafe(sql)), ids.iter().cloned()).fetch_all(&mut **tx).await?;
    }
    Ok(())
}

/// The rows of `table` (a constant) whose `id` is one of `ids`, in no particular order; ids
/// not there are left out. A few parameters a statement: SQLite's driver finds each by name in a list.
pub(crate) async fn rows_by_id(pool: &sqlx::AnyPool, table: &'static str, ids: &[String]) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(64) {
        let sql = format!("SELECT * FROM {table} WHERE id IN ({})", crate::codec::in_list(chunk.len()));
        rows.extend(crate::codec::bind_all(sqlx::query(AssertSqlSafe(sql)), chunk.iter().cloned()).fetch_all(pool).await?);
    }
    Ok(rows)
}

/// Deletes the row of `table` (a constant, with a `name` column) with `id` inside `tx`, and
/// answers its name; none there → `NotFound`.
pub(crate) async fn delete_returning_name(
    tx: &mut Transaction<'static, Any>,
    kind: &'static str,
    table: &'static str,
    id: &str,
) -> Result<String, StoreError> {
    let row = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = $1 RETURNING name")))
        .bind(id.to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind, key: id.to_owned() })?;
    Ok(row.try_get("name")?)
}

impl Store {
    /// Deletes the row of `table` (a constant) with `id`; none there → `NotFound`.
    pub(crate) async fn delete_by_id(&self, kind: &'static str, table: &'static str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = $1"))).bind(id.to_owned()).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind, key: id.to_owned() });
        }
        Ok(())
    }
}
