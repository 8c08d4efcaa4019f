//! Clusters through the `flotilla` binary as a user drives them: a real `flotilla server`, one
//! `flotilla agent` process simulating hosts, and `flotilla profile/cluster/policy/receiver/action`
//! commands with `--wait`: create, scale out, a deletion policy from a YAML file choosing the victims
//! of a resize, a webhook receiver triggered without a token, the action log, failures (exit 1) and
//! timeouts (exit 5) of waits, and a delete that leaves no container.

mod support;

use serde_json::Value;
use support::{Outcome, Running, Sandbox, log_in_as_admin, sim_agent, start_server_on};

/// The region: a server and three simulated hosts whose creates take a little while (so a wait
/// with no time left finds its action still under way).
fn region(sandbox: &Sandbox) -> (Running, Running) {
    let server = start_server_on(sandbox, None);
    log_in_as_admin(sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let extra = ["--simulate-hosts", "3", "--sim-latency-ms", "200"];
    let agents = sim_agent(sandbox, &server, &token, "sim", &extra, "simulated hosts joined");
    (server, agents)
}

/// `(name, status)` of a cluster's members, by name.
fn members(sandbox: &Sandbox, cluster: &str) -> Vec<(String, String)> {
    let list = sandbox.run(&["cluster", "members", cluster, "-o", "json"], &[]).json();
    let mut members: Vec<(String, String)> = list["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {list}"))
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
        .collect();
    members.sort();
    members
}

fn all_active(names: &[&str]) -> Vec<(String, String)> {
    names.iter().map(|n| (n.to_string(), "ACTIVE".to_owned())).collect()
}

/// Writes `text` to the sandbox file `name`; answers its path.
fn file(sandbox: &Sandbox, name: &str, text: &str) -> String {
    let path = sandbox.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The last line of a failed command's stderr (progress lines come before it), checked to be its error.
fn failure(outcome: Outcome, code: i32) -> String {
    assert_eq!(outcome.code, Some(code), "`flotilla {}`: {outcome:?}", outcome.args);
    let last = outcome.stderr.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("error: "), "{:?}", outcome.stderr);
    last
}

