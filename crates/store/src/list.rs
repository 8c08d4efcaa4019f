//! Keyset pagination shared by every list: filters, sort order, marker, `limit + 1` look-ahead.

use crate::{Backend, Store, StoreError};
use flotilla_core::selector::{Requirement, Selector};
use flotilla_core::{ListParams, Page, SortDir, SortKey};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

/// One condition of a list's `WHERE`: SQL with a `?` per value, built only from constants of
/// this crate (columns, operators), never from user text, which is always bound.
#[derive(Debug, Clone)]
pub struct Filter {
    sql: String,
    values: Vec<Bound>,
    /// Whether it says what the caller may see (its project): the marker must pass it too.
    scoping: bool,
}

impl Filter {
    fn compare(column: &'static str, op: &'static str, value: Bound) -> Self {
        Self { sql: format!("{column} {op} ?"), values: vec![value], scoping: false }
    }

    pub(crate) fn eq(column: &'static str, value: impl ToString) -> Self {
        Self::compare(column, "=", Bound::Text(value.to_string()))
    }

    /// `column = value` on an integer column.
    pub(crate) fn eq_int(column: &'static str, value: i64) -> Self {
        Self::compare(column, "=", Bound::Int(value))
    }

    /// `column = value` limiting the list to what the caller may see: a marker outside it is
    /// answered as an unknown one, so a list never confirms another project's id.
    pub(crate) fn scope(column: &'static str, value: impl ToString) -> Self {
        Self { scoping: true, ..Self::eq(column, value) }
    }

    /// `column > value`, compared as text.
    pub(crate) fn after(column: &'static str, value: impl ToString) -> Self {
        Self::compare(column, ">", Bound::Text(value.to_string()))
    }

    /// One filter per term of `selector` over `column`, a JSON object of string labels.
    pub(crate) fn labels(backend: Backend, column: &'static str, selector: &Selector) -> Vec<Self> {
        selector.0.iter().map(|term| Self::label(backend, column, term)).collect()
    }

    fn label(backend: Backend, column: &'static str, term: &Requirement) -> Self {
        // The label's value, NULL when the key is missing (values are always JSON strings).
        let value_of = |key: &str| match backend {
            // Selector keys are letters, digits and `-_./` (core), so quoting them in a path is safe.
            Backend::Sqlite => (format!("json_extract({column}, ?)"), Bound::Text(format!("$.\"{key}\""))),
            Backend::Postgres => (format!("({column}::jsonb ->> ?)"), Bound::Text(key.to_owned())),
        };
        let (sql, values) = match term {
            Requirement::Equals(k, v) => {
                let (value, key) = value_of(k);
                (format!("{value} = ?"), vec![key, Bound::Text(v.clone())])
            }
            Requirement::NotEquals(k, v) => {
                let (value, key) = value_of(k);
                (format!("({value} IS NULL OR {value} <> ?)"), vec![key.clone(), key, Bound::Text(v.clone())])
            }
            Requirement::Exists(k) => {
                let (value, key) = value_of(k);
                (format!("{value} IS NOT NULL"), vec![key])
            }
            Requirement::Missing(k) => {
                let (value, key) = value_of(k);
                (format!("{value} IS NULL"), vec![key])
            }
        };
        Self { sql, values, scoping: false }
    }

    /// The SQL with its `?`s numbered from `$first`.
    fn numbered(&self, first: usize) -> String {
        let mut sql = String::with_capacity(self.sql.len() + 8);
        let mut n = first;
        for c in self.sql.chars() {
            if c == '?' {
                sql.push_str(&format!("${n}"));
                n += 1;
            } else {
                sql.push(c);
            }
        }
        sql
    }
}

/// Which column a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// The sort key's column, then the id.
    Key,
    /// The id alone, whatever the key: append-only tables whose UUIDv7 ids are their time order.
    Id,
}

#[derive(Debug, Clone)]
enum Bound {
    Text(String),
    Int(i64),
}

impl Bound {
    fn bind_to(
        self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            Bound::Text(text) => query.bind(text),
            Bound::Int(int) => query.bind(int),
        }
    }
}

