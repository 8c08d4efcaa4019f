//! `/nodes`: create (202 + Location), list (`cluster_id` resolved), show, update, delete
//! (202 + Location), and adopt (a container as an orphan node).

use super::context::{Caller, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, accepted, action_id, keyed};
use super::resolve::{CLUSTER, NODE, PROFILE};
use super::shapes::{self, ProfileNames};
use super::{types, wire};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

const FILTERS: &[(&str, &str)] = &[("name", "name"), ("status", "status"), ("cluster_id", "cluster"), ("show_details", "")];

async fn shaped(senlin: &Shared, caller: &Caller, names: &mut ProfileNames, node: &Value) -> Value {
    let profile_name = names.name(senlin, caller, &node["profile_id"]).await;
    shapes::node(node, profile_name)
}

pub async fn list(State(senlin): State<Shared>, caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Reply {
    let mut args = wire::list_args(&query, FILTERS)?;
    for (k, v) in args.pairs.iter_mut() {
        if k == "cluster" {
            *v = senlin.find_id(&caller, CLUSTER, v).await?;
        }
    }
    let all = senlin.list(&caller, NODE.path, "nodes", args.pairs).await?;
    let shown = ProfileNames::default().shape_all(&senlin, &caller, &all, shapes::node).await;
    keyed(StatusCode::OK, "nodes", shown)
}

pub async fn show(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let found = senlin.find(&caller, NODE, &key).await?;
    keyed(StatusCode::OK, "node", shaped(&senlin, &caller, &mut ProfileNames::default(), &found).await)
}

/// Name, role and metadata of a create or update body.
fn common(body: &Map<String, Value>, request: &mut Map<String, Value>) -> Result<(), SenlinError> {
    for field in ["name", "role"] {
        if let Some(v) = wire::string(body, field)? {
            request.insert(field.into(), Value::String(v));
        }
    }
    if let Some(metadata) = body.get("metadata").filter(|m| !m.is_null()) {
        request.insert("metadata".into(), metadata.clone());
    }
    Ok(())
}

pub async fn create(State(senlin): State<Shared>, caller: Caller, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "node")?;
    let mut request = Map::new();
    request.insert("profile".into(), Value::String(senlin.find_id(&caller, PROFILE, &wire::required(&body, "profile_id")?).await?));
    if let Some(cluster) = wire::string(&body, "cluster_id")?.filter(|c| !c.is_empty()) {
        request.insert("cluster".into(), Value::String(senlin.find_id(&caller, CLUSTER, &cluster).await?));
    }
    wire::required(&body, "name")?;
    common(&body, &mut request)?;
    let made = senlin.call(&caller, Method::POST, NODE.path, Some(&Value::Object(request))).await?;
    let action = action_id(&made).ok_or_else(|| SenlinError::internal("the node create started no action"))?;
    let shown = shaped(&senlin, &caller, &mut ProfileNames::default(), &made.body).await;
    accepted(&caller, &action, Some(json!({"node": shown})))
}

pub async fn update(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "node")?;
    let id = senlin.find_id(&caller, NODE, &key).await?;
    let mut request = Map::new();
    common(&body, &mut request)?;
    if let Some(tainted) = wire::boolean(&body, "tainted")? {
        request.insert("tainted".into(), Value::Bool(tainted));
    }
    if let Some(profile) = wire::string(&body, "profile_id")? {
        request.insert("profile".into(), Value::String(senlin.find_id(&caller, PROFILE, &profile).await?));
    }
    let path = format!("{}/{}", NODE.path, segment(&id));
    let answer = senlin.call(&caller, Method::PATCH, &path, Some(&Value::Object(request))).await?;
    let node = senlin.get(&caller, &path).await?;
    let shown = shaped(&senlin, &caller, &mut ProfileNames::default(), &node).await;
    match action_id(&answer) {
        Some(action) => accepted(&caller, &action, Some(json!({"node": shown}))),
        None => keyed(StatusCode::OK, "node", shown),
    }
}

pub async fn delete(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let id = senlin.find_id(&caller, NODE, &key).await?;
    let answer = senlin.call(&caller, Method::DELETE, &format!("{}/{}", NODE.path, segment(&id)), None).await?;
    let action = action_id(&answer).ok_or_else(|| SenlinError::internal("the node delete started no action"))?;
    accepted(&caller, &action, None)
}

/// `POST /nodes/adopt {identity, type, name, role, metadata}`: `identity` is a container's id or name.
pub async fn adopt(State(senlin): State<Shared>, caller: Caller, body: Bytes) -> Reply {
    let body = wire::object(&body)?;
    types::profile_type(&wire::required(&body, "type")?)?;
    if body.get("overrides").is_some_and(|o| !o.is_null()) {
        return Err(SenlinError::bad_request(
            "Adopting with 'overrides' is not supported: the profile is made from the container as it is.",
        ));
    }
    let mut request = Map::new();
    request.insert("container".into(), Value::String(wire::required(&body, "identity")?));
    common(&body, &mut request)?;
    let made = senlin.call(&caller, Method::POST, &format!("{}/adopt", NODE.path), Some(&Value::Object(request))).await?;
    keyed(StatusCode::OK, "node", shaped(&senlin, &caller, &mut ProfileNames::default(), &made.body).await)
}
