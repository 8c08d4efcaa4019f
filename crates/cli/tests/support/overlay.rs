//! What the overlay's testbed tests look at on a host (its links, forwarding and neighbour
//! entries, Docker networks) and how they check that containers reach each other (HTTP from
//! inside a container, retried while the entries reach the hosts).

use super::Sandbox;
use flotilla_testkit::testbed::Host;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long the overlay may take to follow a change (a long-poll round and a pass; across regions
/// a report to the central and a watch round too).
pub const CONVERGE: Duration = Duration::from_secs(60);

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

/// Whether nothing of Flotilla's overlay is left on `host`: no bridge or VXLAN device, no
/// forwarding or neighbour entry on one, no Docker network.
pub async fn is_clean(host: &Host) -> bool {
    let fdb = on(host, &["bridge", "fdb", "show"]).await;
    let neighbours = on(host, &["ip", "neigh", "show"]).await;
    overlay_links(host).await.is_empty()
        && docker_networks(host).await.is_empty()
        && !fdb.contains("fltx-")
        && !neighbours.contains("fltx-")
}

/// Polls `check` until it holds; panics naming `what` after [`CONVERGE`].
pub async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + CONVERGE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `flotilla TARGET container exec FROM -- /flotilla workload fetch http://IP:8080/` (`target`: e.g.
/// `--region NAME`, or nothing): the answer's body, or why not.
pub fn fetch(sandbox: &Sandbox, target: &[&str], from: &str, ip: &str) -> Result<String, String> {
    let url = format!("http://{ip}:8080/");
    let args = [target, &["container", "exec", from, "--", "/flotilla", "workload", "fetch", &url, "--timeout", "3"]].concat();
    let out = sandbox.run(&args, &[]);
    if out.code == Some(0) { Ok(out.stdout) } else { Err(format!("{out:?}")) }
}

/// Retries [`fetch`] for a while (entries reach the other host through its long poll).
pub async fn reaches(sandbox: &Sandbox, target: &[&str], from: &str, ip: &str) -> String {
    let deadline = Instant::now() + CONVERGE;
    loop {
        match fetch(sandbox, target, from, ip) {
            Ok(body) => return body,
            Err(why) => assert!(Instant::now() < deadline, "{from} never reached {ip}: {why}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A container's first address, as `container show -o json` answers it.
pub fn ip_of(container: &Value) -> String {
    container["addresses"][0]["ip_address"].as_str().unwrap_or_else(|| panic!("no address: {container}")).to_owned()
}