impl Store {
    /// One page of `table` (a constant) matching every filter, decoded by `decode`.
    pub(crate) async fn list_page<T>(
        &self,
        table: &'static str,
        filters: &[Filter],
        params: &ListParams,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        self.list_ordered(table, Order::Key, filters, params, decode).await
    }

    /// [`Store::list_page`] of a table whose `labels_column` (a JSON object) the list's selector
    /// (`params.labels`) is matched against, in the query so that pages stay whole.
    pub(crate) async fn list_labelled<T>(
        &self,
        table: &'static str,
        labels_column: &'static str,
        filters: Vec<Filter>,
        params: &ListParams,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let mut filters = filters;
        filters.extend(Filter::labels(self.backend, labels_column, &params.labels));
        self.list_page(table, &filters, params, decode).await
    }

    /// [`Store::list_page`] in the given order.
    pub(crate) async fn list_ordered<T>(
        &self,
        table: &'static str,
        order: Order,
        filters: &[Filter],
        params: &ListParams,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let (column, numeric) = match order {
            Order::Key => (params.sort.column(), params.sort != SortKey::Name),
            Order::Id => ("id", false),
        };
        let mut binds: Vec<Bound> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        for f in filters {
            conditions.push(f.numbered(binds.len() + 1));
            binds.extend(f.values.iter().cloned());
        }
        if let Some(marker) = &params.marker {
            let mut sql = format!("SELECT {column} FROM {table} WHERE id = $1");
            let mut scoping = vec![Bound::Text(marker.clone())];
            for f in filters.iter().filter(|f| f.scoping) {
                sql.push_str(&format!(" AND {}", f.numbered(scoping.len() + 1)));
                scoping.extend(f.values.iter().cloned());
            }
            let query = scoping.into_iter().fold(sqlx::query(AssertSqlSafe(sql)), |query, value| value.bind_to(query));
            let row = query.fetch_optional(&self.pool).await?.ok_or_else(|| StoreError::BadMarker(marker.clone()))?;
            let value = if numeric { Bound::Int(row.try_get(0)?) } else { Bound::Text(row.try_get(0)?) };
            let op = match params.dir {
                SortDir::Asc => '>',
                SortDir::Desc => '<',
            };
            let (v, id) = (binds.len() + 1, binds.len() + 2);
            conditions.push(format!("({column} {op} ${v} OR ({column} = ${v} AND id {op} ${id}))"));
            binds.push(value);
            binds.push(Bound::Text(marker.clone()));
        }
        let dir = match params.dir {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        };
        let mut sql = format!("SELECT * FROM {table}");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {column} {dir}, id {dir} LIMIT {}", u64::from(params.limit) + 1));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = bind.bind_to(query);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let more = rows.len() > params.limit as usize;
        let rows = &rows[..rows.len().min(params.limit as usize)];
        let next = match (more, rows.last()) {
            (true, Some(last)) => Some(last.try_get::<String, _>("id")?),
            _ => None,
        };
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    /// Finds the one row of `table` whose id or name is `key`, within `scope` when the table has
    /// a `project_id`. A name held in several projects is ambiguous.
    pub(crate) async fn find_one(
        &self,
        kind: &'static str,
        table: &'static str,
        scope: Option<crate::Scope>,
        key: &str,
    ) -> Result<AnyRow, StoreError> {
        let column = if crate::codec::is_id(key) { "id" } else { "name" };
        let mut sql = format!("SELECT * FROM {table} WHERE {column} = $1");
        if let Some(crate::Scope::Project(_)) = scope {
            sql.push_str(" AND project_id = $2");
        }
        sql.push_str(" LIMIT 2");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(key.to_owned());
        if let Some(crate::Scope::Project(project)) = scope {
            query = query.bind(project.to_string());
        }
        let mut rows = query.fetch_all(&self.pool).await?;
        match rows.len() {
            0 => Err(StoreError::NotFound { kind, key: key.to_owned() }),
            1 => Ok(rows.remove(0)),
            count => Err(StoreError::Ambiguous { kind, name: key.to_owned(), count }),
        }
    }
}
