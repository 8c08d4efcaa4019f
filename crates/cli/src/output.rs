//! Printing results: tables for people (the default, `-o wide` with ids), JSON, YAML, names, ids
//! (`-q`) or a JSONPath's matches for scripts (`-o`).

use anyhow::{Context, Result};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;
use std::io::{ErrorKind, Write};

/// The `-o/--output` choice (`-q` is [`Format::Ids`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Tables for people, names rather than ids.
    #[default]
    Table,
    /// Tables with every column, ids included.
    Wide,
    /// Each object's name (its id when it has none), one per line.
    Name,
    /// Each object's id, one per line (`-q`).
    Ids,
    Json,
    Yaml,
    /// The matches of a JSONPath (`jsonpath={.items[*].name}` as kubectl, or `$.items[*].name`) in
    /// the JSON answer, one per line: strings bare, anything else as compact JSON.
    JsonPath(&'static str),
}

impl Format {
    /// Parses `-o VALUE`. A JSONPath lives as long as the process (one per command line).
    pub fn parse(text: &str) -> Result<Format, String> {
        let format = match text {
            "table" => Format::Table,
            "wide" => Format::Wide,
            "name" => Format::Name,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            _ => match text.strip_prefix("jsonpath=") {
                Some(expr) => {
                    let path = json_path(expr)?;
                    Format::JsonPath(Box::leak(path.into_boxed_str()))
                }
                None => return Err(format!("{text:?} is not an output format: use table, wide, name, json, yaml or jsonpath=EXPR")),
            },
        };
        Ok(format)
    }

    /// Whether the output is for people: tables and messages.
    pub fn is_table(self) -> bool {
        matches!(self, Format::Table | Format::Wide)
    }
}

/// A JSONPath as RFC 9535 writes it (`$.a[*].b`), from kubectl's form (`{.a[*].b}`) or its own;
/// refused with the parser's reason when it does not parse.
fn json_path(expr: &str) -> Result<String, String> {
    let inner = expr.trim().strip_prefix('{').and_then(|e| e.strip_suffix('}')).unwrap_or(expr.trim());
    let path = if inner.starts_with('$') { inner.to_owned() } else { format!("${inner}") };
    serde_json_path::JsonPath::parse(&path).map_err(|e| format!("jsonpath={expr}: {e}"))?;
    Ok(path)
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
    if format.is_table() { emit(&tables(value, parts)?) } else { emit(&structured(format, value)?) }
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
    if !format.is_table() {
        return emit(&structured(format, page)?);
    }
    rows(format, L::Item::HEADERS, page.items().iter().map(Row::cells).collect())?;
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
    if format.is_table() {
        let headers: Vec<&str> = std::iter::once("REGION").chain(L::Item::HEADERS.iter().copied()).collect();
        let cells = |region: &str, item: &L::Item| std::iter::once(region.to_owned()).chain(item.cells()).collect();
        rows(format, &headers, pages.iter().flat_map(|(region, page)| page.items().iter().map(|item| cells(region, item))).collect())?;
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

/// A table of `rows` under `headers`, or `(none)` on stderr when there are none. Without `-o wide`
/// a table with a NAME column leaves out the ID column: people read names.
fn rows(format: Format, headers: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    if rows.is_empty() {
        eprintln!("(none)");
        return Ok(());
    }
    let (headers, rows) = columns(format, headers, rows);
    let mut table = table(&headers);
    table.add_rows(rows);
    emit(&format!("{table}\n"))
}

/// The columns a table shows in `format`: all with `-o wide`, else all but ID when there is a NAME.
fn columns<'h>(format: Format, headers: &[&'h str], mut rows: Vec<Vec<String>>) -> (Vec<&'h str>, Vec<Vec<String>>) {
    let mut headers = headers.to_vec();
    if format == Format::Table
        && headers.contains(&"NAME")
        && let Some(id) = headers.iter().position(|h| *h == "ID")
    {
        headers.remove(id);
        rows.iter_mut().filter(|row| row.len() > id).for_each(|row| drop(row.remove(id)));
    }
    (headers, rows)
}

