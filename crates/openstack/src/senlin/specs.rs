//! Profiles and policies: objects made of a `{type, version, properties}` spec, with the same
//! routes (create, list, show, update, delete, validate); each family translates its spec's type.

use super::context::{Caller, Shared, segment};
use super::error::SenlinError;
use super::reply::{Reply, keyed};
use super::resolve::{self, Kind};
use super::{shapes, types, wire};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

/// One family of spec objects.
pub struct Family {
    kind: Kind,
    /// The key of one object in bodies (`profile`).
    key: &'static str,
    /// Flotilla's type of a spec type Senlin's clients name.
    flotilla_type: fn(&str) -> Result<&'static str, SenlinError>,
    shape: fn(&Value) -> Value,
}

pub const PROFILES: Family = Family { kind: resolve::PROFILE, key: "profile", flotilla_type: types::profile_type, shape: shapes::profile };
pub const POLICIES: Family = Family { kind: resolve::POLICY, key: "policy", flotilla_type: types::policy_type, shape: shapes::policy };

/// The filters both lists take; `type` is applied here, on Senlin's type names.
const FILTERS: &[(&str, &str)] = &[("name", "name"), ("type", "")];

/// A Docker profile's properties as Flotilla reads them: Senlin's string `command` becomes a list.
fn properties(family: &Family, properties: &Value) -> Value {
    let mut properties = properties.clone();
    if family.key == "profile"
        && let Some(command) = properties.get("command").and_then(Value::as_str)
    {
        let words: Vec<Value> = command.split_whitespace().map(|w| Value::String(w.to_owned())).collect();
        properties["command"] = Value::Array(words);
    }
    properties
}

/// A Senlin spec (YAML's `version: 1.0` arrives as a number) in Flotilla's terms.
fn spec(family: &Family, body: &Map<String, Value>) -> Result<Value, SenlinError> {
    let Some(Value::Object(spec)) = body.get("spec") else {
        return Err(SenlinError::bad_request(format!("'spec' is a required property of the {}", family.key)));
    };
    let type_name = wire::required(spec, "type")?;
    let version = wire::required(spec, "version")?;
    let flotilla_type = (family.flotilla_type)(&format!("{type_name}-{version}"))?;
    let properties = properties(family, spec.get("properties").unwrap_or(&Value::Null));
    Ok(json!({"type": flotilla_type, "version": version, "properties": properties}))
}

fn path(family: &Family, id: &str) -> String {
    format!("{}/{}", family.kind.path, segment(id))
}

pub async fn create(family: &Family, senlin: Shared, caller: Caller, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, family.key)?;
    let mut request = json!({"name": wire::required(&body, "name")?, "spec": spec(family, &body)?});
    if let Some(metadata) = body.get("metadata").filter(|m| !m.is_null()) {
        request["metadata"] = metadata.clone();
    }
    let made = senlin.call(&caller, Method::POST, family.kind.path, Some(&request)).await?;
    keyed(StatusCode::CREATED, family.key, (family.shape)(&made.body))
}

pub async fn list(family: &Family, senlin: Shared, caller: Caller, query: Vec<(String, String)>) -> Reply {
    let args = wire::list_args(&query, FILTERS)?;
    let all = senlin.list(&caller, family.kind.path, family.kind.list_key, args.pairs).await?;
    let shaped = all.iter().map(family.shape).filter(|o| {
        args.local.iter().all(|(_, wanted)| {
            let shown = o["type"].as_str().unwrap_or_default();
            shown == wanted || shown.rsplit_once('-').is_some_and(|(base, _)| base == wanted)
        })
    });
    keyed(StatusCode::OK, family.kind.list_key, shaped.collect())
}

pub async fn show(family: &Family, senlin: Shared, caller: Caller, key: String) -> Reply {
    let found = senlin.find(&caller, family.kind, &key).await?;
    keyed(StatusCode::OK, family.key, (family.shape)(&found))
}

pub async fn update(family: &Family, senlin: Shared, caller: Caller, key: String, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, family.key)?;
    let id = senlin.find_id(&caller, family.kind, &key).await?;
    let mut request = Map::new();
    if let Some(name) = wire::string(&body, "name")? {
        request.insert("name".into(), Value::String(name));
    }
    if let Some(metadata) = body.get("metadata").filter(|m| !m.is_null()) {
        request.insert("metadata".into(), metadata.clone());
    }
    if let Some(other) = body.keys().find(|k| !matches!(k.as_str(), "name" | "metadata")) {
        return Err(SenlinError::bad_request(format!("Only name and metadata of a {} can be updated, not '{other}'.", family.key)));
    }
    let updated = senlin.call(&caller, Method::PATCH, &path(family, &id), Some(&Value::Object(request))).await?;
    keyed(StatusCode::OK, family.key, (family.shape)(&updated.body))
}

pub async fn delete(family: &Family, senlin: Shared, caller: Caller, key: String) -> Reply {
    let id = senlin.find_id(&caller, family.kind, &key).await?;
    senlin.call(&caller, Method::DELETE, &path(family, &id), None).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn validate(family: &Family, senlin: Shared, caller: Caller, body: Bytes) -> Reply {
    let body = wire::wrapped(&body, family.key)?;
    let spec = spec(family, &body)?;
    let request = json!({"spec": spec});
    senlin.call(&caller, Method::POST, &format!("{}/validate", family.kind.path), Some(&request)).await?;
    let validated = json!({
        "id": null, "name": format!("validated_{}", family.key), "type": spec["type"], "spec": spec, "metadata": {},
        "user_id": null, "project_id": null, "created_at": null, "updated_at": null,
    });
    keyed(StatusCode::OK, family.key, (family.shape)(&validated))
}

/// The routes of one family under `prefix` (`/v1/profiles`).
pub fn routes(router: axum::Router<Shared>, prefix: &str, family: &'static Family) -> axum::Router<Shared> {
    use axum::routing::{get, post};
    router
        .route(
            prefix,
            get(move |State(s): State<Shared>, c: Caller, Query(q): Query<Vec<(String, String)>>| list(family, s, c, q))
                .post(move |State(s): State<Shared>, c: Caller, b: Bytes| create(family, s, c, b)),
        )
        .route(&format!("{prefix}/validate"), post(move |State(s): State<Shared>, c: Caller, b: Bytes| validate(family, s, c, b)))
        .route(
            &format!("{prefix}/{{id}}"),
            get(move |State(s): State<Shared>, c: Caller, Path(k): Path<String>| show(family, s, c, k))
                .patch(move |State(s): State<Shared>, c: Caller, Path(k): Path<String>, b: Bytes| update(family, s, c, k, b))
                .delete(move |State(s): State<Shared>, c: Caller, Path(k): Path<String>| delete(family, s, c, k)),
        )
}
