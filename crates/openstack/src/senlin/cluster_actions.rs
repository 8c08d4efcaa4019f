//! `POST /clusters/{id}/actions` (one key: scale_out, scale_in, resize, add_nodes, del_nodes,
//! replace_nodes, check, recover, policy_attach/detach/update), `POST /clusters/{id}/ops`, and the
//! node counterparts: each becomes its `/v1` action request, answered 202 + Location.

use super::context::{Caller, Senlin, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, started};
use super::resolve::{CLUSTER, Kind, NODE, POLICY};
use super::wire;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use serde_json::{Map, Value, json};

/// The one `{action: params}` of a body (Senlin's messages for none or several).
pub fn single(body: &Bytes) -> Result<(String, Map<String, Value>), SenlinError> {
    let body = wire::object(body)?;
    let mut entries = body.into_iter();
    match (entries.next(), entries.next()) {
        (None, _) => Err(SenlinError::bad_request("No action specified")),
        (Some(_), Some(_)) => Err(SenlinError::bad_request("Multiple actions specified")),
        (Some((name, Value::Object(params))), None) => Ok((name, params)),
        (Some((name, Value::Null)), None) => Ok((name, Map::new())),
        (Some((name, _)), None) => Err(SenlinError::bad_request(format!("The parameters of '{name}' must be an object."))),
    }
}

/// `count` of scale_out/scale_in (a number, a string or null).
fn scale(params: &Map<String, Value>) -> Result<Value, SenlinError> {
    Ok(match wire::integer(params, "count")? {
        Some(count) => json!({"count": count}),
        None => json!({}),
    })
}

/// Senlin's resize parameters with strings and nulls read.
fn resize(params: &Map<String, Value>) -> Result<Value, SenlinError> {
    let mut out = Map::new();
    if let Some(t) = wire::string(params, "adjustment_type")? {
        out.insert("adjustment_type".into(), Value::String(t));
    }
    if let Some(n) = wire::number(params, "number")? {
        out.insert("number".into(), json!(n));
    }
    for field in ["min_size", "max_size", "min_step"] {
        if let Some(n) = wire::integer(params, field)? {
            out.insert(field.into(), json!(n));
        }
    }
    if let Some(strict) = wire::boolean(params, "strict")? {
        out.insert("strict".into(), Value::Bool(strict));
    }
    Ok(Value::Object(out))
}

/// The ids of the nodes a list names (ids, names or short ids).
async fn nodes(senlin: &Senlin, caller: &Caller, params: &Map<String, Value>, field: &str) -> Result<Vec<Value>, SenlinError> {
    let Some(Value::Array(keys)) = params.get(field) else {
        return Err(SenlinError::bad_request(format!("'{field}' must be a list of node ids or names")));
    };
    let mut ids = Vec::with_capacity(keys.len());
    for key in keys {
        let key =
            key.as_str().ok_or_else(|| SenlinError::bad_request(format!("'{field}' must be a list of node ids or names, not {key}")))?;
        ids.push(Value::String(senlin.find_id(caller, NODE, key).await?));
    }
    Ok(ids)
}

/// Senlin's recover parameters: `operation` (RECREATE, REBUILD, REBOOT/RESTART).
fn recover(params: &Map<String, Value>) -> Result<Value, SenlinError> {
    if wire::boolean(params, "check")? == Some(true) {
        return Err(SenlinError::bad_request("recover with 'check': true is not supported: run the check action first."));
    }
    let operation = match wire::string(params, "operation")?.map(|o| o.to_ascii_uppercase()) {
        None => return Ok(json!({})),
        Some(o) if o == "REBOOT" || o == "RESTART" => "RESTART".to_owned(),
        Some(o) if o == "REBUILD" || o == "RECREATE" => o,
        Some(o) => return Err(wire::invalid_value("operation", &o)),
    };
    Ok(json!({"operation": operation}))
}

async fn policy(senlin: &Senlin, caller: &Caller, params: &Map<String, Value>) -> Result<Value, SenlinError> {
    let policy = senlin.find_id(caller, POLICY, &wire::required(params, "policy_id")?).await?;
    let mut out = json!({"policy": policy});
    if let Some(enabled) = wire::boolean(params, "enabled")? {
        out["enabled"] = Value::Bool(enabled);
    }
    Ok(out)
}

