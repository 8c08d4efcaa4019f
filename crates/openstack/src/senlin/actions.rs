//! `/actions` (list, show, cancel through `PATCH {"action": {"status": "CANCELLED"}}`), `/events`
//! (list, show) and `/services`.

use super::context::{Caller, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, accepted, keyed};
use super::resolve::{ACTION, CLUSTER};
use super::{shapes, wire};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const ACTION_FILTERS: &[(&str, &str)] =
    &[("name", "name"), ("cluster_id", "cluster"), ("target", "target"), ("action", "action"), ("status", "status")];

pub async fn list(State(senlin): State<Shared>, caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Reply {
    let mut args = wire::list_args(&query, ACTION_FILTERS)?;
    for (k, v) in args.pairs.iter_mut() {
        if k == "cluster" {
            *v = senlin.find_id(&caller, CLUSTER, v).await?;
        }
    }
    let all = senlin.list(&caller, ACTION.path, "actions", args.pairs).await?;
    keyed(StatusCode::OK, "actions", all.iter().map(shapes::action).collect())
}

pub async fn show(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let found = senlin.find(&caller, ACTION, &key).await?;
    keyed(StatusCode::OK, "action", shapes::action(&found))
}

/// `PATCH /actions/{id}`: only `{"action": {"status": "CANCELLED"}}` (Senlin 1.12).
pub async fn update(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "action")?;
    let status = wire::required(&body, "status")?;
    if !status.eq_ignore_ascii_case("CANCELLED") {
        return Err(SenlinError::bad_request(format!("Unknown status {status} given: an action can only be CANCELLED.")));
    }
    let id = senlin.find_id(&caller, ACTION, &key).await?;
    senlin.call(&caller, Method::POST, &format!("{}/{}/cancel", ACTION.path, segment(&id)), None).await?;
    accepted(&caller, &id, None)
}

/// Senlin event filters: `oid` and `oname` name the object, `otype` its kind, `cluster_id` the
/// cluster (its own events), `level` a number or name.
const EVENT_FILTERS: &[(&str, &str)] =
    &[("oid", "object"), ("oname", "object"), ("otype", "object_type"), ("cluster_id", "object"), ("action", "action"), ("level", "level")];

pub async fn events(State(senlin): State<Shared>, caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Reply {
    let mut args = wire::list_args(&query, EVENT_FILTERS)?;
    for (k, v) in args.pairs.iter_mut() {
        match k.as_str() {
            "object_type" => *v = v.to_ascii_lowercase(),
            "level" => *v = shapes::level_name(v).ok_or_else(|| wire::invalid_value("level", v))?.to_owned(),
            _ => {}
        }
    }
    let all = senlin.list(&caller, "/v1/events", "events", args.pairs).await?;
    keyed(StatusCode::OK, "events", all.iter().map(shapes::event).collect())
}

/// `GET /events/{id}`: the event with this id (events are read from the list: `/v1` has no show).
pub async fn event(State(senlin): State<Shared>, caller: Caller, Path(id): Path<String>) -> Reply {
    let all = senlin.list_all(&caller, "/v1/events", "events", Vec::new()).await?;
    let mut found = all.iter().filter(|e| e["id"].as_str().is_some_and(|eid| eid.starts_with(&id.to_ascii_lowercase())));
    match (found.next(), found.next()) {
        (Some(e), None) => keyed(StatusCode::OK, "event", shapes::event(e)),
        (Some(_), Some(_)) => Err(SenlinError::multiple(&id)),
        (None, _) => Err(SenlinError::not_found("event", &id)),
    }
}

/// `GET /services` (admins): the region's engines.
pub async fn services(State(senlin): State<Shared>, caller: Caller) -> Reply {
    let listed = senlin.get(&caller, "/v1/services").await?;
    let services: Vec<Value> = listed["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            json!({
                "id": s["id"], "binary": "flotilla-engine", "host": s["name"], "topic": "senlin-engine",
                "status": "enabled", "state": "up", "disabled_reason": null, "updated_at": wire::date(&s["heartbeat_at"]),
            })
        })
        .collect();
    keyed(StatusCode::OK, "services", Value::Array(services))
}
