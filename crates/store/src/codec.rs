//! Conversions between domain values and the portable column types (TEXT, BIGINT) both backends share.

use crate::StoreError;
use flotilla_core::{Metadata, Name, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt::Write as _;
use std::str::FromStr;

pub(crate) fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn now_millis() -> i64 {
    millis(flotilla_core::now())
}

pub(crate) fn get_time(row: &AnyRow, column: &str) -> Result<Timestamp, StoreError> {
    let ms: i64 = row.try_get(column)?;
    chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms}")))
}

pub(crate) fn get_opt_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    let ms: Option<i64> = row.try_get(column)?;
    ms.map(|ms| chrono::DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("{column} = {ms}")))).transpose()
}

/// What binds an optional non-negative float: -1 for `None`, which the SQL turns back into NULL
/// with `NULLIF($n, -1)`. sqlx's Any driver binds a NULL DOUBLE as a float4 on PostgreSQL, and a
/// statement first prepared that way refuses every float8 bound later.
pub(crate) fn opt_float(value: Option<f64>) -> f64 {
    value.filter(|v| *v >= 0.0).unwrap_or(-1.0)
}

pub(crate) fn get_bool(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

pub(crate) fn get_id<T: FromStr>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {text:?}")))
}

pub(crate) fn get_opt_id<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {t:?}")))).transpose()
}

pub(crate) fn get_name(row: &AnyRow) -> Result<Name, StoreError> {
    let text: String = row.try_get("name")?;
    Name::parse("name", &text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values serialize to JSON")
}

pub(crate) fn metadata_json(metadata: &Metadata) -> String {
    to_json(metadata)
}

/// The most rows of `columns` columns one multi-row statement inside `tx` writes. SQLite: about
/// 256 parameters (its driver looks each parameter up by name in a list of them, a cost growing
/// with the square of the parameters, so bigger statements got slower per row). PostgreSQL: about
/// 4,096, for every statement is a round trip, and on a busy machine each waits its turn for a
/// core (a placement batch of 500 containers was 50 inserts of 10 taking 200 ms, not their 30 ms of work).
pub(crate) fn rows_per_statement(tx: &crate::Tx, columns: usize) -> usize {
    let parameters = if tx.backend_name() == "PostgreSQL" { 4096 } else { 256 };
    (parameters / columns).max(1)
}

/// The `VALUES` rows of a multi-row insert of `rows` rows of `columns` columns: `($1, $2), ($3, $4)`.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    value_rows_of(rows, &vec!["?"; columns])
}

/// The `VALUES` rows of a multi-row insert of `rows` rows, each column's expression in `columns`
/// with `?` where its parameter goes: `["?", "NULLIF(?, -1)"]` → `($1, NULLIF($2, -1)), ...`.
pub(crate) fn value_rows_of(rows: usize, columns: &[&str]) -> String {
    let mut sql = String::with_capacity(rows * columns.iter().map(|c| c.len() + 8).sum::<usize>());
    let mut parameter = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for (c, expr) in columns.iter().enumerate() {
            if c > 0 {
                sql.push_str(", ");
            }
            let (before, after) = expr.split_once('?').unwrap_or((expr, ""));
            parameter += 1;
            let _ = write!(sql, "{before}${parameter}{after}");
        }
        sql.push(')');
    }
    sql
}

/// `sql`, a statement as long as its batch, as a query not kept in the connection's statement
/// cache: nearly every length is new, and a cached statement keeps each of its up to 4,096
/// parameters' types for as long as its connection lives.
pub(crate) fn batch_query(sql: String) -> AnyQuery<'static> {
    sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false)
}

/// `query` with each of `values` bound in turn, as its next parameters.
pub(crate) fn bind_all<'q>(query: AnyQuery<'q>, values: impl IntoIterator<Item = String>) -> AnyQuery<'q> {
    values.into_iter().fold(query, |q, v| q.bind(v))
}

/// The parameters of an `IN (…)` list of `n` values: `$1, $2, …, $n`.
pub(crate) fn in_list(n: usize) -> String {
    let mut sql = String::with_capacity(n * 7);
    for i in 1..=n {
        let _ = write!(sql, "{}${i}", if i == 1 { "" } else { ", " });
    }
    sql
}

/// A statement of the Any driver, as `sqlx::query` makes it.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Whether `key` is an id (looked up by id) rather than a name.
pub(crate) fn is_id(key: &str) -> bool {
    uuid::Uuid::parse_str(key).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_rows_number_every_column() {
        assert_eq!(super::value_rows(1, 2), "($1, $2)");
        assert_eq!(super::value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::value_rows_of(2, &["?", "NULLIF(?, -1)"]), "($1, NULLIF($2, -1)), ($3, NULLIF($4, -1))");
    }

    #[test]
    fn in_list_numbers_every_value() {
        assert_eq!(super::in_list(1), "$1");
        assert_eq!(super::in_list(3), "$1, $2, $3");
    }
}
