//! A federation of real processes for the CLI's tests: a central, regions registering with it with
//! join tokens issued through the CLI, and a simulated host in a region.

use super::{Running, Sandbox, sim_agent, start_named_server};

/// `flotilla ARGS -o json` with the sandbox's session, which must succeed.
pub fn cli_json(sandbox: &Sandbox, args: &[&str]) -> serde_json::Value {
    sandbox.run(&[args, &["-o", "json"]].concat(), &[]).json()
}

/// `flotilla server --central` on SQLite; a region is DOWN after `grace` seconds of silence.
pub fn central(sandbox: &Sandbox, grace: &str) -> Running {
    start_named_server(sandbox, "central", None, &["--central", "--region-grace-period", grace])
}

/// Region `name` registered with `central` (the sandbox's CLI logged in there as admin), on its own
/// loopback port, on `database` or SQLite, making default networks from `pool`.
pub fn region(sandbox: &Sandbox, central: &Running, name: &str, pool: &str, database: Option<&str>) -> Running {
    region_at(sandbox, central, name, pool, database, std::net::Ipv4Addr::LOCALHOST)
}

/// As [`region`], listening on a free port of `ip` (e.g. a testbed's server address, which its
/// hosts reach).
pub fn region_at(sandbox: &Sandbox, central: &Running, name: &str, pool: &str, database: Option<&str>, ip: std::net::Ipv4Addr) -> Running {
    let token = cli_json(sandbox, &["region", "join-token"])["token"].as_str().unwrap().to_owned();
    let listen = std::net::TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().to_string();
    let data = sandbox.path(&format!("{name}-data"));
    let mut args = vec!["server", "--region", name, "--listen", &listen, "--data-dir", data.to_str().unwrap()];
    args.extend(["--central-url", &central.url, "--region-join-token", &token, "--network-pool", pool]);
    if let Some(database) = database {
        args.extend(["--database", database]);
    }
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
