//! Flotilla's `/v1` objects in Senlin's shapes: its field names, dates and type names.

use super::context::{Caller, Senlin, segment};
use super::types::{self, DOCKER};
use super::wire::{date, epoch};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The owner fields every Senlin object carries.
fn owners(v: &Value, out: &mut Map<String, Value>) {
    out.insert("user".into(), v["user_id"].clone());
    out.insert("project".into(), v["project_id"].clone());
    out.insert("domain".into(), Value::String("default".into()));
    out.insert("created_at".into(), date(&v["created_at"]));
    out.insert("updated_at".into(), date(&v["updated_at"]));
}

fn object(v: &Value, pairs: Vec<(&str, Value)>) -> Value {
    let mut out: Map<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    owners(v, &mut out);
    Value::Object(out)
}

/// Profile names by id, fetched once per request.
#[derive(Default)]
pub struct ProfileNames(HashMap<String, Value>);

impl ProfileNames {
    pub async fn name(&mut self, senlin: &Senlin, caller: &Caller, id: &Value) -> Value {
        let Some(id) = id.as_str() else { return Value::Null };
        if let Some(name) = self.0.get(id) {
            return name.clone();
        }
        let name = match senlin.get(caller, &format!("/v1/profiles/{}", segment(id))).await {
            Ok(p) => p["name"].clone(),
            Err(_) => Value::Null,
        };
        self.0.insert(id.to_owned(), name.clone());
        name
    }

    /// `items` (clusters or nodes) shaped by `shape` with their profile's name.
    pub async fn shape_all(&mut self, senlin: &Senlin, caller: &Caller, items: &[Value], shape: fn(&Value, Value) -> Value) -> Value {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let profile_name = self.name(senlin, caller, &item["profile_id"]).await;
            out.push(shape(item, profile_name));
        }
        Value::Array(out)
    }
}

pub fn profile(v: &Value) -> Value {
    let spec = json!({"type": DOCKER, "version": v["spec"]["version"], "properties": v["spec"]["properties"]});
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("type", Value::String(format!("{DOCKER}-{}", v["spec"]["version"].as_str().unwrap_or(types::VERSION)))),
            ("spec", spec),
            ("metadata", v["metadata"].clone()),
        ],
    )
}

pub fn policy(v: &Value) -> Value {
    let senlin_type = types::senlin_policy(v["type"].as_str().unwrap_or_default());
    let version = v["spec"]["version"].as_str().unwrap_or(types::VERSION).to_owned();
    let spec = json!({"type": senlin_type, "version": version, "properties": v["spec"]["properties"]});
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("type", Value::String(format!("{senlin_type}-{version}"))),
            ("spec", spec),
            ("data", json!({})),
            ("metadata", v["metadata"].clone()),
        ],
    )
}

pub fn cluster(v: &Value, profile_name: Value) -> Value {
    let policies: Vec<Value> = v["policies"].as_array().into_iter().flatten().map(|p| p["policy_id"].clone()).collect();
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("profile_id", v["profile_id"].clone()),
            ("profile_name", profile_name),
            ("init_at", date(&v["created_at"])),
            ("min_size", v["min_size"].clone()),
            ("max_size", v["max_size"].clone()),
            ("desired_capacity", v["desired_capacity"].clone()),
            ("timeout", v["timeout"].clone()),
            ("status", v["status"].clone()),
            ("status_reason", v["status_reason"].clone()),
            ("metadata", v["metadata"].clone()),
            ("data", json!({})),
            ("config", v["config"].clone()),
            ("dependents", json!({})),
            ("nodes", v["nodes"].clone()),
            ("policies", Value::Array(policies)),
        ],
    )
}

/// One policy attached to a cluster (`GET /clusters/{id}/policies`).
pub fn cluster_policy(cluster: &Value, binding: &Value) -> Value {
    let version = types::VERSION;
    json!({
        "id": binding["policy_id"],
        "cluster_id": cluster["id"],
        "cluster_name": cluster["name"],
        "policy_id": binding["policy_id"],
        "policy_name": binding["policy_name"],
        "policy_type": format!("{}-{version}", types::senlin_policy(binding["type"].as_str().unwrap_or_default())),
        "enabled": binding["enabled"],
        "priority": binding["priority"],
        "data": {},
    })
}

