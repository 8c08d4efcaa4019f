//! The real OpenStack clients against the Senlin API at `/clustering`: `openstack cluster ...`
//! (python-senlinclient over openstacksdk) and an openstacksdk script, on the real `flotilla
//! server` with a simulated host, asserting on their `-f json` output; the server's log of the
//! runs must hold no 5xx. Needs `FLOTILLA_TEST_OPENSTACK` (scripts/test.sh); skipped without it.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::openstack::{Cloud, assert_no_server_errors, cli, sim_region};
use support::{ADMIN_PASSWORD, Sandbox, wait_until};

/// Writes `text` to the sandbox file `name`; answers its path.
fn file(sandbox: &Sandbox, name: &str, text: &str) -> String {
    let path = sandbox.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `cluster show` until the cluster is ACTIVE with `size` members.
fn settle(cloud: &Cloud, cluster: &str, size: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let shown = cloud.json(&["cluster", "show", cluster]);
        let members = shown["node_ids"].as_str().map(|ids| ids.lines().count());
        if shown["status"] == "ACTIVE" && shown["desired_capacity"] == size && members == Some(size as usize) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{cluster} not ACTIVE with {size} nodes: {shown}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

const PROFILE: &str = "type: container.dockerinc.docker\nversion: 1.0\nproperties:\n  image: any/image:1\n  memory: 64\n";
const DELETION: &str = "type: senlin.policy.deletion\nversion: 1.0\nproperties:\n  criteria: OLDEST_FIRST\n";

#[test]
fn the_openstack_cluster_commands_drive_a_cluster() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let (server, _agents) = sim_region(&sandbox);
    let cloud = Cloud::admin(cli, &server.url, sandbox.path("home"));

    let spec = file(&sandbox, "web.yaml", PROFILE);
    let profile = cloud.json(&["cluster", "profile", "create", "--spec-file", &spec, "web"]);
    assert_eq!(profile["name"], "web");
    assert_eq!(profile["type"], "container.dockerinc.docker-1.0");
    let profiles = cloud.json(&["cluster", "profile", "list"]);
    assert_eq!(profiles.as_array().unwrap().len(), 1, "{profiles}");
    assert_eq!(profiles[0]["name"], "web");
    let shown = cloud.json(&["cluster", "profile", "show", "web"]);
    assert_eq!(shown["id"], profile["id"]);

    let made = cloud.json(&[
        "cluster",
        "create",
        "--profile",
        "web",
        "--min-size",
        "1",
        "--max-size",
        "5",
        "--desired-capacity",
        "2",
        "--wait",
        "c1",
    ]);
    assert_eq!(made["name"], "c1");
    settle(&cloud, "c1", 2);
    let clusters = cloud.json(&["cluster", "list"]);
    assert_eq!((clusters[0]["name"].clone(), clusters[0]["status"].clone()), ("c1".into(), "ACTIVE".into()), "{clusters}");
    let shown = cloud.json(&["cluster", "show", "c1"]);
    assert_eq!(shown["profile_name"], "web");

    cloud.ok(&["cluster", "expand", "--count", "2", "c1"]);
    settle(&cloud, "c1", 4);
    cloud.ok(&["cluster", "shrink", "c1"]);
    settle(&cloud, "c1", 3);
    cloud.ok(&["cluster", "resize", "--capacity", "2", "c1"]);
    settle(&cloud, "c1", 2);
    let members = cloud.json(&["cluster", "members", "list", "c1"]);
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members.iter().all(|m| m["status"] == "ACTIVE"), "{members:?}");

    let deletion = file(&sandbox, "oldest.yaml", DELETION);
    let policy = cloud.json(&["cluster", "policy", "create", "--spec-file", &deletion, "oldest"]);
    assert_eq!(policy["type"], "senlin.policy.deletion-1.0");
    cloud.ok(&["cluster", "policy", "attach", "--policy", "oldest", "c1"]);
    wait_until("the policy attached", Duration::from_secs(30), || {
        cloud.json(&["cluster", "policy", "binding", "list", "c1"]).as_array().map(Vec::len) == Some(1)
    });
    cloud.ok(&["cluster", "policy", "detach", "--policy", "oldest", "c1"]);
    wait_until("the policy detached", Duration::from_secs(30), || {
        cloud.json(&["cluster", "policy", "binding", "list", "c1"]).as_array().map(Vec::len) == Some(0)
    });

    let receiver = cloud.json(&[
        "cluster",
        "receiver",
        "create",
        "--type",
        "webhook",
        "--cluster",
        "c1",
        "--action",
        "CLUSTER_SCALE_OUT",
        "--params",
        "count=1",
        "r1",
    ]);
    assert_eq!(receiver["action"], "CLUSTER_SCALE_OUT");
    // The CLI prints the channel as JSON text.
    let channel: Value = serde_json::from_str(receiver["channel"].as_str().unwrap_or_default()).unwrap_or_default();
    let alarm_url = channel["alarm_url"].as_str().unwrap_or_else(|| panic!("no alarm_url in {receiver}")).to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let triggered = runtime.block_on(reqwest::Client::new().post(&alarm_url).send()).unwrap();
    assert_eq!(triggered.status(), reqwest::StatusCode::ACCEPTED);
    settle(&cloud, "c1", 3);

    let actions = cloud.json(&["cluster", "action", "list"]);
    let names: Vec<&str> = actions.as_array().unwrap().iter().filter_map(|a| a["action"].as_str()).collect();
    for wanted in ["CLUSTER_CREATE", "CLUSTER_SCALE_OUT", "CLUSTER_SCALE_IN", "CLUSTER_RESIZE", "CLUSTER_ATTACH_POLICY"] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    let events = cloud.json(&["cluster", "event", "list"]);
    assert!(events.as_array().is_some_and(|e| !e.is_empty()), "{events}");

    cloud.ok(&["cluster", "delete", "--force", "--wait", "c1"]);
    assert_eq!(cloud.json(&["cluster", "list"]), Value::Array(Vec::new()));
    cloud.ok(&["cluster", "profile", "delete", "web"]);
    assert_eq!(cloud.json(&["cluster", "profile", "list"]), Value::Array(Vec::new()));
    assert_no_server_errors(&server.stderr());
}

