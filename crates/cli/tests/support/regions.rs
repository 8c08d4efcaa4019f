//! A federation of real processes for the CLI's tests: a central, regions registering with it with
//! join tokens issued through the CLI, and a simulated host in a region; what the central's
//! routing table and a region's route_sync jobs say.

use super::{Running, Sandbox, sim_agent, start_named_server};
use serde_json::Value;
use std::collections::BTreeSet;

/// `flotilla ARGS -o json` with the sandbox's session, which must succeed.
pub fn cli_json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    sandbox.run(&[args, &["-o", "json"]].concat(), &[]).json()
}

/// `flotilla server --central` on SQLite; a region is DOWN after `grace` seconds of silence; `extra` flags.
pub fn central(sandbox: &Sandbox, grace: &str, extra: &[&str]) -> Running {
    start_named_server(sandbox, "central", None, &[&["--central", "--region-grace-period", grace], extra].concat())
}

/// Region `name` registered with the central at `central_url` (the sandbox's CLI logged in at the
/// central as admin), on its own loopback port, on `database` or SQLite, making default networks
/// from `pool`, with `extra` flags.
pub fn region(sandbox: &Sandbox, central_url: &str, name: &str, pool: &str, database: Option<&str>, extra: &[&str]) -> Running {
    region_at(sandbox, central_url, name, pool, database, extra, std::net::Ipv4Addr::LOCALHOST)
}

/// As [`region`], listening on a free port of `ip` (e.g. a testbed's server address, which its
/// hosts reach).
pub fn region_at(
    sandbox: &Sandbox,
    central_url: &str,
    name: &str,
    pool: &str,
    database: Option<&str>,
    extra: &[&str],
    ip: std::net::Ipv4Addr,
) -> Running {
    let token = cli_json(sandbox, &["region", "join-token"])["token"].as_str().unwrap().to_owned();
    let listen = std::net::TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().to_string();
    let data = sandbox.path(&format!("{name}-data"));
    let mut args = vec!["server", "--region", name, "--listen", &listen, "--data-dir", data.to_str().unwrap()];
    args.extend(["--central-url", central_url, "--region-join-token", &token, "--network-pool", pool]);
    if let Some(database) = database {
        args.extend(["--database", database]);
    }
    args.extend(extra);
    let running = sandbox.spawn(name, &args, &[], "listening on ");
    let started = std::time::Instant::now();
    while !cli_json(sandbox, &["region", "list"])["regions"].as_array().unwrap().iter().any(|r| r["name"] == name) {
        assert!(started.elapsed() < super::START_TIMEOUT, "{name} did not register: {}", running.stderr());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    running
}

/// A simulated host joined to `region` (reached by its name through the CLI's `--region`).
pub fn sim_host(sandbox: &Sandbox, region_name: &str, region: &Running) -> Running {
    let token = cli_json(sandbox, &["--region", region_name, "host", "join-token"])["token"].as_str().unwrap().to_owned();
    let host = format!("{region_name}-sim");
    let state = sandbox.path(&format!("{host}-state"));
    sim_agent(sandbox, region, &token, &host, &["--state-dir", state.to_str().unwrap()], "joined")
}

/// Region `name` started again on its data and address (`url`), with the credential it kept: no token.
pub fn region_again(sandbox: &Sandbox, central_url: &str, name: &str, pool: &str, url: &str) -> Running {
    let listen = url.trim_start_matches("http://");
    let data = sandbox.path(&format!("{name}-data"));
    let args = ["server", "--region", name, "--listen", listen, "--data-dir", data.to_str().unwrap(), "--central-url", central_url];
    sandbox.spawn(name, &[&args[..], &["--network-pool", pool]].concat(), &[], "listening on ")
}

/// The simulated host of `region` started again with the credential it kept (its runtime empty).
pub fn sim_host_again(sandbox: &Sandbox, region_name: &str, region: &Running) -> Running {
    let host = format!("{region_name}-sim");
    let state = sandbox.path(&format!("{host}-state"));
    let args = ["agent", "--server", &region.url, "--runtime", "sim", "--name", &host, "--listen", "127.0.0.1:0"];
    sandbox.spawn(&format!("{host}-again"), &[&args[..], &["--state-dir", state.to_str().unwrap()]].concat(), &[], "joined")
}

/// The ids of `kind` the central's routing table places in `region`.
pub fn routed(sandbox: &Sandbox, region: &str, kind: &str) -> BTreeSet<String> {
    let listed = cli_json(sandbox, &["routing", "list", "--region", region, "--type", kind, "--limit", "1000"]);
    listed["routings"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// The route_sync jobs of `region` (the server).
pub fn route_jobs(sandbox: &Sandbox, region: &Running) -> Vec<Value> {
    let listed = cli_json(sandbox, &["--url", &region.url, "job", "list", "--type", "route_sync", "--limit", "1000"]);
    listed["jobs"].as_array().unwrap().clone()
}

/// Cluster `web` of `size` members of a profile running `image` (and `command`, if any), made at
/// region `home` with a region placement of `weights` and a health policy recreating failed members
/// (checked every second); waits until the resize ends.
pub fn spread_cluster(sandbox: &Sandbox, home: &str, image: &str, command: &str, weights: &[(&str, u32)], size: usize) {
    let file = |name: &str, text: String| {
        let path = sandbox.path(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let profile =
        file("web.yaml", format!("type: container.docker\nversion: '1.0'\nproperties:\n  image: {image}\n{command}  memory: 64\n"));
    let regions: String = weights.iter().map(|(name, weight)| format!("    - {{name: {name}, weight: {weight}}}\n")).collect();
    let placement = file("regions.yaml", format!("type: placement.region\nversion: '1.0'\nproperties:\n  regions:\n{regions}"));
    let health = "type: health\nversion: '1.0'\nproperties:\n  detection:\n    type: container_status\n    interval: 1\n  recovery:\n    action: RECREATE\n";
    let health = file("health.yaml", health.to_owned());
    let at_home = |args: &[&str]| sandbox.run(&[&["--region", home][..], args].concat(), &[]).ok();
    at_home(&["profile", "create", "web", "--spec-file", &profile]);
    at_home(&["policy", "create", "spread", "--spec-file", &placement]);
    at_home(&["policy", "create", "heal", "--spec-file", &health]);
    at_home(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "0", "--wait"]);
    at_home(&["cluster", "policy-attach", "web", "spread", "--wait"]);
    at_home(&["cluster", "policy-attach", "web", "heal", "--wait"]);
    at_home(&["cluster", "resize", "web", "--capacity", &size.to_string(), "--wait"]);
}

/// A central (regions DOWN after 2 s) with the sandbox's CLI logged in as admin, and regions
/// `east` and `west` on SQLite, each with a simulated host: `(central, east, west, hosts)`.
pub fn east_and_west(sandbox: &Sandbox) -> (Running, Running, Running, [Running; 2]) {
    let central = central(sandbox, "2", &[]);
    super::log_in_as_admin(sandbox, &central);
    let east = region(sandbox, &central.url, "east", "10.150.0.0/16", None, &[]);
    let west = region(sandbox, &central.url, "west", "10.160.0.0/16", None, &[]);
    let hosts = [sim_host(sandbox, "east", &east), sim_host(sandbox, "west", &west)];
    (central, east, west, hosts)
}
