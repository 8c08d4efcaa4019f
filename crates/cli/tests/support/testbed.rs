//! A region on a testbed for the overlay's end-to-end tests: 3 hosts (network namespaces, each
//! with its own Docker Engine and a real `flotilla agent --tunnel-address` on the underlay), one
//! real region server on the root end of the underlay, the workload image loaded and uploaded;
//! and what those tests look at on the hosts (links, entries, Docker networks, iptables) and
//! inside containers (HTTP, names).

use super::regions::region_at;
use super::{ADMIN_PASSWORD, BIN, Running, Sandbox, log_in_as_admin, start_named_server};
use flotilla_testkit::testbed::{AgentArgs, AgentProcess, Host, Testbed, TestbedSpec};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long the overlay may take to follow a change (a long-poll round and a pass; across regions
/// a report to the central and a watch round too).
pub const CONVERGE: Duration = Duration::from_secs(60);

/// The testbed, the server, the agents and the CLI's sandbox (logged in as admin).
pub struct OverlayRegion {
    pub bed: Testbed,
    pub sandbox: Sandbox,
    pub server: Running,
    pub agents: Vec<AgentProcess>,
    /// The workload image's tag, in every engine and uploaded to the region.
    pub tag: String,
}

impl OverlayRegion {
    /// Starts a testbed of 3 hosts named after `prefix`, the server, and one agent per host.
    pub async fn start(prefix: &'static str) -> Self {
        let bed = Testbed::start(TestbedSpec { hosts: 3, prefix, underlay: "198.51.100.0/24" }).await.expect("the testbed starts");
        let sandbox = Sandbox::new();
        let tag = format!("flotilla-testbed/workload:{}", bed.run_name());
        let archive = sandbox.path("workload.tar");
        sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
        bed.load_image(&archive).await.expect("the image loads");

        let data = sandbox.path("data");
        let listen = format!("{}:0", bed.server_ip());
        let args = ["server", "--listen", &listen, "--data-dir", data.to_str().unwrap(), "--bootstrap-password", ADMIN_PASSWORD];
        let server = sandbox.spawn("server", &args, &[], "listening on ");
        log_in_as_admin(&sandbox, &server);
        sandbox.run(&["image", "upload", archive.to_str().unwrap()], &[]).ok();
        let mut agents: Vec<AgentProcess> = Vec::new();
        for (i, host) in bed.hosts().iter().enumerate() {
            let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
            let extra = ["--tunnel-address", &host.underlay_ip().to_string(), "--cpus", "2"].map(String::from).to_vec();
            let args = AgentArgs { binary: BIN.into(), server_url: server.url.clone(), join_token: token, extra_args: extra };
            let mut agent = bed.spawn_agent(i, args).expect("the agent starts");
            agent.wait_for("joined", Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}; {}", agent.log()));
            agents.push(agent);
        }
        Self { bed, sandbox, server, agents, tag }
    }

    /// Host `i`.
    pub fn host(&self, i: usize) -> &Host {
        self.bed.host(i)
    }

    /// Stops the agents (each must exit cleanly), the server and the testbed.
    pub async fn stop(self) {
        for agent in self.agents {
            assert!(agent.stop().await.expect("the agent stops").success());
        }
        self.server.stop();
        self.bed.stop().await.expect("the testbed stops cleanly");
    }
}

/// What `command` prints on `host` (in its namespace).
pub async fn on(host: &Host, command: &[&str]) -> String {
    let out = host.exec(command).await.unwrap_or_else(|e| panic!("{command:?} on {}: {e}", host.name()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Flotilla's links on `host`: bridges `flt-XXXXXXXX` and VXLAN devices `fltx-N`.
pub async fn overlay_links(host: &Host) -> Vec<String> {
    on(host, &["ip", "-o", "link", "show"])
        .await
        .lines()
        .filter_map(|l| l.split(": ").nth(1).map(|n| n.split('@').next().unwrap_or(n).to_owned()))
        .filter(|name| name.starts_with("flt"))
        .collect()
}

/// Flotilla's Docker networks on `host`'s engine.
pub async fn docker_networks(host: &Host) -> Vec<String> {
    let filters = std::collections::HashMap::from([("label".to_owned(), vec!["flotilla.network".to_owned()])]);
    let options = bollard::query_parameters::ListNetworksOptions { filters: Some(filters) };
    host.docker().list_networks(Some(options)).await.unwrap().into_iter().filter_map(|n| n.name).collect()
}

/// Whether nothing of Flotilla's overlay is left on `host`: no link, no Docker network, no
/// forwarding or neighbour entry on a VXLAN device of ours.
pub async fn no_overlay_left(host: &Host) -> bool {
    let fdb = on(host, &["bridge", "fdb", "show"]).await;
    let neighbours = on(host, &["ip", "neigh", "show"]).await;
    overlay_links(host).await.is_empty()
        && docker_networks(host).await.is_empty()
        && !fdb.contains("fltx-")
        && !neighbours.contains("fltx-")
}

/// The iptables rules and chains of Flotilla's on `host` (`iptables-save` lines naming it).
pub async fn flotilla_rules(host: &Host) -> Vec<String> {
    on(host, &["iptables-save"]).await.lines().filter(|l| l.to_ascii_lowercase().contains("flotilla")).map(str::to_owned).collect()
}

/// Polls `check` until it holds; panics naming `what` after [`CONVERGE`].
pub async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + CONVERGE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `container exec FROM -- /flotilla workload fetch http://TARGET:8080/` (TARGET an address or a
/// name): the answer's body, or why not.
pub fn fetch(sandbox: &Sandbox, from: &str, target: &str) -> Result<String, String> {
    fetch_in(sandbox, &[], from, target)
}

/// [`fetch`] with the CLI's `cli` flags first (e.g. `--region NAME`).
pub fn fetch_in(sandbox: &Sandbox, cli: &[&str], from: &str, target: &str) -> Result<String, String> {
    let url = format!("http://{target}:8080/");
    let args = [cli, &["container", "exec", from, "--", "/flotilla", "workload", "fetch", &url, "--timeout", "3"]].concat();
    let out = sandbox.run(&args, &[]);
    if out.code == Some(0) { Ok(out.stdout) } else { Err(format!("{out:?}")) }
}

/// Retries [`fetch`] for a while (entries reach the other host through its long poll).
pub async fn reaches(sandbox: &Sandbox, from: &str, target: &str) -> String {
    reaches_in(sandbox, &[], from, target).await
}

/// [`reaches`] with the CLI's `cli` flags first (e.g. `--region NAME`).
pub async fn reaches_in(sandbox: &Sandbox, cli: &[&str], from: &str, target: &str) -> String {
    let deadline = Instant::now() + CONVERGE;
    loop {
        match fetch_in(sandbox, cli, from, target) {
            Ok(body) => return body,
            Err(why) => assert!(Instant::now() < deadline, "{from} never reached {target}: {why}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The first address of a container as the CLI shows it.
pub fn ip_of(container: &Value) -> String {
    container["addresses"][0]["ip_address"].as_str().unwrap_or_else(|| panic!("no address: {container}")).to_owned()
}

/// Retries until `from` (a container of the region `cli` names) no longer reaches `target` (the
/// path is gone).
pub async fn cut_off(sandbox: &Sandbox, cli: &[&str], from: &str, target: &str) {
    eventually(&format!("{from} no longer reaches {target}"), || {
        let reached = fetch_in(sandbox, cli, from, target).is_ok();
        async move { !reached }
    })
    .await;
}

/// The networks `host` carries: its overlay bridges, sorted, when each has its VXLAN device
/// (`None` while some has not).
pub async fn carried(host: &Host) -> Option<Vec<String>> {
    let links = overlay_links(host).await;
    let mut bridges: Vec<String> = links.iter().filter(|l| !l.starts_with("fltx-")).cloned().collect();
    bridges.sort();
    (links.len() == 2 * bridges.len()).then_some(bridges)
}

/// `flotilla agent` on host `index` of `bed`, joined to region `name` (served at `region`), with
/// its tunnel address.
pub async fn join_region(bed: &Testbed, sandbox: &Sandbox, index: usize, name: &str, region: &Running) -> AgentProcess {
    let host = bed.host(index);
    let token = sandbox.run(&["--region", name, "host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let extra = ["--tunnel-address", &host.underlay_ip().to_string(), "--cpus", "2"].map(String::from).to_vec();
    let args = AgentArgs { binary: BIN.into(), server_url: region.url.clone(), join_token: token, extra_args: extra };
    let mut agent = bed.spawn_agent(index, args).expect("the agent starts");
    agent.wait_for("joined", Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}; {}", agent.log()));
    agent
}

/// The bridge of the network named `network` (shown by the server logged in to): `flt-` and the
/// last 8 hex digits of its id.
pub fn bridge_of(sandbox: &Sandbox, network: &str) -> String {
    let shown = sandbox.run(&["network", "show", network, "-o", "json"], &[]).json();
    let id = shown["id"].as_str().unwrap_or_else(|| panic!("no id: {shown}")).replace('-', "");
    format!("flt-{}", &id[id.len() - 8..])
}

/// A testbed with a central (global pool 10.240.0.0/16) and two regions on the testbed's server
/// address, `ra` and `rb`, the workload image loaded into every engine and uploaded to both; no
/// agent yet ([`join_region`]).
pub struct TwoRegions {
    pub bed: Testbed,
    pub sandbox: Sandbox,
    pub central: Running,
    pub regions: [Running; 2],
    /// The workload image's tag.
    pub tag: String,
}

/// The CLI flags sending a command to region `ra` and to `rb`.
pub const IN_A: [&str; 2] = ["--region", "ra"];
pub const IN_B: [&str; 2] = ["--region", "rb"];

impl TwoRegions {
    /// Starts a testbed of `hosts` hosts named after `prefix`, the central and both regions.
    pub async fn start(hosts: usize, prefix: &'static str) -> Self {
        let bed = Testbed::start(TestbedSpec { hosts, prefix, underlay: "198.51.100.0/24" }).await.expect("the testbed starts");
        let sandbox = Sandbox::new();
        let tag = format!("flotilla-testbed/workload:{}", bed.run_name());
        let archive = sandbox.path("workload.tar");
        sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
        bed.load_image(&archive).await.expect("the image loads");
        let central = start_named_server(&sandbox, "central", None, &["--central", "--global-pool", "10.240.0.0/16"]);
        log_in_as_admin(&sandbox, &central);
        let regions = [("ra", "10.81.0.0/16"), ("rb", "10.82.0.0/16")]
            .map(|(name, pool)| region_at(&sandbox, &central.url, name, pool, None, &[], bed.server_ip()));
        for target in [IN_A, IN_B] {
            sandbox.run(&[&target[..], &["image", "upload", archive.to_str().unwrap()]].concat(), &[]).ok();
        }
        Self { bed, sandbox, central, regions, tag }
    }
}
