//! Senlin's request conventions: bodies wrapped in one key, numbers and booleans that may arrive
//! as strings, list queries (whitelisted filters, `limit`/`marker`/`sort`, `global_project`), and
//! its date format.

use super::error::SenlinError;
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The object under `key` of a JSON body (`{"cluster": {...}}`).
pub fn wrapped(body: &Bytes, key: &str) -> Result<Map<String, Value>, SenlinError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| SenlinError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    match value.get(key) {
        Some(Value::Object(map)) => Ok(map.clone()),
        _ => Err(SenlinError::bad_request(format!("Malformed request data, missing '{key}' key in request body."))),
    }
}

/// The body as a JSON object; an empty body is an empty object.
pub fn object(body: &Bytes) -> Result<Map<String, Value>, SenlinError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SenlinError::bad_request("The request body must be a JSON object.")),
        Err(e) => Err(SenlinError::bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

/// An integer field that may be a number, a string of digits or null.
pub fn integer(map: &Map<String, Value>, field: &str) -> Result<Option<i64>, SenlinError> {
    let invalid = |v: &Value| SenlinError::bad_request(format!("The value ({}) for '{field}' is not an integer.", plain(v)));
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid(v)),
        Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(v)),
        Some(v) => Err(invalid(v)),
    }
}

/// A number field that may be a number, a numeric string or null.
pub fn number(map: &Map<String, Value>, field: &str) -> Result<Option<f64>, SenlinError> {
    let invalid = |v: &Value| SenlinError::bad_request(format!("The value ({}) for '{field}' is not a number.", plain(v)));
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(n)) => n.as_f64().map(Some).ok_or_else(|| invalid(v)),
        Some(v @ Value::String(s)) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map(Some).ok_or_else(|| invalid(v)),
        Some(v) => Err(invalid(v)),
    }
}

/// A boolean field: a JSON boolean or one of oslo's strings (`True`, `false`, `1`, `no`, ...).
pub fn boolean(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, SenlinError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => parse_bool(&plain(v)).map(Some).ok_or_else(|| invalid_value(field, &plain(v))),
    }
}

/// A string field (a number is taken as its text).
pub fn string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, SenlinError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ Value::Number(_)) => Ok(Some(v.to_string())),
        Some(v) => Err(SenlinError::bad_request(format!("The value ({v}) for '{field}' is not a string."))),
    }
}

/// A string field that must be there.
pub fn required(map: &Map<String, Value>, field: &str) -> Result<String, SenlinError> {
    string(map, field)?.ok_or_else(|| SenlinError::bad_request(format!("'{field}' is a required property")))
}

/// oslo's `bool_from_string`, strictly.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" | "t" => Some(true),
        "false" | "0" | "no" | "n" | "off" | "f" => Some(false),
        _ => None,
    }
}

/// Senlin's message for a value a field does not take.
pub fn invalid_value(field: &str, value: &str) -> SenlinError {
    SenlinError::bad_request(format!("Invalid value '{value}' specified for '{field}'"))
}

/// A scalar's text without JSON quotes.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `/v1` date (RFC 3339) in Senlin's format, `YYYY-MM-DDTHH:MM:SSZ`; null stays null.
pub fn date(v: &Value) -> Value {
    match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(t) => Value::String(t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => Value::Null,
    }
}

/// A `/v1` date as seconds since the epoch (Senlin's action `start_time`/`end_time`).
pub fn epoch(v: &Value) -> Value {
    match v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
        Some(t) => serde_json::json!(t.timestamp_micros() as f64 / 1e6),
        None => Value::Null,
    }
}

/// A list query checked against the filters one Senlin list takes: `filters` maps each Senlin
/// filter to its `/v1` parameter. Answers the `/v1` query pairs and the Senlin filters kept for
/// the dialect to apply itself (those without a `/v1` parameter, mapped to `""`).
pub struct ListArgs {
    pub pairs: Vec<(String, String)>,
    pub local: Vec<(String, String)>,
}

pub fn list_args(query: &[(String, String)], filters: &[(&str, &str)]) -> Result<ListArgs, SenlinError> {
    let mut args = ListArgs { pairs: Vec::new(), local: Vec::new() };
    for (key, value) in query {
        match key.as_str() {
            "limit" => {
                let limit: u32 = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| invalid_value("limit", value))?;
                args.pairs.push(("limit".into(), limit.min(1000).to_string()));
            }
            "marker" | "sort" => args.pairs.push((key.clone(), value.clone())),
            "global_project" => {
                if parse_bool(value).ok_or_else(|| invalid_value("global_project", value))? {
                    args.pairs.push(("all_projects".into(), "true".into()));
                }
            }
            other => match filters.iter().find(|(senlin, _)| *senlin == other) {
                Some((_, "")) => args.local.push((key.clone(), value.clone())),
                Some((_, v1)) => args.pairs.push(((*v1).to_owned(), value.clone())),
                None => return Err(SenlinError::invalid_parameter(other)),
            },
        }
    }
    Ok(args)
}
