//! `/receivers` (webhook receivers: create, list, show, delete) and `POST
//! /webhooks/{secret}/trigger` (no token: the secret in the URL is the credential).

use super::context::{Caller, Senlin, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, keyed, started};
use super::resolve::{CLUSTER, RECEIVER};
use super::{shapes, wire};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

const FILTERS: &[(&str, &str)] = &[("name", "name"), ("type", ""), ("cluster_id", ""), ("action", ""), ("user", "")];

/// Flotilla's receiver action of a Senlin one (`CLUSTER_SCALE_OUT` → `scale_out`).
fn action(senlin_action: &str) -> Result<String, SenlinError> {
    match senlin_action.to_ascii_uppercase().strip_prefix("CLUSTER_") {
        Some(a @ ("SCALE_OUT" | "SCALE_IN" | "RESIZE" | "CHECK" | "RECOVER")) => Ok(a.to_ascii_lowercase()),
        _ => Err(SenlinError::bad_request(format!(
            "Illegal cluster action '{senlin_action}' specified: a receiver runs CLUSTER_SCALE_OUT, CLUSTER_SCALE_IN, CLUSTER_RESIZE, CLUSTER_CHECK or CLUSTER_RECOVER."
        ))),
    }
}

/// Receiver or trigger parameters with Senlin's strings read as the action's numbers and booleans.
fn typed_params(params: &Map<String, Value>) -> Result<Map<String, Value>, SenlinError> {
    let mut out = Map::new();
    for key in params.keys() {
        let value = match key.as_str() {
            "count" | "min_size" | "max_size" | "min_step" => wire::integer(params, key)?.map(|n| json!(n)),
            "number" => wire::number(params, key)?.map(|n| json!(n)),
            "strict" => wire::boolean(params, key)?.map(Value::Bool),
            _ => params.get(key).filter(|v| !v.is_null()).cloned(),
        };
        if let Some(value) = value {
            out.insert(key.clone(), value);
        }
    }
    Ok(out)
}

impl Senlin {
    /// The alarm URL of a receiver, for its creator, when this server made it.
    async fn alarm_url(&self, caller: &Caller, receiver: &Value) -> Result<Option<String>, SenlinError> {
        let id = receiver["id"].as_str().unwrap_or_default();
        let known = self.alarm_secrets.lock().map(|m| m.get(id).cloned()).unwrap_or_default();
        let Some((creator, secret)) = known else { return Ok(None) };
        let me = self.get(caller, "/v1/auth/tokens").await?;
        Ok((me["user"]["id"].as_str() == Some(creator.as_str())).then(|| format!("{}/v1/webhooks/{secret}/trigger?V=2", caller.base)))
    }
}

pub async fn create(State(senlin): State<Shared>, caller: Caller, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "receiver")?;
    let kind = wire::string(&body, "type")?.unwrap_or_else(|| "webhook".to_owned());
    if kind != "webhook" {
        return Err(SenlinError::bad_request(format!("Receiver type '{kind}' is not supported: Flotilla has webhook receivers only.")));
    }
    let cluster = senlin.find_id(&caller, CLUSTER, &wire::required(&body, "cluster_id")?).await?;
    let params = match body.get("params") {
        Some(Value::Object(p)) => typed_params(p)?,
        None | Some(Value::Null) => Map::new(),
        Some(other) => return Err(SenlinError::bad_request(format!("'params' must be a map, not {other}"))),
    };
    let request = json!({
        "name": wire::required(&body, "name")?,
        "type": "webhook",
        "cluster": cluster,
        "action": action(&wire::required(&body, "action")?)?,
        "params": params,
    });
    let made = senlin.call(&caller, Method::POST, RECEIVER.path, Some(&request)).await?.body;
    let secret = made["url"].as_str().and_then(|u| u.rsplit('/').next()).map(str::to_owned);
    let (Some(id), Some(user), Some(secret)) = (made["id"].as_str(), made["user_id"].as_str(), secret) else {
        return Err(SenlinError::internal("the receiver made has no URL"));
    };
    if let Ok(mut known) = senlin.alarm_secrets.lock() {
        known.insert(id.to_owned(), (user.to_owned(), secret.clone()));
    }
    let url = format!("{}/v1/webhooks/{secret}/trigger?V=2", caller.base);
    keyed(StatusCode::CREATED, "receiver", shapes::receiver(&made, Some(url)))
}

pub async fn list(State(senlin): State<Shared>, caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Reply {
    let args = wire::list_args(&query, FILTERS)?;
    let mut local = Vec::new();
    for (k, v) in &args.local {
        let v = if k == "cluster_id" { senlin.find_id(&caller, CLUSTER, v).await? } else { v.clone() };
        local.push((k.clone(), v));
    }
    let all = senlin.list(&caller, RECEIVER.path, "receivers", args.pairs).await?;
    let mut out = Vec::new();
    for r in &all {
        let shown = shapes::receiver(r, senlin.alarm_url(&caller, r).await?);
        if local.iter().all(|(k, v)| shown[k.as_str()].as_str().is_some_and(|s| s.eq_ignore_ascii_case(v))) {
            out.push(shown);
        }
    }
    keyed(StatusCode::OK, "receivers", Value::Array(out))
}

pub async fn show(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let found = senlin.find(&caller, RECEIVER, &key).await?;
    let url = senlin.alarm_url(&caller, &found).await?;
    keyed(StatusCode::OK, "receiver", shapes::receiver(&found, url))
}

pub async fn delete(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let id = senlin.find_id(&caller, RECEIVER, &key).await?;
    senlin.call(&caller, Method::DELETE, &format!("{}/{}", RECEIVER.path, segment(&id)), None).await?;
    if let Ok(mut known) = senlin.alarm_secrets.lock() {
        known.remove(&id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /webhooks/{secret}/trigger?V=2[&k=v]` with an optional body `{"params": {...}}`: the
/// query's and body's parameters go to Flotilla as the trigger's overrides (refused unless the
/// receiver lists them as overridable).
pub async fn trigger(
    State(senlin): State<Shared>,
    caller: Caller,
    Path(secret): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Reply {
    let mut overrides = Map::new();
    for (k, v) in query {
        match k.as_str() {
            "V" if v == "1" || v == "2" => {}
            "V" => return Err(wire::invalid_value("V", &v)),
            _ => {
                overrides.insert(k, Value::String(v));
            }
        }
    }
    if let Some(Value::Object(params)) = wire::object(&body)?.get("params") {
        overrides.extend(params.clone());
    }
    let overrides = typed_params(&overrides)?;
    let body = (!overrides.is_empty()).then_some(Value::Object(overrides));
    let anonymous = Caller { token: None, ..caller };
    let answer = senlin.call(&anonymous, Method::POST, &format!("/v1/webhooks/{}", segment(&secret)), body.as_ref()).await?;
    started(&anonymous, &answer)
}
