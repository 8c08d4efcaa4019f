//! Listing rules shared by every collection: page size, marker, sort order.

use crate::selector::Selector;
use crate::validation::ValidationError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Columns every object kind can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    CreatedAt,
    UpdatedAt,
}

impl SortKey {
    pub fn column(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

/// One page request: at most `limit` objects after the object `marker` (an id), in `sort` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub limit: u32,
    pub marker: Option<String>,
    pub sort: SortKey,
    pub dir: SortDir,
    /// Only objects whose labels match (lists of labelled objects only).
    pub labels: Selector,
}

impl Default for ListParams {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, marker: None, sort: SortKey::CreatedAt, dir: SortDir::Asc, labels: Selector::default() }
    }
}

impl ListParams {
    /// Builds the page request from the query values `limit`, `marker` and `sort` (`key[:asc|desc]`).
    pub fn parse(limit: Option<u32>, marker: Option<String>, sort: Option<&str>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ValidationError::new("limit", limit, format!("must be between 1 and {MAX_LIMIT}")));
        }
        let (sort, dir) = match sort {
            None => (SortKey::CreatedAt, SortDir::Asc),
            Some(text) => parse_sort(text)?,
        };
        Ok(Self { limit, marker, sort, dir, labels: Selector::default() })
    }
}

fn parse_sort(text: &str) -> Result<(SortKey, SortDir), ValidationError> {
    let (key, dir) = text.split_once(':').unwrap_or((text, "asc"));
    let key = match key {
        "name" => SortKey::Name,
        "created_at" => SortKey::CreatedAt,
        "updated_at" => SortKey::UpdatedAt,
        _ => return Err(ValidationError::new("sort", text, "key must be name, created_at or updated_at")),
    };
    let dir = match dir {
        "asc" => SortDir::Asc,
        "desc" => SortDir::Desc,
        _ => return Err(ValidationError::new("sort", text, "direction must be asc or desc")),
    };
    Ok((key, dir))
}

/// One page of results; `next` is the marker for the following page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_params_table() {
        let ok = [
            (None, None, SortKey::CreatedAt, SortDir::Asc, DEFAULT_LIMIT),
            (Some(5), Some("name"), SortKey::Name, SortDir::Asc, 5),
            (Some(1000), Some("updated_at:desc"), SortKey::UpdatedAt, SortDir::Desc, 1000),
        ];
        for (limit, sort, key, dir, want_limit) in ok {
            let p = ListParams::parse(limit, None, sort).unwrap();
            assert_eq!((p.sort, p.dir, p.limit), (key, dir, want_limit));
        }
        let bad = [(Some(0), None, "limit"), (Some(1001), None, "limit"), (None, Some("size"), "sort"), (None, Some("name:up"), "sort")];
        for (limit, sort, field) in bad {
            assert_eq!(ListParams::parse(limit, None, sort).unwrap_err().field, field);
        }
    }
}
