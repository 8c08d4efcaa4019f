//! Regions with the real binary: a `flotilla server --central` and region servers registering with
//! it (SQLite, and one on PostgreSQL when scripts/test.sh provides it), each with a simulated host.
//! One login at the central works in every region; identity writes at a region are refused naming
//! the central; a token revoked at the central stops working at a region within the cache TTL; a
//! region restarted without its join token comes back; a region keeps creating containers while
//! the central is stopped and says so in /healthz; a killed region goes DOWN after the grace period;
//! the central refuses agents (it runs no hosts); a region reaches a central over TLS only when it
//! trusts the central's CA (`--ca-cert`).

mod support;

use flotilla_api::TokenCreate;
use flotilla_client::Client;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::{ADMIN_PASSWORD, Running, Sandbox, log_in_as_admin, make_pki, sim_agent};

/// The central counts a region DOWN after this many seconds of silence.
const GRACE: &str = "2";
/// A region trusts the central's validation of a token this many seconds.
const TOKEN_TTL: &str = "2";

fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

/// The central, with `extra` flags.
fn start_central(sandbox: &Sandbox, extra: &[&str]) -> Running {
    let data = sandbox.path("central-data");
    let mut args = vec![
        "server",
        "--central",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--bootstrap-password",
        ADMIN_PASSWORD,
        "--region-grace-period",
        GRACE,
        "--global-pool",
        "10.200.0.0/16",
    ];
    args.extend(extra);
    sandbox.spawn("central", &args, &[], "listening on ")
}

/// A region server as an operator starts it; `join_token` on its first start only.
struct RegionServer {
    name: String,
    listen: String,
    pool: String,
    database: Option<String>,
}

impl RegionServer {
    fn new(name: &str, pool: &str, database: Option<String>) -> Self {
        RegionServer { name: name.into(), listen: free_address(), pool: pool.into(), database }
    }

    fn start(&self, sandbox: &Sandbox, central: &Running, join_token: Option<&str>) -> Running {
        self.start_with(sandbox, central, join_token, &[])
    }

    /// As [`RegionServer::start`], with `extra` flags.
    fn start_with(&self, sandbox: &Sandbox, central: &Running, join_token: Option<&str>, extra: &[&str]) -> Running {
        let data = sandbox.path(&format!("{}-data", self.name));
        let mut args = vec![
            "server",
            "--region",
            &self.name,
            "--listen",
            &self.listen,
            "--data-dir",
            data.to_str().unwrap(),
            "--central-url",
            &central.url,
            "--token-cache-ttl",
            TOKEN_TTL,
            "--network-pool",
            &self.pool,
        ];
        if let Some(token) = join_token {
            args.extend(["--region-join-token", token]);
        }
        if let Some(database) = &self.database {
            args.extend(["--database", database]);
        }
        args.extend(extra);
        sandbox.spawn(&self.name, &args, &[], "listening on ")
    }
}

/// `flotilla ARGS -o json`, which must succeed.
fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    sandbox.run(&[args, &["-o", "json"]].concat(), &[]).json()
}

fn region_join_token(sandbox: &Sandbox) -> String {
    json(sandbox, &["region", "join-token", "--ttl", "600"])["token"].as_str().unwrap().to_owned()
}

/// A simulated host joined to `region` with a join token issued there by the central's admin.
fn host_in(sandbox: &Sandbox, region: &Running, name: &str) -> Running {
    let token = json(sandbox, &["--url", &region.url, "host", "join-token"])["token"].as_str().unwrap().to_owned();
    let state = sandbox.path(&format!("{name}-state"));
    sim_agent(sandbox, region, &token, name, &["--state-dir", state.to_str().unwrap()], "joined")
}

