//! Tallies: tables of delta rows that triggers add as rows elsewhere change (ports per project,
//! migration 0033; containers per host and per project, 0034), summed by readers and folded into
//! one row by writers holding the placement lock, so counting never scans what is counted.

use crate::{StoreError, Tx};
use sqlx::{AssertSqlSafe, Row};

/// A tally table, the column naming whose tally a row is, and the columns it sums.
pub(crate) struct Tally {
    pub table: &'static str,
    pub key: &'static str,
    pub columns: &'static [&'static str],
}

pub(crate) const PORTS: Tally = Tally { table: "port_tallies", key: "project_id", columns: &["n"] };
pub(crate) const PROJECT_CONTAINERS: Tally =
    Tally { table: "project_tallies", key: "project_id", columns: &["containers", "cpu_millis", "memory_mib"] };
pub(crate) const HOST_CONTAINERS: Tally =
    Tally { table: "host_tallies", key: "host_id", columns: &["containers", "cpu_millis", "memory_mib"] };

/// Rows a tally may spread over before a writer folds them into one.
pub(crate) const FOLD_PAST: i64 = 64;

impl Tally {
    /// Those of `keys` whose rows have piled up past [`FOLD_PAST`]: one statement per
    /// [`rows_per_statement`](crate::codec::rows_per_statement) keys.
    pub(crate) async fn piled(&self, tx: &mut Tx, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let mut piled = Vec::new();
        for chunk in keys.chunks(crate::codec::rows_per_statement(tx, 1)) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {key} FROM {} WHERE {key} IN ({}) GROUP BY {key} HAVING COUNT(*) > {FOLD_PAST}",
                self.table,
                marks.join(", "),
                key = self.key
            );
            let query = chunk.iter().fold(sqlx::query(AssertSqlSafe(sql)), |q, key| q.bind(key.clone()));
            for row in query.fetch_all(&mut **tx).await? {
                piled.push(row.try_get::<String, _>(0)?);
            }
        }
        Ok(piled)
    }

    /// Folds `key`'s rows into one and answers its sums, in `columns` order. Callers hold the
    /// placement lock (one fold at a time); the rows summed are those deleted, so a concurrent
    /// writer's row, committed meanwhile, is either deleted and counted or kept.
    pub(crate) async fn fold(&self, tx: &mut Tx, key: &str) -> Result<Vec<i64>, StoreError> {
        let columns = self.columns.join(", ");
        let delete = format!("DELETE FROM {} WHERE {} = $1 RETURNING {columns}", self.table, self.key);
        let rows = sqlx::query(AssertSqlSafe(delete)).bind(key.to_owned()).fetch_all(&mut **tx).await?;
        let mut sums = vec![0i64; self.columns.len()];
        for row in &rows {
            for (i, sum) in sums.iter_mut().enumerate() {
                *sum += row.try_get::<i64, _>(i)?;
            }
        }
        let values: Vec<String> = (2..=sums.len() + 1).map(|i| format!("${i}")).collect();
        let insert = format!("INSERT INTO {} ({}, {columns}) VALUES ($1, {})", self.table, self.key, values.join(", "));
        let query = sums.iter().fold(sqlx::query(AssertSqlSafe(insert)).bind(key.to_owned()), |q, sum| q.bind(*sum));
        query.execute(&mut **tx).await?;
        Ok(sums)
    }
}
