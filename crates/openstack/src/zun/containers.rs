//! Containers: create (and run), list with Zun's filters, show, update, rename, delete.

use super::error::{ZunError, check};
use super::query::{Params, shell_words};
use super::version::Microversion;
use super::{Zun, token, view};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use flotilla_api::{Container, ContainerList};
use serde_json::{Map, Value, json};

/// Flotilla's container read from a successful answer.
pub(super) fn read_container(body: Value) -> Result<Container, ZunError> {
    serde_json::from_value(body).map_err(|error| ZunError::Unreadable(format!("the container could not be read: {error}")))
}

/// The container `id` (uuid or name) as Flotilla has it.
pub(super) async fn fetch(zun: &Zun, headers: &HeaderMap, id: &str) -> Result<Container, ZunError> {
    let answer = check(zun.api.call(Method::GET, &format!("/v1/containers/{}", escape(id)), token(headers), None).await)?;
    read_container(answer.body)
}

/// `text` made safe for a path segment or a query value.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Memory as Zun sends it (`512`, `"512"`, `"512M"`, `"1G"`) in MiB.
fn memory_mib(value: &Value) -> Result<Option<u64>, ZunError> {
    let bad = || ZunError::BadRequest(format!("memory: {value} is not a size in MiB (e.g. 512, \"512M\" or \"1G\")"));
    let text = match value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err(bad()),
    };
    let lower = text.to_ascii_lowercase();
    let (digits, factor) = match lower.trim_end_matches("ib").trim_end_matches('b') {
        t if t.ends_with('g') => (t.trim_end_matches('g').to_owned(), 1024),
        t if t.ends_with('m') => (t.trim_end_matches('m').to_owned(), 1),
        t => (t.to_owned(), 1),
    };
    digits.parse::<u64>().map(|n| Some(n * factor)).map_err(|_| bad())
}

/// Refuses `field` unless it holds nothing or what Flotilla always does (`neutral`).
fn only_neutral(body: &Map<String, Value>, field: &str, neutral: &[Value]) -> Result<(), ZunError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(value) if neutral.contains(value) => Ok(()),
        Some(value) => Err(ZunError::BadRequest(format!("{field}: {value} is not supported by Flotilla"))),
    }
}

fn string_map(body: &Map<String, Value>, field: &str) -> Result<Value, ZunError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => Ok(Value::Object(map.clone())),
        Some(value) => Err(ZunError::BadRequest(format!("{field}: {value} must be an object of strings"))),
    }
}

fn command(body: &Map<String, Value>) -> Result<Value, ZunError> {
    match body.get("command") {
        None | Some(Value::Null) => Ok(json!([])),
        Some(Value::String(text)) => Ok(json!(shell_words(text)?)),
        Some(Value::Array(words)) if words.iter().all(Value::is_string) => Ok(Value::Array(words.clone())),
        Some(value) => Err(ZunError::BadRequest(format!("command: {value} must be a list of strings or a string"))),
    }
}

