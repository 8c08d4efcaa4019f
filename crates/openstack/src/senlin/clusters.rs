//! `/clusters`: create (202 + Location), list, show, update, delete (202 + Location), collect
//! (`attrs`), and the policies attached to a cluster.

use super::context::{Caller, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, accepted, action_id, keyed};
use super::resolve::{CLUSTER, POLICY, PROFILE};
use super::shapes::{self, ProfileNames};
use super::wire;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

const FILTERS: &[(&str, &str)] = &[("name", "name"), ("status", "status")];

async fn shaped(senlin: &Shared, caller: &Caller, names: &mut ProfileNames, cluster: &Value) -> Value {
    let profile_name = names.name(senlin, caller, &cluster["profile_id"]).await;
    shapes::cluster(cluster, profile_name)
}

pub async fn list(State(senlin): State<Shared>, caller: Caller, Query(query): Query<Vec<(String, String)>>) -> Reply {
    let args = wire::list_args(&query, FILTERS)?;
    let all = senlin.list(&caller, CLUSTER.path, "clusters", args.pairs).await?;
    let shown = ProfileNames::default().shape_all(&senlin, &caller, &all, shapes::cluster).await;
    keyed(StatusCode::OK, "clusters", shown)
}

pub async fn show(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>) -> Reply {
    let found = senlin.find(&caller, CLUSTER, &key).await?;
    keyed(StatusCode::OK, "cluster", shaped(&senlin, &caller, &mut ProfileNames::default(), &found).await)
}

pub async fn create(State(senlin): State<Shared>, caller: Caller, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "cluster")?;
    let name = wire::required(&body, "name")?;
    let profile = senlin.find_id(&caller, PROFILE, &wire::required(&body, "profile_id")?).await?;
    let min_size = wire::integer(&body, "min_size")?;
    let mut request = json!({"name": name, "profile": profile});
    if let Some(min) = min_size {
        request["min_size"] = json!(min);
    }
    // Senlin: no desired capacity means the minimum size.
    if let Some(desired) = wire::integer(&body, "desired_capacity")?.or(min_size) {
        request["desired_capacity"] = json!(desired);
    }
    for field in ["max_size", "timeout"] {
        if let Some(n) = wire::integer(&body, field)? {
            request[field] = json!(n);
        }
    }
    for field in ["metadata", "config"] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty())) {
            request[field] = v.clone();
        }
    }
    let made = senlin.call(&caller, Method::POST, CLUSTER.path, Some(&request)).await?;
    let action = action_id(&made).ok_or_else(|| SenlinError::internal("the cluster create started no action"))?;
    let shown = shaped(&senlin, &caller, &mut ProfileNames::default(), &made.body).await;
    accepted(&caller, &action, Some(json!({"cluster": shown})))
}

pub async fn update(State(senlin): State<Shared>, caller: Caller, Path(key): Path<String>, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, "cluster")?;
    let id = senlin.find_id(&caller, CLUSTER, &key).await?;
    let mut request = Map::new();
    if let Some(name) = wire::string(&body, "name")? {
        request.insert("name".into(), Value::String(name));
    }
    if let Some(metadata) = body.get("metadata").filter(|m| !m.is_null()) {
        request.insert("metadata".into(), metadata.clone());
    }
    if let Some(timeout) = wire::integer(&body, "timeout")? {
        request.insert("timeout".into(), json!(timeout));
    }
    if let Some(profile) = wire::string(&body, "profile_id")? {
        request.insert("profile".into(), Value::String(senlin.find_id(&caller, PROFILE, &profile).await?));
    }
    if let Some(other) = body.iter().find(|(k, v)| !v.is_null() && !matches!(k.as_str(), "name" | "metadata" | "timeout" | "profile_id")) {
        return Err(SenlinError::bad_request(format!("Updating '{}' of a cluster is not supported.", other.0)));
    }
    let path = format!("{}/{}", CLUSTER.path, segment(&id));
    let answer = senlin.call(&caller, Method::PATCH, &path, Some(&Value::Object(request))).await?;
    let cluster = senlin.get(&caller, &path).await?;
    let shown = json!({"cluster": shaped(&senlin, &caller, &mut ProfileNames::default(), &cluster).await});
    match action_id(&answer) {
        Some(action) => accepted(&caller, &action, Some(shown)),
        None => keyed(StatusCode::OK, "cluster", shown["cluster"].clone()),
    }
}

