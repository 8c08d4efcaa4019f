//! Row operations every object table shares: read one inside a write, delete one by id.

use crate::{Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Transaction};

/// The row of `table` (a constant) with `id`, read inside the write transaction `tx`.
pub(crate) async fn row_for_update(
    tx: &mut Transaction<'static, Any>,
    kind: &'static str,
    table: &'static str,
    id: &str,
) -> Result<AnyRow, StoreError> {
    sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table} WHERE id = $1")))
        .bind(id.to_owned())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind, key: id.to_owned() })
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
