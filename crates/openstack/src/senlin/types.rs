//! Senlin's names of Flotilla's profile and policy types (`container.dockerinc.docker`,
//! `senlin.policy.*`), both ways, and their type listings.

use super::error::SenlinError;
use serde_json::{Value, json};

/// Senlin's name of Flotilla's Docker profile type.
pub const DOCKER: &str = "container.dockerinc.docker";
/// Flotilla's own name of it, still accepted.
pub const FLOTILLA_DOCKER: &str = "container.docker";
/// The one version of every type.
pub const VERSION: &str = "1.0";

/// Senlin policy type → Flotilla policy type. Autoscaling has no Senlin counterpart.
const POLICIES: &[(&str, &str)] = &[
    ("senlin.policy.scaling", "scaling"),
    ("senlin.policy.deletion", "deletion"),
    ("senlin.policy.zone_placement", "placement.zone"),
    ("senlin.policy.region_placement", "placement.region"),
    ("senlin.policy.affinity", "affinity"),
    ("senlin.policy.health", "health"),
    ("senlin.policy.batch", "batch"),
    ("flotilla.policy.autoscaling", "autoscaling"),
];

/// `name` without a `-1.0` version suffix, and the version it named.
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('-') {
        Some((base, version)) if version.chars().all(|c| c.is_ascii_digit() || c == '.') => (base, Some(version)),
        _ => (name, None),
    }
}

/// The profile type a spec or path names (`container.dockerinc.docker[-1.0]` or
/// `container.docker[-1.0]`): Flotilla's name; anything else (Nova, Heat) is refused.
pub fn profile_type(name: &str) -> Result<&'static str, SenlinError> {
    match split_version(name) {
        (DOCKER | FLOTILLA_DOCKER, None | Some(VERSION)) => Ok(FLOTILLA_DOCKER),
        _ => Err(SenlinError::bad_request(format!(
            "The profile type '{name}' is not supported: Flotilla runs containers only, with the profile type {DOCKER}-{VERSION}."
        ))),
    }
}

/// The policy type a spec or path names (Senlin's or Flotilla's spelling, with or without its
/// version): Flotilla's name.
pub fn policy_type(name: &str) -> Result<&'static str, SenlinError> {
    let (base, _) = split_version(name);
    POLICIES.iter().find(|(senlin, flotilla)| *senlin == base || *flotilla == base).map(|(_, flotilla)| *flotilla).ok_or_else(|| {
        let known: Vec<&str> = POLICIES.iter().map(|(s, _)| *s).collect();
        SenlinError::bad_request(format!("The policy type '{name}' is not supported; supported: {}.", known.join(", ")))
    })
}

/// Senlin's name of a Flotilla policy type (itself when unknown).
pub fn senlin_policy(flotilla: &str) -> String {
    POLICIES.iter().find(|(_, f)| *f == flotilla).map_or(flotilla, |(s, _)| *s).to_owned()
}

/// Senlin's `support_status` of a type.
fn support_status() -> Value {
    json!({VERSION: [{"status": "SUPPORTED", "since": "2016.04"}]})
}

/// `GET /profile-types`' entries.
pub fn profile_types() -> Value {
    json!([{"name": format!("{DOCKER}-{VERSION}"), "version": VERSION, "support_status": support_status()}])
}

/// `GET /policy-types`' entries.
pub fn policy_types() -> Value {
    POLICIES
        .iter()
        .map(|(s, _)| json!({"name": format!("{s}-{VERSION}"), "version": VERSION, "support_status": support_status()}))
        .collect()
}

/// Senlin's schema of a property from `/v1/profile-types` (`{name, type, required, description}`).
pub fn property_schema(property: &Value) -> (String, Value) {
    let flotilla_type = property["type"].as_str().unwrap_or_default();
    let kind = match flotilla_type {
        "string" => "String",
        "integer" => "Integer",
        "number" => "Number",
        "boolean" => "Boolean",
        t if t.starts_with("list") => "List",
        t if t.starts_with("map") => "Map",
        _ => "String",
    };
    let name = property["name"].as_str().unwrap_or_default().to_owned();
    let schema = json!({
        "type": kind,
        "required": property["required"].as_bool().unwrap_or(false),
        "updatable": false,
        "description": format!("{} ({flotilla_type})", property["description"].as_str().unwrap_or_default()),
    });
    (name, schema)
}

/// The operations a Docker node supports (`GET /profile-types/{t}/ops`).
pub fn operations() -> Value {
    let op = |what: &str| json!({"description": what, "parameters": {}});
    json!({
        "start": op("Start the container."),
        "stop": op("Stop the container."),
        "restart": op("Restart the container."),
        "pause": op("Pause the container."),
        "unpause": op("Unpause the container."),
    })
}