/// `DELETE /clusters/{id}`, forced by `?force=True` or a body `{"force": true}`.
pub async fn delete(
    State(senlin): State<Shared>,
    caller: Caller,
    Path(key): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Reply {
    let mut force = wire::boolean(&wire::object(&body)?, "force")?.unwrap_or(false);
    for (k, v) in &query {
        match k.as_str() {
            "force" => force |= wire::parse_bool(v).ok_or_else(|| wire::invalid_value("force", v))?,
            other => return Err(SenlinError::invalid_parameter(other)),
        }
    }
    let id = senlin.find_id(&caller, CLUSTER, &key).await?;
    let path = format!("{}/{}{}", CLUSTER.path, segment(&id), if force { "?force=true" } else { "" });
    let answer = senlin.call(&caller, Method::DELETE, &path, None).await?;
    let action = action_id(&answer).ok_or_else(|| SenlinError::internal("the cluster delete started no action"))?;
    accepted(&caller, &action, None)
}

/// `GET /clusters/{id}/attrs/{path}`: one attribute of every member.
pub async fn collect(State(senlin): State<Shared>, caller: Caller, Path((key, attr)): Path<(String, String)>) -> Reply {
    let id = senlin.find_id(&caller, CLUSTER, &key).await?;
    let found = senlin.get(&caller, &format!("{}/{}/attrs/{}", CLUSTER.path, segment(&id), segment(&attr))).await?;
    keyed(StatusCode::OK, "cluster_attributes", found["cluster_attributes"].clone())
}

const POLICY_FILTERS: &[(&str, &str)] = &[("enabled", ""), ("policy_name", ""), ("policy_type", ""), ("sort", "")];

/// `GET /clusters/{id}/policies`, filtered by `enabled`, `policy_name` and `policy_type`.
pub async fn policies(
    State(senlin): State<Shared>,
    caller: Caller,
    Path(key): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Reply {
    let args = wire::list_args(&query, POLICY_FILTERS)?;
    let cluster = senlin.find(&caller, CLUSTER, &key).await?;
    let mut out = Vec::new();
    for binding in cluster["policies"].as_array().into_iter().flatten() {
        let shown = shapes::cluster_policy(&cluster, binding);
        let mut keep = true;
        for (filter, wanted) in &args.local {
            keep &= match filter.as_str() {
                "enabled" => Some(shown["enabled"].as_bool()) == Some(wire::parse_bool(wanted)),
                "policy_name" => shown["policy_name"].as_str() == Some(wanted),
                "policy_type" => shown["policy_type"].as_str().is_some_and(|t| t == wanted || t.starts_with(&format!("{wanted}-"))),
                _ => true,
            };
        }
        if keep {
            out.push(shown);
        }
    }
    keyed(StatusCode::OK, "cluster_policies", Value::Array(out))
}

/// `GET /clusters/{id}/policies/{policy}`.
pub async fn policy(State(senlin): State<Shared>, caller: Caller, Path((key, policy)): Path<(String, String)>) -> Reply {
    let cluster = senlin.find(&caller, CLUSTER, &key).await?;
    let policy_id = senlin.find_id(&caller, POLICY, &policy).await?;
    let binding = cluster["policies"].as_array().into_iter().flatten().find(|b| b["policy_id"].as_str() == Some(policy_id.as_str()));
    match binding {
        Some(binding) => keyed(StatusCode::OK, "cluster_policy", shapes::cluster_policy(&cluster, binding)),
        None => Err(SenlinError::not_found("policy binding", &format!("{policy} of cluster {key}"))),
    }
}
