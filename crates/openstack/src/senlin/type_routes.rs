//! `GET /profile-types[/{t}[/ops]]` and `GET /policy-types[/{t}]`.

use super::context::{Caller, Shared};
use super::reply::{Reply, keyed};
use super::types;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

pub async fn profile_types(State(senlin): State<Shared>, caller: Caller) -> Reply {
    senlin.get(&caller, "/v1/profile-types").await?;
    keyed(StatusCode::OK, "profile_types", types::profile_types())
}

pub async fn profile_type(State(senlin): State<Shared>, caller: Caller, Path(name): Path<String>) -> Reply {
    types::profile_type(&name)?;
    let listed = senlin.get(&caller, "/v1/profile-types").await?;
    let properties: Map<String, Value> =
        listed["profile_types"][0]["properties"].as_array().into_iter().flatten().map(types::property_schema).collect();
    let schema = json!({
        "type": {"type": "String", "required": true, "updatable": false, "description": "Name of the profile type."},
        "version": {"type": "String", "required": true, "updatable": false, "description": "Version number of the profile type."},
        "properties": {"type": "Map", "required": true, "updatable": false, "schema": properties},
    });
    let entry = &types::profile_types()[0];
    keyed(StatusCode::OK, "profile_type", json!({"name": entry["name"], "schema": schema, "support_status": entry["support_status"]}))
}

pub async fn profile_type_ops(State(senlin): State<Shared>, caller: Caller, Path(name): Path<String>) -> Reply {
    types::profile_type(&name)?;
    senlin.get(&caller, "/v1/profile-types").await?;
    keyed(StatusCode::OK, "operations", types::operations())
}

pub async fn policy_types(State(senlin): State<Shared>, caller: Caller) -> Reply {
    senlin.get(&caller, "/v1/policy-types").await?;
    keyed(StatusCode::OK, "policy_types", types::policy_types())
}

pub async fn policy_type(State(senlin): State<Shared>, caller: Caller, Path(name): Path<String>) -> Reply {
    let flotilla = types::policy_type(&name)?;
    senlin.get(&caller, "/v1/policy-types").await?;
    let senlin_name = types::senlin_policy(flotilla);
    let entry = types::policy_types()
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"].as_str().is_some_and(|n| n.starts_with(&senlin_name)))
        .cloned();
    let entry = entry.unwrap_or(Value::Null);
    let schema = json!({
        "type": {"type": "String", "required": true, "updatable": false, "description": "Name of the policy type."},
        "version": {"type": "String", "required": true, "updatable": false, "description": "Version number of the policy type."},
        "properties": {"type": "Map", "required": true, "updatable": false, "description": format!("The properties of Flotilla's {flotilla} policy.")},
    });
    keyed(StatusCode::OK, "policy_type", json!({"name": entry["name"], "schema": schema, "support_status": entry["support_status"]}))
}