/// Polls `check` every 100 ms until it holds; panics with `what` after `within`.
fn eventually(what: &str, within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Waits until `region` says in `/healthz` that it is registered with its central: its first
/// registration may outlast the few seconds it waits before it starts listening.
fn registered(region: &Running) {
    let healthz = format!("{}/healthz", region.url);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let is_registered = || {
        runtime.block_on(async {
            let answer = reqwest::get(&healthz).await.ok()?.json::<Value>().await.ok()?;
            answer["central"]["registered"].as_bool()
        })
    };
    eventually("the region registered with its central", Duration::from_secs(30), || is_registered() == Some(true));
}

/// The region `name` as `region list -o json` shows it.
fn listed(sandbox: &Sandbox, name: &str) -> Option<Value> {
    json(sandbox, &["region", "list"])["regions"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned()
}

fn status_of(sandbox: &Sandbox, name: &str) -> Option<String> {
    listed(sandbox, name).and_then(|r| r["status"].as_str().map(str::to_owned))
}

fn run_container(sandbox: &Sandbox, region: &Running, name: &str) -> Value {
    json(sandbox, &["--url", &region.url, "container", "run", "--name", name, "--image", "any/image:1", "--wait"])
}

/// A fresh token of the central's admin, and clients with it for the central and `region`.
fn second_login(runtime: &tokio::runtime::Runtime, central: &Running, region: &Running) -> (Client, Client) {
    let login = TokenCreate { user: "admin".into(), password: ADMIN_PASSWORD.into(), project: Some("admin".into()), expires_in: None };
    let token = runtime.block_on(Client::new(&central.url).unwrap().create_token(&login)).unwrap().token.unwrap();
    (Client::new(&central.url).unwrap().with_token(token.clone()), Client::new(&region.url).unwrap().with_token(token))
}

#[test]
fn one_login_works_in_every_region_and_identity_stays_at_the_central() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path()));
    let central = start_central(&sandbox, &[]);
    log_in_as_admin(&sandbox, &central);

    // The central runs no hosts.
    let refused = sandbox.run(&["host", "join-token"], &[]).fails_with(1);
    assert!(refused.contains("central") && refused.contains("no hosts"), "{refused}");

    // A region's pool may not overlap the central's global pool: refused, naming both.
    let overlapping = RegionServer::new("overlap", "10.200.64.0/18", None);
    let mut overlap = overlapping.start(&sandbox, &central, Some(&region_join_token(&sandbox)));
    eventually("the overlapping region is refused", Duration::from_secs(20), || {
        overlap.stderr().contains("10.200.64.0/18") && overlap.stderr().contains("10.200.0.0/16")
    });
    assert_eq!(listed(&sandbox, "overlap"), None, "a refused region is not registered");
    overlap.terminate();

    let east = RegionServer::new("east", "10.150.0.0/16", None);
    let west = RegionServer::new("west", "10.160.0.0/16", postgres);
    let east_run = east.start(&sandbox, &central, Some(&region_join_token(&sandbox)));
    let west_run = west.start(&sandbox, &central, Some(&region_join_token(&sandbox)));
    registered(&east_run);
    registered(&west_run);
    let _east_host = host_in(&sandbox, &east_run, "east-sim");
    let _west_host = host_in(&sandbox, &west_run, "west-sim");

    // One login at the central runs a container in each region.
    let web_east = run_container(&sandbox, &east_run, "web-east");
    let web_west = run_container(&sandbox, &west_run, "web-west");
    assert_eq!((web_east["status"].as_str(), web_west["status"].as_str()), (Some("RUNNING"), Some("RUNNING")));
    eventually("both regions UP with one host and one container each", Duration::from_secs(20), || {
        ["east", "west"]
            .iter()
            .all(|name| listed(&sandbox, name).is_some_and(|r| r["status"] == "UP" && r["host_count"] == 1 && r["container_count"] == 1))
    });
    let east_listed = listed(&sandbox, "east").unwrap();
    assert_eq!(east_listed["api_url"].as_str(), Some(format!("http://{}", east.listen).as_str()), "{east_listed}");
    let table = sandbox.run(&["region", "list"], &[]).ok();
    assert!(table.contains("STATUS") && table.lines().filter(|l| l.contains(" UP ")).count() == 2, "{table}");
    let shown = json(&sandbox, &["region", "show", "west"]);
    assert_eq!(shown["name"], "west", "{shown}");

    // Identity writes at a region are refused, naming the central.
    let create = sandbox.run(&["--url", &east_run.url, "project", "create", "elsewhere"], &[]).fails_with(1);
    assert!(create.contains(&central.url) && create.contains("421"), "{create}");
    let login = sandbox.run(&["login", "--url", &east_run.url, "--user", "admin"], &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]).fails_with(1);
    assert!(login.contains(&central.url), "{login}");
    let projects = json(&sandbox, &["--url", &east_run.url, "project", "list"]);
    assert_eq!(projects["projects"][0]["name"], "admin", "the region keeps the central's project: {projects}");

    // A token revoked at the central stops working at the region within the cache TTL.
    let (at_central, at_east) = second_login(&runtime, &central, &east_run);
    runtime.block_on(at_east.current_token()).unwrap();
    runtime.block_on(at_central.revoke_token()).unwrap();
    let took = eventually("the revoked token refused at the region", Duration::from_secs(10), || {
        runtime.block_on(at_east.current_token()).is_err_and(|e| e.status() == Some(401))
    });
    assert!(took <= Duration::from_secs(4), "within the TTL of {TOKEN_TTL} s (took {took:?})");

    // Restarted without its join token, a region comes back with the credential it kept.
    drop(east_run);
    let east_again = east.start(&sandbox, &central, None);
    registered(&east_again);
    let containers = json(&sandbox, &["--url", &east_again.url, "container", "list"]);
    assert_eq!(containers["containers"][0]["name"], "web-east", "{containers}");
    eventually("east registered again", Duration::from_secs(20), || east_again.stderr().contains("registered with the central"));
    assert_eq!(status_of(&sandbox, "east").as_deref(), Some("UP"));
    assert_eq!(json(&sandbox, &["region", "list"])["regions"].as_array().unwrap().len(), 2, "the same region, not a new one");

    // A region join token lives one minute to 30 days; a deleted region's credential stops working.
    let short = sandbox.run(&["region", "join-token", "--ttl", "10"], &[]).fails_with(1);
    assert!(short.contains("ttl_seconds") && short.contains("10"), "{short}");
    sandbox.run(&["region", "delete", "west"], &[]).ok();
    assert_eq!(listed(&sandbox, "west"), None);
    eventually("west told it is no longer known", Duration::from_secs(20), || {
        west_run.stderr().contains("no longer knows this region's credential")
    });
}