/// The `/v1` request of a Senlin cluster action.
async fn cluster_request(senlin: &Senlin, caller: &Caller, name: &str, params: &Map<String, Value>) -> Result<Value, SenlinError> {
    let inner = match name {
        "scale_out" | "scale_in" => scale(params)?,
        "resize" => resize(params)?,
        "add_nodes" => json!({"nodes": nodes(senlin, caller, params, "nodes").await?}),
        "del_nodes" => {
            // Senlin keeps the removed nodes (as orphans) unless told to destroy them.
            let destroy = wire::boolean(params, "destroy_after_deletion")?.unwrap_or(false);
            json!({"nodes": nodes(senlin, caller, params, "nodes").await?, "destroy": destroy})
        }
        "replace_nodes" => {
            let Some(Value::Object(pairs)) = params.get("nodes") else {
                return Err(SenlinError::bad_request("'nodes' must be a map of old node to new node"));
            };
            let mut out = Map::new();
            for (old, new) in pairs {
                let new = new
                    .as_str()
                    .ok_or_else(|| SenlinError::bad_request(format!("the replacement of node '{old}' must be a node id or name")))?;
                out.insert(senlin.find_id(caller, NODE, old).await?, Value::String(senlin.find_id(caller, NODE, new).await?));
            }
            json!({"nodes": out})
        }
        "check" => json!({}),
        "recover" => recover(params)?,
        "policy_attach" | "policy_detach" | "policy_update" => policy(senlin, caller, params).await?,
        other => return Err(SenlinError::bad_request(format!("Unrecognized action '{other}' specified"))),
    };
    Ok(json!({ name: inner }))
}

/// Sends a `/v1` action request for the object `key` names; answers 202 + Location.
async fn submit(senlin: &Senlin, caller: &Caller, kind: Kind, key: &str, request: &Value) -> Reply {
    let id = senlin.find_id(caller, kind, key).await?;
    let answer = senlin.call(caller, Method::POST, &format!("{}/{}/actions", kind.path, segment(&id)), Some(request)).await?;
    started(caller, &answer)
}

pub async fn cluster_action(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    let (name, params) = single(&body)?;
    let id = senlin.find_id(&caller, CLUSTER, &key).await?;
    let request = cluster_request(&senlin, &caller, &name, &params).await?;
    submit(&senlin, &caller, CLUSTER, &id, &request).await
}

pub async fn node_action(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    let (name, params) = single(&body)?;
    let request = match name.as_str() {
        "check" => json!({"check": {}}),
        "recover" => json!({"recover": recover(&params)?}),
        other => return Err(SenlinError::bad_request(format!("Unrecognized action '{other}' specified"))),
    };
    submit(&senlin, &caller, NODE, &key, &request).await
}

/// `{"<op>": {"params": {}, "filters": {}}}` as a `/v1` operation (filters only for clusters).
fn operation(body: &Bytes, with_filters: bool) -> Result<Value, SenlinError> {
    let (op, params) = single(body)?;
    let mut filters = Map::new();
    if let Some(given) = params.get("filters").and_then(Value::as_object) {
        if !with_filters && !given.is_empty() {
            return Err(SenlinError::bad_request("A node operation takes no filters."));
        }
        for (k, v) in given {
            let text = wire::string(given, k)?.ok_or_else(|| SenlinError::bad_request(format!("filter '{k}' has no value: {v}")))?;
            filters.insert(k.clone(), Value::String(text));
        }
    }
    if params.get("params").and_then(Value::as_object).is_some_and(|p| !p.is_empty()) {
        return Err(SenlinError::bad_request(format!("Operation '{op}' takes no parameters.")));
    }
    Ok(json!({"operation": {"operation": op, "filters": filters}}))
}

pub async fn cluster_ops(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    submit(&senlin, &caller, CLUSTER, &key, &operation(&body, true)?).await
}

pub async fn node_ops(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    submit(&senlin, &caller, NODE, &key, &operation(&body, false)?).await
}