/// The cluster flow through openstacksdk itself: profile, cluster, the action polled, resize,
/// delete and wait for the 404.
const SDK_FLOW: &str = r#"
import sys, time, openstack
conn = openstack.connect(auth_url=sys.argv[1], username="admin", password=sys.argv[2], project_name="admin",
                         user_domain_name="Default", project_domain_name="Default", identity_api_version="3")
cl = conn.clustering
spec = {"type": "container.dockerinc.docker", "version": "1.0", "properties": {"image": "any/image:1", "memory": 64}}
profile = cl.create_profile(name="sdk-web", spec=spec)
assert profile.type == "container.dockerinc.docker-1.0", profile.type
cluster = cl.create_cluster(name="sdk", profile_id=profile.id, min_size=1, max_size=4, desired_capacity=1)
cluster = cl.wait_for_status(cluster, "ACTIVE", failures=["ERROR"], interval=1, wait=60)
answer = cl.resize_cluster(cluster, adjustment_type="EXACT_CAPACITY", number=3)
action = answer["action"]
for _ in range(60):
    if cl.get_action(action).status in ("SUCCEEDED", "FAILED", "CANCELLED"):
        break
    time.sleep(1)
assert cl.get_action(action).status == "SUCCEEDED", cl.get_action(action)
assert len(list(cl.nodes(cluster_id=cluster.id))) == 3
assert len(list(cl.nodes(cluster_id=cluster.id, limit=1))) == 3
cl.delete_cluster(cluster)
cl.wait_for_delete(cluster, interval=1, wait=60)
cl.delete_profile(profile)
print("sdk flow ok")
"#;

#[test]
fn an_openstacksdk_script_drives_a_cluster() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let (server, _agents) = sim_region(&sandbox);
    let python = std::path::Path::new(&cli).with_file_name("python");
    let script = file(&sandbox, "flow.py", SDK_FLOW);
    let auth_url = format!("{}/identity/v3", server.url);
    let out = std::process::Command::new(&python)
        .args([script.as_str(), auth_url.as_str(), ADMIN_PASSWORD])
        .env("HOME", sandbox.path("home"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("sdk flow ok"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_no_server_errors(&server.stderr());
}