/// Prints rows under headers that come with the data (`top`, quotas), or `value` as JSON or YAML.
pub fn grid<T: Serialize>(format: Format, value: &T, headers: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    if !format.is_table() {
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
    if format.is_table() { emit(&format!("{message}\n")) } else { Ok(()) }
}

/// Confirms that `kind` `key` is gone.
pub fn deleted(format: Format, kind: &str, key: &str) -> Result<()> {
    done(format, &format!("deleted {kind} {key}"))
}

fn structured<T: Serialize>(format: Format, value: &T) -> Result<String> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(value).context("cannot render the answer as JSON")? + "\n",
        Format::Yaml | Format::Table | Format::Wide => serde_saphyr::to_string(value).context("cannot render the answer as YAML")?,
        Format::Name => lines(objects(&to_json(value)?).iter().map(|o| key_of(o, "name").or_else(|| key_of(o, "id")))),
        Format::Ids => lines(objects(&to_json(value)?).iter().map(|o| key_of(o, "id"))),
        Format::JsonPath(path) => {
            let path = serde_json_path::JsonPath::parse(path).context("a JSONPath checked when parsed")?;
            let value = to_json(value)?;
            lines(path.query(&value).all().into_iter().map(|found| Some(found.as_str().map_or_else(|| found.to_string(), str::to_owned))))
        }
    };
    Ok(text)
}

fn to_json<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).context("cannot render the answer")
}

/// The objects of an answer: a list answer's items (its one array field), else the answer itself.
fn objects(value: &Value) -> Vec<&Value> {
    let list = value.as_object().and_then(|fields| {
        let mut arrays = fields.values().filter_map(Value::as_array);
        arrays.next().filter(|_| arrays.next().is_none())
    });
    match list {
        Some(items) => items.iter().collect(),
        None => vec![value],
    }
}

/// An object's `field` as text (a string, or a reference's name).
fn key_of(object: &Value, field: &str) -> Option<String> {
    object.get(field).map(cell).filter(|text| !text.is_empty())
}

/// The values that are there, one per line.
fn lines(values: impl Iterator<Item = Option<String>>) -> String {
    values.flatten().map(|line| line + "\n").collect()
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
    fn names_ids_and_json_paths_pick_from_lists_and_objects() {
        let list = json!({"containers": [{"id": "c1", "name": "web"}, {"id": "c2", "name": null}], "next": null});
        assert_eq!(structured(Format::Name, &list).unwrap(), "web\nc2\n", "the id where there is no name");
        assert_eq!(structured(Format::Ids, &list).unwrap(), "c1\nc2\n");
        assert_eq!(structured(Format::Name, &json!({"id": "n1", "name": "front"})).unwrap(), "front\n");
        let Format::JsonPath(path) = Format::parse("jsonpath={.containers[*].id}").unwrap() else { panic!("a JSONPath") };
        assert_eq!(path, "$.containers[*].id");
        assert_eq!(structured(Format::JsonPath(path), &list).unwrap(), "c1\nc2\n");
        let Format::JsonPath(path) = Format::parse("jsonpath=$.containers[0]").unwrap() else { panic!("a JSONPath") };
        assert_eq!(structured(Format::JsonPath(path), &list).unwrap(), "{\"id\":\"c1\",\"name\":\"web\"}\n");
        let err = Format::parse("jsonpath={.containers[}").unwrap_err();
        assert!(err.contains("jsonpath={.containers[}"), "{err}");
        assert!(Format::parse("xml").unwrap_err().contains("\"xml\" is not an output format"));
    }

    #[test]
    fn tables_name_rather_than_id_unless_wide() {
        let row = || vec![vec!["c1".to_owned(), "web".into(), "RUNNING".into()]];
        let (headers, rows) = columns(Format::Table, &["ID", "NAME", "STATUS"], row());
        assert_eq!((headers, rows), (vec!["NAME", "STATUS"], vec![vec!["web".to_owned(), "RUNNING".into()]]));
        assert_eq!(columns(Format::Wide, &["ID", "NAME", "STATUS"], row()).0, ["ID", "NAME", "STATUS"]);
        let (headers, _) = columns(Format::Table, &["ID", "REGION", "TYPE"], row());
        assert_eq!(headers, ["ID", "REGION", "TYPE"], "no NAME to show instead: the id stays");
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
