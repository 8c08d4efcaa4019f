//! Flotilla's container as Zun shows it: Zun's field names, `Running`-style statuses, memory as
//! a string, addresses by network.

use flotilla_api::Container;
use serde_json::{Map, Value, json};

/// Zun's status for Flotilla's (`RUNNING` → `Running`).
pub(crate) fn status(flotilla: &str) -> String {
    let lower = flotilla.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Flotilla's status for Zun's (`Running` → `RUNNING`).
pub(crate) fn flotilla_status(zun: &str) -> String {
    zun.to_ascii_uppercase()
}

/// The container's addresses as Zun groups them: `{network_id: [{addr, version, port, ...}]}`.
pub(crate) fn addresses(c: &Container) -> Value {
    let mut by_network = Map::new();
    for address in &c.addresses {
        let version = if address.ip_address.contains(':') { 6 } else { 4 };
        let entry = json!({"addr": address.ip_address, "version": version, "port": null, "preserve_on_delete": false,
            "subnet_id": null, "network": address.network, "mac_address": address.mac_address});
        if let Some(list) = by_network.entry(address.network_id.to_string()).or_insert_with(|| json!([])).as_array_mut() {
            list.push(entry);
        }
    }
    Value::Object(by_network)
}

/// The whole container; `base` is this server's URL (for its links).
pub(crate) fn container(c: &Container, base: &str) -> Value {
    let href = format!("{base}/container/v1/containers/{}", c.id);
    let spec = &c.spec;
    let restart = serde_json::to_value(spec.restart_policy).unwrap_or(Value::Null);
    let restart = match restart.as_str() {
        Some(name) => json!({"Name": name, "MaximumRetryCount": "0"}),
        None => json!({}),
    };
    json!({
        "uuid": c.id,
        "links": [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}],
        "name": c.name,
        "image": spec.image,
        "command": spec.command,
        "status": status(&c.status),
        "status_reason": if c.status_reason.is_empty() { Value::Null } else { json!(c.status_reason) },
        "status_detail": if c.health.is_empty() { Value::Null } else { json!(c.health) },
        "task_state": null,
        "cpu": spec.cpu,
        "memory": spec.memory.map(|mib| format!("{mib}M")),
        "environment": spec.environment,
        "workdir": null,
        "ports": spec.ports.iter().map(|p| p.container).collect::<Vec<_>>(),
        "hostname": null,
        "labels": spec.labels,
        "addresses": addresses(c),
        "image_pull_policy": null,
        "host": c.host,
        "restart_policy": restart,
        "interactive": false,
        "tty": false,
        "image_driver": "docker",
        "security_groups": [],
        "auto_remove": false,
        "runtime": null,
        "disk": 0,
        "auto_heal": false,
        "privileged": spec.privileged,
        "healthcheck": {},
        "cpu_policy": "shared",
        "registry_id": null,
        "entrypoint": [],
        "user_id": c.user_id,
        "project_id": c.project_id,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        assert_eq!(status("RUNNING"), "Running");
        assert_eq!(status("CREATED"), "Created");
        assert_eq!(flotilla_status("Stopped"), "STOPPED");
    }
}
