//! Printing results: tables for people (the default), JSON or YAML for scripts (`-o`).

use anyhow::{Context, Result};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;
use std::io::{ErrorKind, Write};

/// The `-o/--output` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// An object shown as one row of a list table.
pub trait Row {
    const HEADERS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
}

/// A page of a list answer: its items and the marker of the next page.
pub trait Listing: Serialize {
    type Item: Row;
    fn items(&self) -> &[Self::Item];
    fn next(&self) -> Option<&str>;
}

/// Implements [`Listing`] for a list answer `$list` that holds its `$item`s in `$field`.
macro_rules! listing {
    ($list:ty, $field:ident, $item:ty) => {
        impl $crate::output::Listing for $list {
            type Item = $item;
            fn items(&self) -> &[$item] {
                &self.$field
            }
            fn next(&self) -> Option<&str> {
                self.next.as_deref()
            }
        }
    };
}
pub(crate) use listing;

/// A timestamp as a table cell, to the minute.
pub fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// A list field of an object shown as a table of its own under the object's field/value table: a
/// network's subnets, a container's addresses.
pub struct Part {
    field: &'static str,
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Part {
    /// The field `field`, whose items are `items`.
    pub fn of<R: Row>(field: &'static str, items: &[R]) -> Self {
        Part { field, headers: R::HEADERS, rows: items.iter().map(Row::cells).collect() }
    }
}

/// Prints one object: a two-column field/value table, or the whole object as JSON or YAML.
pub fn one<T: Serialize>(format: Format, value: &T) -> Result<()> {
    detailed(format, value, &[])
}

/// Prints one object as [`one`] does, but for people each part that has items as a table of its own,
/// headed by its field's name, under the object's table (an empty part stays a field).
pub fn detailed<T: Serialize>(format: Format, value: &T, parts: &[Part]) -> Result<()> {
    if format == Format::Table { emit(&tables(value, parts)?) } else { emit(&structured(format, value)?) }
}

/// The tables [`detailed`] prints for people.
fn tables<T: Serialize>(value: &T, parts: &[Part]) -> Result<String> {
    let parts: Vec<&Part> = parts.iter().filter(|part| !part.rows.is_empty()).collect();
    let mut text = format!("{}\n", fields(value, &parts)?);
    for part in parts {
        let mut rows = table(part.headers);
        rows.add_rows(part.rows.clone());
        text.push_str(&format!("\n{}:\n{rows}\n", part.field));
    }
    Ok(text)
}

/// The field/value table of an object, without the fields of `parts`.
fn fields<T: Serialize>(value: &T, parts: &[&Part]) -> Result<Table> {
    let mut table = table(&["FIELD", "VALUE"]);
    match serde_json::to_value(value).context("cannot render the answer")? {
        Value::Object(fields) => {
            let mut fields: Vec<_> = fields.into_iter().filter(|(field, _)| !parts.iter().any(|part| part.field == field)).collect();
            fields.sort_by_key(|(field, _)| (field_rank(field), field.clone()));
            for (field, value) in fields {
                table.add_row(vec![field, cell(&value)]);
            }
        }
        other => {
            table.add_row(vec![String::new(), cell(&other)]);
        }
    }
    Ok(table)
}

/// Prints a page of objects: a table with one row each (and, on stderr, how to get the next page),
/// or the whole answer, `next` included, as JSON or YAML.
pub fn list<L: Listing>(format: Format, page: &L) -> Result<()> {
    if format != Format::Table {
        return emit(&structured(format, page)?);
    }
    rows(L::Item::HEADERS, page.items().iter().map(Row::cells).collect())?;
    if let Some(next) = page.next() {
        eprintln!("more: repeat with --marker {next}");
    }
    Ok(())
}

/// Prints the pages of one list from several regions: a table with a REGION column first, or one
/// answer whose items each carry `region` (under the list's own field, without `next`) as JSON or
/// YAML; an object with a `region` of its own (a node) keeps it. A region with more to list is named
/// on stderr with its marker.
pub fn regional_list<L: Listing>(format: Format, pages: &[(&str, L)]) -> Result<()> {
    if format == Format::Table {
        let headers: Vec<&str> = std::iter::once("REGION").chain(L::Item::HEADERS.iter().copied()).collect();
        let cells = |region: &str, item: &L::Item| std::iter::once(region.to_owned()).chain(item.cells()).collect();
        rows(&headers, pages.iter().flat_map(|(region, page)| page.items().iter().map(|item| cells(region, item))).collect())?;
    } else {
        emit(&structured(format, &merged(pages)?)?)?;
    }
    for (region, page) in pages {
        if let Some(next) = page.next() {
            eprintln!("more in region {region}: repeat with --region {region} --marker {next}");
        }
    }
    Ok(())
}

/// The items of every region's page under the list's own field, each with its `region`.
fn merged<L: Listing>(pages: &[(&str, L)]) -> Result<Value> {
    let mut field = None;
    let mut items = Vec::new();
    for (region, page) in pages {
        let Value::Object(answer) = serde_json::to_value(page).context("cannot render the answer")? else { continue };
        for (name, value) in answer {
            if let Value::Array(list) = value {
                field = Some(name);
                items.extend(list.into_iter().map(|mut item| {
                    if let Value::Object(fields) = &mut item {
                        fields.entry("region").or_insert_with(|| Value::String((*region).to_owned()));
                    }
                    item
                }));
            }
        }
    }
    Ok(Value::Object([(field.unwrap_or_else(|| "items".into()), Value::Array(items))].into_iter().collect()))
}

/// A table of `rows` under `headers`, or `(none)` on stderr when there are none.
fn rows(headers: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    if rows.is_empty() {
        eprintln!("(none)");
        return Ok(());
    }
    let mut table = table(headers);
    table.add_rows(rows);
    emit(&format!("{table}\n"))
}

/// Prints rows under headers that come with the data (`top`, quotas), or `value` as JSON or YAML.
pub fn grid<T: Serialize>(format: Format, value: &T, headers: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    if format != Format::Table {
        return emit(&structured(format, value)?);
    }
    let mut table = table(headers);
    table.add_rows(rows);
    emit(&format!("{table}\n"))
}

/// A size in bytes for people: `512 B`, `1.5 KiB`, `120.3 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Prints a confirmation for people; scripts reading JSON or YAML get nothing (the exit code says it).
pub fn done(format: Format, message: &str) -> Result<()> {
    if format == Format::Table { emit(&format!("{message}\n")) } else { Ok(()) }
}

/// Confirms that `kind` `key` is gone.
pub fn deleted(format: Format, kind: &str, key: &str) -> Result<()> {
    done(format, &format!("deleted {kind} {key}"))
}

fn structured<T: Serialize>(format: Format, value: &T) -> Result<String> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(value).context("cannot render the answer as JSON")? + "\n",
        Format::Yaml | Format::Table => serde_saphyr::to_string(value).context("cannot render the answer as YAML")?,
    };
    Ok(text)
}

fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Dynamic).set_header(headers.to_vec());
    table
}

/// Where a field goes in a field/value table: who and what first, timestamps last, others by name.
fn field_rank(field: &str) -> u8 {
    match field {
        "id" => 0,
        "name" => 1,
        "user" => 2,
        "project" => 3,
        "role" => 4,
        "created_at" | "updated_at" | "expires_at" => 6,
        _ => 5,
    }
}

/// A value as one table cell: strings bare, references by name, anything else as compact JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map) if map.len() == 2 && map.contains_key("id") => match map.get("name") {
            Some(Value::String(name)) => name.clone(),
            _ => value.to_string(),
        },
        Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    raw(text.as_bytes()).map(drop)
}

/// Writes bytes to stdout as they are (logs, exec output) and flushes them; `false` when the reader
/// went away (`| head`), which is not an error but means there is no point in writing more.
pub fn raw(bytes: &[u8]) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_readable() {
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!("alice")), "alice");
        assert_eq!(cell(&json!(true)), "true");
        assert_eq!(cell(&json!({"id": "0192", "name": "demo"})), "demo");
        assert_eq!(cell(&json!({})), "");
        assert_eq!(cell(&json!({"tier": "web"})), r#"{"tier":"web"}"#);
        assert_eq!(cell(&json!(["a", 1])), r#"["a",1]"#);
    }

    #[test]
    fn sizes_are_readable() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(120 * 1024 * 1024 + 300 * 1024), "120.3 MiB");
        assert_eq!(size(5 << 40), "5.0 TiB");
        assert_eq!(size(u64::MAX), "16384.0 PiB");
    }

    struct Pair(&'static str, u8);

    impl Row for Pair {
        const HEADERS: &'static [&'static str] = &["KEY", "COUNT"];
        fn cells(&self) -> Vec<String> {
            vec![self.0.to_owned(), self.1.to_string()]
        }
    }

    impl Serialize for Pair {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            json!({"key": self.0, "count": self.1}).serialize(serializer)
        }
    }

    #[derive(Serialize)]
    struct Pairs {
        pairs: Vec<Pair>,
        next: Option<String>,
    }

    listing!(Pairs, pairs, Pair);

    #[test]
    fn regions_pages_merge_under_the_list_field_with_their_region() {
        let east = Pairs { pairs: vec![Pair("a", 1), Pair("b", 2)], next: Some("m1".into()) };
        let west = Pairs { pairs: vec![Pair("c", 3)], next: None };
        let both = merged(&[("east", east), ("west", west)]).unwrap();
        let expected = json!({"pairs": [
            {"key": "a", "count": 1, "region": "east"},
            {"key": "b", "count": 2, "region": "east"},
            {"key": "c", "count": 3, "region": "west"}
        ]});
        assert_eq!(both, expected, "no `next`: each region's marker goes to stderr");
        let empty = merged(&[("east", Pairs { pairs: vec![], next: None })]).unwrap();
        assert_eq!(empty, json!({"pairs": []}), "the list's field even when empty");
    }

    #[test]
    fn parts_are_tables_under_the_fields() {
        let value = json!({"name": "front", "subnets": ["raw"], "tags": [], "id": "n1"});
        let text = tables(&value, &[Part::of("subnets", &[Pair("a", 1), Pair("b", 22)]), Part::of::<Pair>("tags", &[])]).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines, ["FIELD  VALUE", "id     n1", "name   front", "tags   []", "", "subnets:", "KEY  COUNT", "a    1", "b    22"]);
        assert!(!text.contains("raw"), "a part is not also a field: {text}");
    }

    #[test]
    fn yaml_and_json_render_the_same_data() {
        let value = json!({"name": "demo", "next": null, "n": 3});
        let yaml = structured(Format::Yaml, &value).unwrap();
        let back: Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, value, "{yaml}");
        let json: Value = serde_json::from_str(&structured(Format::Json, &value).unwrap()).unwrap();
        assert_eq!(json, value);
    }
}
