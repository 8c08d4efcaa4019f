//! Networks, subnets, ports and volumes through the `flotilla` binary as a user drives them: a real
//! `flotilla server`, one `flotilla agent` process simulating a host, and `flotilla network/subnet/
//! port/volume/container` commands: a network made with its subnet, listed and shown; ports with the
//! next free address and a fixed one; the refusals (an address taken, an overlapping subnet, a
//! network with ports, a mounted volume), each naming what is in the way; a container connected and
//! disconnected, its addresses in `container show` and `node show`; a router joining two networks
//! and refused its delete until its interfaces are removed.

mod support;

use serde_json::Value;
use support::{Outcome, Running, Sandbox, log_in_as_admin, sim_agent, start_server_on};

/// A server and one simulated host.
fn one_host_region(sandbox: &Sandbox) -> (Running, Running) {
    let server = start_server_on(sandbox, None);
    log_in_as_admin(sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agent = sim_agent(sandbox, &server, &token, "sim", &["--simulate-hosts", "1"], "simulated hosts joined");
    (server, agent)
}

/// `flotilla ARGS -o json`, which must succeed.
fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    sandbox.run(&[args, &["-o", "json"]].concat(), &[]).json()
}

/// `(network, ip)` of each address of a container or node.
fn addresses(object: &Value) -> Vec<(String, String)> {
    let list = object["addresses"].as_array().unwrap_or_else(|| panic!("no addresses in {object}"));
    list.iter().map(|a| (a["network"].as_str().unwrap().to_owned(), a["ip_address"].as_str().unwrap().to_owned())).collect()
}

fn pair(network: &str, ip: &str) -> (String, String) {
    (network.to_owned(), ip.to_owned())
}

/// The one error line of a refused command (exit 1).
fn refused(outcome: Outcome) -> String {
    outcome.fails_with(1)
}