#[test]
fn a_cluster_from_create_to_delete_with_policies_receivers_and_waits() {
    let sandbox = Sandbox::new();
    let (server, agents) = region(&sandbox);
    let spec = file(&sandbox, "web.yaml", "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 64\n");
    sandbox.run(&["profile", "create", "web", "--spec-file", &spec], &[]).ok();

    // Create and wait: the progress goes to stderr, the cluster as it ended to stdout.
    let created = sandbox.run(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "3", "--wait", "-o", "json"], &[]);
    let progress = created.stderr.clone();
    let cluster: Value = serde_json::from_str(&created.ok()).unwrap();
    assert_eq!((cluster["status"].as_str(), cluster["desired_capacity"].as_i64()), (Some("ACTIVE"), Some(3)), "{cluster}");
    assert!(progress.contains("CLUSTER_CREATE SUCCEEDED: 3/3 nodes ACTIVE"), "{progress}");
    assert!(progress.lines().last().unwrap().contains("(CLUSTER_CREATE) SUCCEEDED in"), "{progress}");
    assert_eq!(members(&sandbox, "web"), all_active(&["web-1", "web-2", "web-3"]));
    let table = sandbox.run(&["cluster", "list"], &[]).ok();
    assert!(table.contains("web") && table.contains("ACTIVE") && table.contains("unlimited"), "{table}");

    // Scale out by two: five members, the action shown as it ended.
    let action = sandbox.run(&["cluster", "scale-out", "web", "--count", "2", "--wait", "-o", "json"], &[]).json();
    assert_eq!((action["action"].as_str(), action["status"].as_str()), (Some("CLUSTER_SCALE_OUT"), Some("SUCCEEDED")), "{action}");
    assert_eq!(members(&sandbox, "web"), all_active(&["web-1", "web-2", "web-3", "web-4", "web-5"]));

    // A deletion policy from a YAML file: a resize to 2 keeps the two youngest members.
    let policy = file(&sandbox, "oldest.yaml", "type: deletion\nversion: 1.0\nproperties:\n  criteria: OLDEST_FIRST\n");
    let said = sandbox.run(&["policy", "validate", "--spec-file", &policy], &[]).ok();
    assert!(said.contains("is a valid deletion 1.0 policy"), "{said}");
    sandbox.run(&["policy", "create", "oldest", "--spec-file", &policy], &[]).ok();
    let types = sandbox.run(&["policy", "type-list"], &[]).ok();
    assert!(types.contains("deletion") && types.contains("400"), "{types}");
    sandbox.run(&["cluster", "policy-attach", "web", "oldest", "--wait"], &[]).ok();
    let attached = sandbox.run(&["cluster", "show", "web", "-o", "json"], &[]).json();
    assert_eq!(attached["policies"][0]["policy_name"], "oldest", "{attached}");
    sandbox.run(&["cluster", "resize", "web", "--capacity", "2", "--wait"], &[]).ok();
    assert_eq!(members(&sandbox, "web"), all_active(&["web-4", "web-5"]));
    let hosts = sandbox.run(&["cluster", "collect", "web", "host_name", "-o", "json"], &[]).json();
    let hosts = hosts["cluster_attributes"].as_array().unwrap();
    assert!(hosts.len() == 2 && hosts.iter().all(|h| h["value"].as_str().unwrap().starts_with("sim-")), "{hosts:?}");

    // Usage errors and refusals are one line.
    assert_eq!(sandbox.run(&["cluster", "resize", "web", "--capacity", "2", "--adjustment", "1"], &[]).code, Some(2));
    let refused = sandbox.run(&["cluster", "resize", "web", "--capacity", "5", "--max-size", "3"], &[]).fails_with(1);
    assert!(refused.contains("400") && refused.contains('5') && refused.contains('3'), "{refused}");

    // A webhook receiver: triggered by its URL alone, with no login, it scales out by its stored count.
    let receiver =
        sandbox.run(&["receiver", "create", "grow", "--cluster", "web", "--action", "scale_out", "--param", "count=2", "-o", "json"], &[]);
    let receiver = receiver.json();
    let url = receiver["url"].as_str().unwrap().to_owned();
    assert_eq!(receiver["params"]["count"], 2, "{receiver}");
    assert!(sandbox.run(&["receiver", "show", "grow", "-o", "json"], &[]).json()["url"].is_null(), "the URL is shown once");
    let nobody = [("FLOTILLA_CONFIG", sandbox.path("nobody.toml")), ("FLOTILLA_URL", "http://127.0.0.1:9".into())];
    let nobody: Vec<(&str, &str)> = nobody.iter().map(|(k, v)| (*k, v.to_str().unwrap())).collect();
    let triggered = sandbox.run(&["receiver", "trigger", &url, "-o", "json"], &nobody).json();
    let id = triggered["action"].as_str().unwrap().to_owned();
    let action = sandbox.run(&["action", "wait", &id, "-o", "json"], &[]).json();
    assert_eq!((action["cause"].as_str(), action["status"].as_str()), (Some("Receiver"), Some("SUCCEEDED")), "{action}");
    assert_eq!(members(&sandbox, "web").len(), 4);

    // The action log: the cluster's actions and its nodes', each cluster action with the node actions it waited for.
    let actions = sandbox.run(&["action", "list", "--cluster", "web", "-o", "json"], &[]).json();
    let kinds: Vec<&str> = actions["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    for kind in ["CLUSTER_CREATE", "CLUSTER_SCALE_OUT", "CLUSTER_ATTACH_POLICY", "CLUSTER_RESIZE", "NODE_CREATE", "NODE_DELETE"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let resizes = sandbox.run(&["action", "list", "--cluster", "web", "--action", "cluster_resize", "-o", "json"], &[]).json();
    let resize = resizes["actions"][0]["id"].as_str().unwrap().to_owned();
    let shown = sandbox.run(&["action", "show", &resize, "-o", "json"], &[]).json();
    assert_eq!(shown["depends_on"].as_array().unwrap().len(), 3, "three nodes deleted: {shown}");
    let table = sandbox.run(&["action", "show", &resize], &[]).ok();
    assert!(table.contains("depends_on") && table.contains("depended_by"), "{table}");

    // A wait with no time left: exit 5, and the action goes on to its end.
    let late = failure(sandbox.run(&["cluster", "scale-out", "web", "--wait", "--wait-timeout", "0"], &[]), 5);
    assert!(late.contains("(CLUSTER_SCALE_OUT) is still"), "{late}");
    let id = late.split_whitespace().nth(2).unwrap();
    sandbox.run(&["action", "wait", id], &[]).ok();
    assert_eq!(members(&sandbox, "web").len(), 5);

    // A cluster whose nodes fit no host: its create FAILED, exit 1, saying why.
    let nowhere = "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  constraints: [\"label.disk == ssd\"]\n";
    sandbox.run(&["profile", "create", "nowhere", "--spec-file", &file(&sandbox, "nowhere.yaml", nowhere)], &[]).ok();
    let create = ["cluster", "create", "doomed", "--profile", "nowhere", "--desired-capacity", "1", "--wait", "--wait-timeout", "60"];
    let failed = failure(sandbox.run(&create, &[]), 1);
    assert!(failed.contains("(CLUSTER_CREATE) FAILED"), "{failed}");

    // Deleting both clusters leaves no container behind.
    for cluster in ["web", "doomed"] {
        let said = sandbox.run(&["cluster", "delete", cluster, "--wait"], &[]).ok();
        assert!(said.contains(&format!("deleted cluster {cluster}")), "{said}");
    }
    assert_eq!(sandbox.run(&["cluster", "list", "-o", "json"], &[]).json()["clusters"], Value::Array(vec![]));
    assert_eq!(sandbox.run(&["container", "list", "-o", "json"], &[]).json()["containers"], Value::Array(vec![]));
    assert_eq!(sandbox.run(&["node", "list", "-o", "json"], &[]).json()["nodes"], Value::Array(vec![]));
    agents.stop();
    server.stop();
}