pub fn node(v: &Value, profile_name: Value) -> Value {
    let data = json!({"host_id": v["host_id"], "host_name": v["host_name"], "region": v["region"], "addresses": v["addresses"]});
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("cluster_id", if v["cluster_id"].is_null() { Value::String(String::new()) } else { v["cluster_id"].clone() }),
            ("profile_id", v["profile_id"].clone()),
            ("profile_name", profile_name),
            ("physical_id", v["physical_id"].clone()),
            ("index", v["index"].clone()),
            ("role", v["role"].clone()),
            ("init_at", date(&v["created_at"])),
            ("status", v["status"].clone()),
            ("status_reason", v["status_reason"].clone()),
            ("tainted", v["tainted"].clone()),
            ("metadata", v["metadata"].clone()),
            ("data", data),
            ("dependents", json!({})),
        ],
    )
}

pub fn action(v: &Value) -> Value {
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("action", v["action"].clone()),
            ("target", v["target"].clone()),
            ("cluster_id", v["cluster_id"].clone()),
            ("cause", v["cause"].clone()),
            ("owner", v["owner"].clone()),
            ("interval", json!(-1)),
            ("start_time", epoch(&v["started_at"])),
            ("end_time", epoch(&v["ended_at"])),
            ("timeout", v["timeout"].clone()),
            ("status", v["status"].clone()),
            ("status_reason", v["status_reason"].clone()),
            ("inputs", v["inputs"].clone()),
            ("outputs", v["outputs"].clone()),
            ("depends_on", v["depends_on"].clone()),
            ("depended_by", v["depended_by"].clone()),
            ("data", json!({})),
        ],
    )
}

/// Senlin's numeric log level of Flotilla's level names.
pub fn level_number(level: &str) -> Option<&'static str> {
    match level.to_ascii_uppercase().as_str() {
        "DEBUG" | "10" => Some("10"),
        "INFO" | "20" => Some("20"),
        "WARNING" | "30" => Some("30"),
        "ERROR" | "40" => Some("40"),
        "CRITICAL" | "50" => Some("50"),
        _ => None,
    }
}

/// Flotilla's level name of a Senlin level (number or name).
pub fn level_name(level: &str) -> Option<&'static str> {
    match level_number(level)? {
        "20" => Some("INFO"),
        "30" => Some("WARNING"),
        "40" | "50" => Some("ERROR"),
        _ => None,
    }
}

pub fn event(v: &Value) -> Value {
    let otype = v["object_type"].as_str().unwrap_or_default().to_ascii_uppercase();
    let cluster_id = match otype.as_str() {
        "CLUSTER" => v["object_id"].clone(),
        _ => v["metadata"].get("cluster_id").cloned().unwrap_or(Value::Null),
    };
    json!({
        "id": v["id"],
        "timestamp": date(&v["timestamp"]),
        "oid": v["object_id"],
        "oname": v["object_name"],
        "otype": otype,
        "cluster_id": cluster_id,
        "level": level_number(v["level"].as_str().unwrap_or_default()).unwrap_or("20"),
        "user": v["user_id"],
        "project": v["project_id"],
        "action": v["action"],
        "status": v["status"],
        "status_reason": v["reason"],
        "meta_data": v["metadata"],
    })
}

/// Senlin's cluster action of a Flotilla receiver action (`scale_out` → `CLUSTER_SCALE_OUT`).
pub fn receiver_action(flotilla: &str) -> String {
    format!("CLUSTER_{}", flotilla.to_ascii_uppercase())
}

pub fn receiver(v: &Value, alarm_url: Option<String>) -> Value {
    object(
        v,
        vec![
            ("id", v["id"].clone()),
            ("name", v["name"].clone()),
            ("type", v["type"].clone()),
            ("cluster_id", v["cluster_id"].clone()),
            ("action", Value::String(receiver_action(v["action"].as_str().unwrap_or_default()))),
            ("params", v["params"].clone()),
            ("actor", json!({})),
            ("channel", json!({"alarm_url": alarm_url})),
        ],
    )
}