#[test]
fn networks_subnets_ports_and_volumes_from_create_to_delete() {
    let sandbox = Sandbox::new();
    let (server, agent) = one_host_region(&sandbox);

    // A network made with its subnet: ten addresses in the pool, one of them reserved.
    let create = ["network", "create", "front", "--subnet", "10.1.0.0/24", "--pool", "10.1.0.10-10.1.0.19", "--reserve", "10.1.0.11"];
    let front = json(&sandbox, &create);
    assert_eq!((front["name"].as_str(), front["shared"].as_bool()), (Some("front"), Some(false)), "{front}");
    let subnet = &front["subnets"][0];
    assert_eq!((subnet["cidr"].as_str(), subnet["gateway"].as_str()), (Some("10.1.0.0/24"), Some("10.1.0.1")), "{front}");
    assert_eq!(subnet["allocation_pools"], serde_json::json!([{"start": "10.1.0.10", "end": "10.1.0.19"}]), "{front}");
    assert_eq!((subnet["capacity"].as_u64(), subnet["used"].as_u64()), (Some(9), Some(0)), "the reserved address is not counted: {front}");
    let subnet_name = subnet["name"].as_str().unwrap().to_owned();
    let table = sandbox.run(&["network", "list"], &[]).ok();
    assert!(table.lines().any(|l| l.contains("front") && l.contains("10.1.0.0/24")), "{table}");
    let listed = json(&sandbox, &["network", "list", "--name", "front"]);
    assert_eq!(listed["networks"][0]["id"], front["id"], "{listed}");
    let usage = sandbox.run(&["network", "create", "nowhere", "--pool", "10.9.0.10-10.9.0.20"], &[]).fails_with(1);
    assert!(usage.contains("--subnet"), "{usage}");
    assert_eq!(sandbox.run(&["network", "create", "bad", "--subnet", "10.9.0.0/24", "--pool", "10.9.0.20"], &[]).code, Some(2));

    // Ports: the next free address, then a fixed one; the same fixed one again is refused, naming it.
    let first = json(&sandbox, &["port", "create", "front"]);
    assert_eq!((first["ip_address"].as_str(), first["network"].as_str()), (Some("10.1.0.10"), Some("front")), "{first}");
    let second = json(&sandbox, &["port", "create", "front"]);
    assert_eq!(second["ip_address"], "10.1.0.12", "the reserved 10.1.0.11 is skipped: {second}");
    let fixed = json(&sandbox, &["port", "create", "front", "--ip", "10.1.0.15", "--name", "fixed"]);
    assert_eq!((fixed["ip_address"].as_str(), fixed["name"].as_str()), (Some("10.1.0.15"), Some("fixed")), "{fixed}");
    let taken = refused(sandbox.run(&["port", "create", "front", "--ip", "10.1.0.15"], &[]));
    assert!(taken.contains("10.1.0.15") && taken.contains("409"), "{taken}");
    let fixed_id = fixed["id"].as_str().unwrap().to_owned();
    assert_eq!(json(&sandbox, &["port", "show", &fixed_id])["ip_address"], "10.1.0.15");
    let ports = json(&sandbox, &["port", "list", "--network", "front"]);
    let mut ips: Vec<&str> = ports["ports"].as_array().unwrap().iter().map(|p| p["ip_address"].as_str().unwrap()).collect();
    ips.sort();
    assert_eq!(ips, ["10.1.0.10", "10.1.0.12", "10.1.0.15"], "{ports}");
    let table = sandbox.run(&["network", "show", "front"], &[]).ok();
    assert!(table.contains("subnets:") && table.contains("10.1.0.10-10.1.0.19") && table.contains("3/9"), "{table}");

    // Subnets never overlap, in a network or across networks: the refusal names the other subnet.
    let overlap = refused(sandbox.run(&["network", "create", "wide", "--subnet", "10.1.0.128/25"], &[]));
    assert!(overlap.contains(&subnet_name) && overlap.contains("10.1.0.0/24"), "{overlap}");
    assert_eq!(sandbox.run(&["network", "show", "wide"], &[]).code, Some(1), "the refused network was not made");
    sandbox.run(&["network", "create", "back"], &[]).ok();
    let overlap = refused(sandbox.run(&["subnet", "create", "back", "10.0.0.0/8"], &[]));
    assert!(overlap.contains(&subnet_name), "{overlap}");
    let back_subnet = json(&sandbox, &["subnet", "create", "back", "10.2.0.0/24", "--name", "back-a", "--gateway", "10.2.0.254"]);
    assert_eq!((back_subnet["name"].as_str(), back_subnet["gateway"].as_str()), (Some("back-a"), Some("10.2.0.254")), "{back_subnet}");
    let subnets = json(&sandbox, &["subnet", "list", "back"]);
    assert_eq!(subnets["subnets"][0]["cidr"], "10.2.0.0/24", "{subnets}");
    let subnet_id = back_subnet["id"].as_str().unwrap().to_owned();
    assert_eq!(json(&sandbox, &["subnet", "show", &subnet_id])["capacity"], 253, "a /24 less the gateway");

    // A network with ports cannot go; deleting its ports frees it, and a delete of several goes on past a missing one.
    let in_use = refused(sandbox.run(&["network", "delete", "front"], &[]));
    assert!(in_use.contains("port") && in_use.contains("409"), "{in_use}");
    for port in ports["ports"].as_array().unwrap() {
        let said = sandbox.run(&["port", "delete", port["id"].as_str().unwrap()], &[]).ok();
        assert!(said.starts_with("deleted port "), "{said}");
    }
    assert!(json(&sandbox, &["port", "list", "--network", "front"])["ports"].as_array().unwrap().is_empty());
    let said = sandbox.run(&["subnet", "delete", &subnet_id], &[]).ok();
    assert!(said.contains(&format!("deleted subnet {subnet_id}")), "{said}");
    let several = sandbox.run(&["network", "delete", "front", "ghost", "back"], &[]);
    assert!(several.stdout.contains("deleted network front") && several.stdout.contains("deleted network back"), "{several:?}");
    assert!(refused(several).contains("ghost"));
    let left: Vec<String> = json(&sandbox, &["network", "list"])["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!left.iter().any(|n| n == "front" || n == "back"), "{left:?}");

    // A container on a network of its own choosing, connected to a second with a fixed address and disconnected again.
    sandbox.run(&["network", "create", "front", "--subnet", "10.1.0.0/24"], &[]).ok();
    sandbox.run(&["network", "create", "back", "--subnet", "10.2.0.0/24"], &[]).ok();
    let web = json(&sandbox, &["container", "run", "--name", "web", "--image", "any/image:1", "--network", "front", "--wait"]);
    assert_eq!(web["status"], "RUNNING", "{web}");
    assert_eq!(addresses(&web), [pair("front", "10.1.0.2")], "the first host address after the gateway");
    let connected = json(&sandbox, &["network", "connect", "back", "web", "--ip", "10.2.0.7"]);
    assert_eq!(addresses(&connected), [pair("front", "10.1.0.2"), pair("back", "10.2.0.7")], "{connected}");
    let table = sandbox.run(&["container", "show", "web"], &[]).ok();
    let rows: Vec<&str> = table.lines().skip_while(|l| l.trim() != "addresses:").collect();
    assert!(rows.iter().any(|l| l.contains("back") && l.contains("10.2.0.7") && l.contains("02:42:0a:02:00:07")), "{table}");
    assert!(rows.iter().any(|l| l.contains("front") && l.contains("10.1.0.2")), "{table}");
    let list = sandbox.run(&["container", "list"], &[]).ok();
    assert!(list.lines().any(|l| l.contains("web") && l.contains("10.1.0.2")), "{list}");
    let held = json(&sandbox, &["port", "list", "--container", "web"]);
    assert_eq!(held["ports"].as_array().unwrap().len(), 2, "{held}");
    let again = refused(sandbox.run(&["network", "connect", "back", "web"], &[]));
    assert!(again.contains("already connected"), "{again}");
    let disconnected = json(&sandbox, &["network", "disconnect", "back", "web"]);
    assert_eq!(addresses(&disconnected), [pair("front", "10.1.0.2")], "{disconnected}");
    assert_eq!(addresses(&json(&sandbox, &["container", "show", "web"])), [pair("front", "10.1.0.2")]);
    sandbox.run(&["node", "adopt", "web"], &[]).ok();
    let node = sandbox.run(&["node", "show", "web"], &[]).ok();
    let rows: Vec<&str> = node.lines().skip_while(|l| l.trim() != "addresses:").collect();
    assert!(rows.iter().any(|l| l.contains("front") && l.contains("10.1.0.2")), "{node}");

    // Volumes: made, listed and shown; a mounted one cannot go, until its container is gone.
    let data = json(&sandbox, &["volume", "create", "data", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--size", "64"]);
    assert_eq!((data["driver"].as_str(), data["size_mib"].as_u64()), (Some("local"), Some(64)), "{data}");
    assert_eq!(data["driver_opts"], serde_json::json!({"type": "tmpfs", "device": "tmpfs"}), "{data}");
    let table = sandbox.run(&["volume", "list"], &[]).ok();
    assert!(table.lines().any(|l| l.contains("data") && l.contains("local") && l.contains("64 MiB")), "{table}");
    let db = json(&sandbox, &["container", "run", "--name", "db", "--image", "any/image:1", "-v", "data:/var/lib/data:ro", "--wait"]);
    assert_eq!(db["spec"]["volumes"], serde_json::json!([{"volume": "data", "target": "/var/lib/data", "read_only": true}]), "{db}");
    assert_eq!(json(&sandbox, &["volume", "show", "data"])["mounted_by"], serde_json::json!(["db"]));
    let mounted = refused(sandbox.run(&["volume", "delete", "data"], &[]));
    assert!(mounted.contains("db") && mounted.contains("409"), "{mounted}");
    sandbox.run(&["container", "delete", "db", "--force", "--wait"], &[]).ok();
    let said = sandbox.run(&["volume", "delete", "data"], &[]).ok();
    assert!(said.contains("deleted volume data"), "{said}");
    let gone = refused(sandbox.run(&["volume", "show", "data"], &[]));
    assert!(gone.contains("404"), "{gone}");
    agent.stop();
    server.stop();
}

#[test]
fn routers_join_networks_until_their_interfaces_go() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    json(&sandbox, &["network", "create", "left", "--subnet", "10.3.0.0/24"]);
    json(&sandbox, &["network", "create", "right", "--subnet", "10.4.0.0/24"]);
    let edge = json(&sandbox, &["router", "create", "edge"]);
    assert_eq!((edge["name"].as_str(), edge["interfaces"].as_array().map(Vec::len)), (Some("edge"), Some(0)), "{edge}");
    json(&sandbox, &["router", "add-interface", "edge", "left"]);
    let edge = json(&sandbox, &["router", "add-interface", "edge", "right"]);
    let joined: Vec<(&str, &str)> =
        edge["interfaces"].as_array().unwrap().iter().map(|i| (i["network"].as_str().unwrap(), i["gateway"].as_str().unwrap())).collect();
    assert_eq!(joined, [("left", "10.3.0.1"), ("right", "10.4.0.1")], "{edge}");
    let table = sandbox.run(&["router", "show", "edge"], &[]).ok();
    assert!(table.contains("interfaces:") && table.contains("10.4.0.0/24"), "{table}");
    let table = sandbox.run(&["router", "list"], &[]).ok();
    assert!(table.lines().any(|l| l.contains("edge") && l.contains("left, right")), "{table}");

    let taken = refused(sandbox.run(&["router", "delete", "edge"], &[]));
    assert!(taken.contains("409") && taken.contains("still joins network(s) left, right"), "{taken}");
    let unknown = refused(sandbox.run(&["router", "add-interface", "edge", "nowhere"], &[]));
    assert!(unknown.contains("400") && unknown.contains("nowhere"), "{unknown}");
    json(&sandbox, &["router", "remove-interface", "edge", "left"]);
    let edge = json(&sandbox, &["router", "remove-interface", "edge", "right"]);
    assert_eq!(edge["interfaces"], serde_json::json!([]), "{edge}");
    sandbox.run(&["router", "delete", "edge"], &[]).ok();
    assert!(refused(sandbox.run(&["router", "show", "edge"], &[])).contains("404"));
    server.stop();
}