#[test]
fn a_region_outlives_its_central_and_a_silent_region_goes_down() {
    let sandbox = Sandbox::new();
    let central = start_central(&sandbox, &[]);
    log_in_as_admin(&sandbox, &central);
    let south = RegionServer::new("south", "10.170.0.0/16", None);
    let mut south_run = south.start(&sandbox, &central, Some(&region_join_token(&sandbox)));
    registered(&south_run);
    let _host = host_in(&sandbox, &south_run, "south-sim");
    run_container(&sandbox, &south_run, "before");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let healthz = format!("{}/healthz", south_run.url);
    let health = || -> Value { runtime.block_on(async { reqwest::get(&healthz).await.unwrap().json().await.unwrap() }) };

    // The central runs no hosts: an agent's join there is refused, saying so.
    let join = flotilla_api::agent::AgentJoin {
        join_token: Some("flt_any".into()),
        credential: None,
        name: "lost".into(),
        zone: String::new(),
        pool: String::new(),
        labels: Default::default(),
        runtime: "sim".into(),
        advertise: "https://127.0.0.1:1".into(),
        capacity: flotilla_api::Capacity { cpus: 1.0, memory_mib: 512, disk_mib: 0 },
        certificate: String::new(),
        tunnel_address: None,
        agent_version: String::new(),
    };
    let refused = runtime.block_on(async {
        let answer = reqwest::Client::new().post(format!("{}/v1/agent/join", central.url)).json(&join).send().await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    });
    assert!(refused.0 == 421 && refused.1.contains("runs no hosts"), "{refused:?}");
    assert_eq!(health()["central"]["reachable"], true, "{}", health());

    // The central stops answering: the region keeps creating with the token it validated.
    let pid = central.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_secs(3)); // past the token cache TTL
    let during = run_container(&sandbox, &south_run, "during");
    assert_eq!(during["status"], "RUNNING", "{during}");
    eventually("/healthz says the central is unreachable", Duration::from_secs(30), || health()["central"]["reachable"] == false);
    let detail = health();
    assert_eq!(detail["central"]["url"].as_str(), Some(central.url.as_str()), "{detail}");
    assert!(detail["central"]["since"].is_string(), "{detail}");
    run_container(&sandbox, &south_run, "still");
    assert_eq!(south_run.stderr().matches("central unreachable").count(), 1, "logged once per outage: {}", south_run.stderr());
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    eventually("the central reachable again", Duration::from_secs(30), || health()["central"]["reachable"] == true);

    // A killed region goes DOWN after the grace period.
    eventually("south UP with its containers", Duration::from_secs(20), || {
        listed(&sandbox, "south").is_some_and(|r| r["status"] == "UP" && r["container_count"] == 3)
    });
    south_run.child.kill().unwrap();
    south_run.child.wait().unwrap();
    let took = eventually("south DOWN", Duration::from_secs(15), || status_of(&sandbox, "south").as_deref() == Some("DOWN"));
    assert!(took >= Duration::from_secs(1), "not before the grace period (took {took:?})");
}

#[test]
fn regions_trust_a_central_over_tls_only_with_its_ca() {
    let sandbox = Sandbox::new();
    let pki = make_pki(&sandbox);
    let central = start_central(&sandbox, &["--tls-cert", &pki.cert, "--tls-key", &pki.key]);
    assert!(central.url.starts_with("https://"), "{}", central.url);
    let login = ["login", "--url", &central.url, "--user", "admin", "--project", "admin", "--ca-cert", &pki.ca];
    sandbox.run(&login, &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]).ok();

    // Without the CA the central's certificate is not trusted: no registration.
    let stranger = RegionServer::new("stranger", "10.180.0.0/16", None);
    let mut refused = stranger.start(&sandbox, &central, Some(&region_join_token(&sandbox)));
    eventually("the untrusted central is reported", Duration::from_secs(20), || {
        refused.stderr().contains("cannot register with the central")
    });
    refused.terminate();
    assert_eq!(listed(&sandbox, "stranger"), None);

    let north = RegionServer::new("north", "10.190.0.0/16", None);
    let north_run = north.start_with(&sandbox, &central, Some(&region_join_token(&sandbox)), &["--ca-cert", &pki.ca]);
    registered(&north_run);
    eventually("north UP over TLS", Duration::from_secs(20), || status_of(&sandbox, "north").as_deref() == Some("UP"));
    let whoami = json(&sandbox, &["--url", &north_run.url, "project", "list"]);
    assert_eq!(whoami["projects"][0]["name"], "admin", "the central vouched over TLS: {whoami}");
}
