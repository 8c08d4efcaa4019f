//! `openstack appcontainer` on the real Docker Engine: a real `flotilla server`, one real
//! `flotilla agent` on the engine, the workload image built offline and uploaded, and the real
//! OpenStack CLI (from the virtual environment `scripts/test.sh` makes) running, listing, showing,
//! reading logs of, executing in, stopping, starting and deleting a container; then `openstack
//! cluster` making a cluster of 2 whose members are Docker containers, and deleting it.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::docker::{containers_of, docker_region};
use support::openstack::{Cloud, assert_no_server_errors, cli};
use support::{Sandbox, wait_until};

/// Default networks of this test's projects come from here: Docker tests share one engine, each
/// keeps to its own addresses.
const NETWORK_POOL: &str = "10.205.0.0/16";

#[test]
fn openstack_appcontainer_runs_a_container_on_a_docker_host() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let region = docker_region(&sandbox, NETWORK_POOL, "openstack");
    let (server, tag, name, cleanup) = (&region.server, &region.tag, &region.host, &region.cleanup);

    let cloud = Cloud::admin(cli, &server.url, sandbox.path("home"));
    let web = cloud.ok(&["appcontainer", "run", "-f", "json", "--wait", "--name", "web", tag]);
    let web: Value = serde_json::from_str(&web).unwrap_or_else(|e| panic!("run printed no JSON ({e}): {web}"));
    assert_eq!((web["status"].as_str(), web["host"].as_str()), (Some("Running"), Some(name.as_str())), "{web}");
    let list = cloud.json(&["appcontainer", "list"]);
    assert_eq!(list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["web"]);
    assert_eq!(cloud.json(&["appcontainer", "show", "web"])["image"], tag.as_str());
    wait_until("the workload logs", Duration::from_secs(30), || !cloud.ok(&["appcontainer", "logs", "web"]).trim().is_empty());
    // (No `--flags` after the command: the `openstack` shell would take them for its own.)
    let help = cloud.ok(&["appcontainer", "exec", "web", "/flotilla", "help", "workload"]);
    assert!(help.contains("The demo workload"), "{help}");
    let (code, usage, _) = cloud.run(&["appcontainer", "exec", "web", "/flotilla", "no-such-command"]);
    assert_eq!(code, Some(2), "exec exits with the command's exit code: {usage}");
    cloud.ok(&["appcontainer", "stop", "web"]);
    wait_until("web stops", Duration::from_secs(60), || cloud.json(&["appcontainer", "show", "web"])["status"] == "Stopped");
    cloud.ok(&["appcontainer", "start", "web"]);
    wait_until("web starts", Duration::from_secs(60), || cloud.json(&["appcontainer", "show", "web"])["status"] == "Running");
    let deleted = cloud.ok(&["appcontainer", "delete", "--stop", "--wait", "web"]);
    assert!(deleted.contains("success"), "{deleted}");
    assert_eq!(cloud.json(&["appcontainer", "list"]), serde_json::json!([]));

    // The Senlin dialect on the same engine: a cluster of 2 runs 2 Docker containers, gone with it.
    let spec = sandbox.path("web.yaml");
    std::fs::write(&spec, format!("type: container.dockerinc.docker\nversion: 1.0\nproperties:\n  image: {tag}\n  memory: 64\n")).unwrap();
    cloud.json(&["cluster", "profile", "create", "--spec-file", spec.to_str().unwrap(), "web"]);
    cloud.json(&["cluster", "create", "--profile", "web", "--desired-capacity", "2", "--wait", "c1"]);
    wait_until("the cluster's members run", Duration::from_secs(60), || {
        let members = cloud.json(&["cluster", "members", "list", "c1"]);
        members.as_array().is_some_and(|m| m.len() == 2 && m.iter().all(|n| n["status"] == "ACTIVE"))
    });
    assert_eq!(containers_of(&cleanup.project).len(), 2, "each member is a Docker container");
    cloud.ok(&["cluster", "delete", "--force", "--wait", "c1"]);
    wait_until("the members' containers go", Duration::from_secs(60), || containers_of(&cleanup.project).is_empty());
    assert_no_server_errors(&server.stderr());
}