fn ports(body: &Map<String, Value>) -> Result<Value, ZunError> {
    let Some(Value::Object(exposed)) = body.get("exposed_ports") else {
        return only_neutral(body, "exposed_ports", &[]).map(|()| json!([]));
    };
    exposed
        .keys()
        .map(|key| {
            let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
            let port: u16 = port.parse().map_err(|_| ZunError::BadRequest(format!("exposed_ports: `{key}` is not PORT[/PROTOCOL]")))?;
            Ok(json!({"container": port, "protocol": protocol}))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn networks(body: &Map<String, Value>) -> Result<Value, ZunError> {
    let Some(Value::Array(nets)) = body.get("nets") else { return Ok(json!([])) };
    nets.iter()
        .map(|net| match net["network"].as_str() {
            Some(network) if net.as_object().is_some_and(|o| o.keys().all(|k| k == "network" || k == "v4-fixed-ip" && o[k] == "")) => {
                Ok(json!({"network": network}))
            }
            _ => Err(ZunError::BadRequest(format!("nets: {net} is not supported (only {{\"network\": NAME_OR_ID}})"))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn restart_policy(body: &Map<String, Value>) -> Result<Value, ZunError> {
    match body.get("restart_policy") {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(policy) => match (policy["Name"].as_str(), policy["MaximumRetryCount"].as_str().unwrap_or("0")) {
            (Some(name @ ("no" | "always" | "on-failure" | "unless-stopped")), "0") => Ok(json!(name)),
            _ => Err(ZunError::BadRequest(format!(
                "restart_policy: {policy} is not supported (Name no, always, on-failure or unless-stopped; no retry count)"
            ))),
        },
    }
}

/// Flotilla's `ContainerCreate` for Zun's create body.
fn create_body(body: &Value, run: bool) -> Result<Value, ZunError> {
    let Some(body) = body.as_object() else {
        return Err(ZunError::BadRequest(format!("the body must be a JSON object, got {body}")));
    };
    let known = [
        "name",
        "image",
        "command",
        "cpu",
        "memory",
        "environment",
        "labels",
        "workdir",
        "image_pull_policy",
        "image_driver",
        "auto_remove",
        "registry",
        "host",
        "entrypoint",
        "security_groups",
        "exposed_ports",
        "restart_policy",
        "interactive",
        "tty",
        "privileged",
        "hints",
        "nets",
        "mounts",
        "runtime",
        "hostname",
        "disk",
        "availability_zone",
        "auto_heal",
        "healthcheck",
        "cpu_policy",
    ];
    if let Some(unknown) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ZunError::BadRequest(format!("{unknown}: not a field of a container")));
    }
    let Some(image) = body.get("image").and_then(Value::as_str).filter(|i| !i.is_empty()) else {
        return Err(ZunError::BadRequest(format!("image: {} must be an image name", body.get("image").unwrap_or(&Value::Null))));
    };
    for (field, neutral) in [
        ("auto_remove", vec![json!(false)]),
        ("interactive", vec![json!(false)]),
        ("tty", vec![json!(false)]),
        ("auto_heal", vec![json!(false)]),
        ("hints", vec![json!({})]),
        ("mounts", vec![json!([])]),
        ("security_groups", vec![json!([])]),
        ("image_driver", vec![json!("docker")]),
        ("image_pull_policy", vec![json!("ifnotpresent"), json!("never")]),
        ("cpu_policy", vec![json!("shared")]),
        ("disk", vec![json!(0)]),
        ("workdir", vec![]),
        ("registry", vec![]),
        ("host", vec![]),
        ("entrypoint", vec![]),
        ("runtime", vec![]),
        ("hostname", vec![]),
        ("availability_zone", vec![]),
        ("healthcheck", vec![]),
    ] {
        only_neutral(body, field, &neutral)?;
    }
    let name = match body.get("name") {
        None | Some(Value::Null) => format!("zun-{}", &uuid::Uuid::now_v7().simple().to_string()[24..]),
        Some(Value::String(name)) => name.clone(),
        Some(other) => return Err(ZunError::BadRequest(format!("name: {other} must be a string"))),
    };
    let mut spec = json!({
        "image": image,
        "command": command(body)?,
        "environment": string_map(body, "environment")?,
        "labels": string_map(body, "labels")?,
        "ports": ports(body)?,
        "networks": networks(body)?,
        "privileged": body.get("privileged").and_then(Value::as_bool).unwrap_or(false),
    });
    let cpu = match body.get("cpu") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => Some(s.parse::<f64>().map_err(|_| ZunError::BadRequest(format!("cpu: `{s}` is not a number")))?),
        Some(other) => return Err(ZunError::BadRequest(format!("cpu: {other} is not a number"))),
    };
    if let Some(cpu) = cpu {
        spec["cpu"] = json!(cpu);
    }
    if let Some(memory) = memory_mib(body.get("memory").unwrap_or(&Value::Null))? {
        spec["memory"] = json!(memory);
    }
    let policy = restart_policy(body)?;
    if !policy.is_null() {
        spec["restart_policy"] = policy;
    }
    Ok(json!({"name": name, "spec": spec, "run": run}))
}

/// `POST /v1/containers[?run=true]`: 202, `Location` and the container (`Creating`).
pub(super) async fn create(
    State(zun): State<Zun>,
    Extension(_version): Extension<Microversion>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZunError> {
    let params = Params::parse(query.as_deref(), &["run"])?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return Err(ZunError::Flotilla {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!("Content-Type: `{content_type}` is not application/json"),
        });
    }
    let body: Value = serde_json::from_slice(&body).map_err(|error| ZunError::BadRequest(format!("the body is not JSON: {error}")))?;
    let create = create_body(&body, params.flag("run")?)?;
    let answer = check(zun.api.call(Method::POST, "/v1/containers", token(&headers), Some(&create)).await)?;
    let container = read_container(answer.body)?;
    let base = zun.base(&headers);
    let location = format!("{base}/container/v1/containers/{}", container.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view::container(&container, &base))).into_response())
}

const LIST_PARAMS: &[&str] = &[
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "all_projects",
    "name",
    "image",
    "status",
    "host",
    "project_id",
    "user_id",
    "task_state",
    "memory",
    "auto_remove",
];

/// `GET /v1/containers`: `{"containers": [...], "next": URL or null}`.
pub(super) async fn list(State(zun): State<Zun>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let params = Params::parse(query.as_deref(), LIST_PARAMS)?;
    let mut flotilla = Vec::new();
    let limit = params.number("limit")?;
    if let Some(limit) = limit {
        flotilla.push(format!("limit={limit}"));
    }
    if let Some(marker) = params.get("marker") {
        flotilla.push(format!("marker={}", escape(marker)));
    }
    if let Some(key) = params.get("sort_key") {
        if !["name", "created_at", "updated_at"].contains(&key) {
            return Err(ZunError::BadRequest(format!("sort_key: `{key}` is not supported (name, created_at or updated_at)")));
        }
        let dir = match params.get("sort_dir").unwrap_or("asc") {
            dir @ ("asc" | "desc") => dir,
            other => return Err(ZunError::BadRequest(format!("sort_dir: `{other}` must be asc or desc"))),
        };
        flotilla.push(format!("sort={key}:{dir}"));
    }
    if params.flag("all_projects")? {
        flotilla.push("all_projects=true".into());
    }
    for (name, value) in [
        ("name", params.get("name").map(str::to_owned)),
        ("host", params.get("host").map(str::to_owned)),
        ("status", params.get("status").map(view::flotilla_status)),
    ] {
        if let Some(value) = value {
            flotilla.push(format!("{name}={}", escape(&value)));
        }
    }
    let path = format!("/v1/containers?{}", flotilla.join("&"));
    let answer = check(zun.api.call(Method::GET, &path, token(&headers), None).await)?;
    let page: ContainerList =
        serde_json::from_value(answer.body).map_err(|e| ZunError::Unreadable(format!("the container list could not be read: {e}")))?;
    let memory = params.get("memory").map(|m| memory_mib(&json!(m))).transpose()?.flatten();
    if params.get("task_state").is_some() {
        // Flotilla has no task states: no container is in one.
        return Ok(Json(json!({"containers": [], "next": null})));
    }
    let auto_remove = params.flag("auto_remove")?;
    let base = zun.base(&headers);
    let containers: Vec<Value> = page
        .containers
        .iter()
        .filter(|c| params.get("image").is_none_or(|image| c.spec.image == image))
        .filter(|c| params.get("project_id").is_none_or(|p| c.project_id.to_string() == p))
        .filter(|c| params.get("user_id").is_none_or(|u| c.user_id.to_string() == u))
        .filter(|c| memory.is_none_or(|m| c.spec.memory == Some(m)))
        .filter(|_| !auto_remove)
        .map(|c| view::container(c, &base))
        .collect();
    let next = page.next.map(|marker| {
        let limit = limit.map(|l| format!("limit={l}&")).unwrap_or_default();
        format!("{base}/container/v1/containers/?{limit}marker={marker}")
    });
    Ok(Json(json!({"containers": containers, "next": next})))
}

/// `GET /v1/containers/{uuid or name}`.
pub(super) async fn show(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let container = fetch(&zun, &headers, &id).await?;
    Ok(Json(view::container(&container, &zun.base(&headers))))
}

/// `PATCH /v1/containers/{id}` with `cpu`, `memory` or `name`.
pub(super) async fn update(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ZunError> {
    let body: Value = serde_json::from_slice(&body).map_err(|error| ZunError::BadRequest(format!("the body is not JSON: {error}")))?;
    let Some(fields) = body.as_object() else {
        return Err(ZunError::BadRequest(format!("the body must be a JSON object, got {body}")));
    };
    let mut patch = json!({});
    for (field, value) in fields {
        match field.as_str() {
            "name" | "cpu" => patch[field] = value.clone(),
            "memory" => patch["memory"] = json!(memory_mib(value)?),
            "auto_heal" if value == &json!(false) => {}
            other => return Err(ZunError::BadRequest(format!("{other}: cannot be updated (name, cpu and memory can)"))),
        }
    }
    let path = format!("/v1/containers/{}", escape(&id));
    let answer = check(zun.api.call(Method::PATCH, &path, token(&headers), Some(&patch)).await)?;
    Ok(Json(view::container(&read_container(answer.body)?, &zun.base(&headers))))
}

/// `POST /v1/containers/{id}/rename?name=NEW`.
pub(super) async fn rename(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ZunError> {
    let params = Params::parse(query.as_deref(), &["name"])?;
    let Some(name) = params.get("name") else { return Err(ZunError::BadRequest("name: the new name is missing".into())) };
    let path = format!("/v1/containers/{}/rename", escape(&id));
    let answer = check(zun.api.call(Method::POST, &path, token(&headers), Some(&json!({"name": name}))).await)?;
    Ok(Json(view::container(&read_container(answer.body)?, &zun.base(&headers))))
}

/// `DELETE /v1/containers/{id}?stop&force`: 204; a running one without either is a 409.
pub(super) async fn delete(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<StatusCode, ZunError> {
    let params = Params::parse(query.as_deref(), &["force", "stop", "all_projects"])?;
    let path = format!("/v1/containers/{}?force={}&stop={}", escape(&id), params.flag("force")?, params.flag("stop")?);
    check(zun.api.call(Method::DELETE, &path, token(&headers), None).await)?;
    Ok(StatusCode::NO_CONTENT)
}