/// Orphan nodes join and leave a cluster; a drained host's member moves, its node with it.
#[test]
fn orphan_nodes_join_and_leave_clusters() {
    let sandbox = Sandbox::new();
    let (server, agents) = region(&sandbox);
    let spec = file(&sandbox, "web.json", r#"{"type": "container.docker", "version": "1.0", "properties": {"image": "any/image:1"}}"#);
    sandbox.run(&["profile", "create", "web", "--spec-file", &spec], &[]).ok();
    sandbox.run(&["cluster", "create", "web", "--profile", "web", "--min-size", "1", "--node-name-format", "w-$2I", "--wait"], &[]).ok();
    assert_eq!(members(&sandbox, "web"), all_active(&["w-01"]));

    // An orphan node, made and then added; another replaces a member.
    for name in ["spare", "other"] {
        let node = sandbox.run(&["node", "create", name, "--profile", "web", "--role", "backup", "--wait", "-o", "json"], &[]).json();
        assert_eq!((node["status"].as_str(), node["cluster_id"].as_str()), (Some("ACTIVE"), None), "{node}");
    }
    sandbox.run(&["cluster", "add-nodes", "web", "spare", "--wait"], &[]).ok();
    assert_eq!(members(&sandbox, "web"), all_active(&["spare", "w-01"]));
    sandbox.run(&["cluster", "replace-nodes", "web", "w-01=other", "--wait"], &[]).ok();
    assert_eq!(members(&sandbox, "web"), all_active(&["other", "spare"]));
    let orphans = sandbox.run(&["node", "list", "--status", "active", "-o", "json"], &[]).json();
    assert_eq!(orphans["nodes"].as_array().unwrap().len(), 2, "w-01 was deleted: {orphans}");
    let tainted = sandbox.run(&["node", "update", "other", "--tainted", "true", "-o", "json"], &[]).json();
    assert_eq!(tainted["tainted"], Value::Bool(true), "{tainted}");

    // Removing a node with --keep leaves it an orphan; then it goes on its own.
    sandbox.run(&["cluster", "del-nodes", "web", "spare", "--keep", "--wait"], &[]).ok();
    assert_eq!(members(&sandbox, "web"), all_active(&["other"]));
    let spare = sandbox.run(&["node", "show", "spare", "-o", "json"], &[]).json();
    assert_eq!((spare["status"].as_str(), spare["cluster_id"].as_str()), (Some("ACTIVE"), None), "{spare}");
    sandbox.run(&["node", "check", "spare", "--wait"], &[]).ok();
    let said = sandbox.run(&["node", "delete", "spare", "--wait"], &[]).ok();
    assert!(said.contains("deleted node spare"), "{said}");

    // A host drained with --migrate --wait: the member runs elsewhere, and its node says where.
    let before = sandbox.run(&["node", "show", "other", "-o", "json"], &[]).json();
    let old = before["host_name"].as_str().unwrap().to_owned();
    let drained = sandbox.run(&["host", "drain", &old, "--migrate", "--wait", "-o", "json"], &[]).json();
    assert_eq!(drained["state"], "DRAINING", "{drained}");
    let after = sandbox.run(&["node", "show", "other", "-o", "json"], &[]).json();
    let container = sandbox.run(&["container", "show", after["physical_id"].as_str().unwrap(), "-o", "json"], &[]).json();
    assert_ne!(after["host_name"].as_str(), Some(old.as_str()), "{after}");
    assert_eq!((container["host"].as_str(), container["status"].as_str()), (after["host_name"].as_str(), Some("RUNNING")), "{container}");
    let drains = sandbox.run(&["action", "list", "--action", "host_drain", "-o", "json"], &[]).json();
    assert_eq!(drains["actions"][0]["status"], "SUCCEEDED", "{drains}");
    sandbox.run(&["host", "enable", &old], &[]).ok();

    // Operations on the members, then a delete that leaves nothing.
    sandbox.run(&["cluster", "operation", "web", "stop", "--filter", "role=backup", "--wait"], &[]).ok();
    let stopped = sandbox.run(&["cluster", "collect", "web", "container.status", "-o", "json"], &[]).json();
    assert_eq!(stopped["cluster_attributes"][0]["value"], "STOPPED", "{stopped}");
    sandbox.run(&["cluster", "delete", "web", "--wait"], &[]).ok();
    assert_eq!(sandbox.run(&["container", "list", "-o", "json"], &[]).json()["containers"], Value::Array(vec![]));
    agents.stop();
    server.stop();
}
