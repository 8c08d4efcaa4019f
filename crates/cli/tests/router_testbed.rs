//! Routers and names on real hosts: a testbed of 3 hosts (network namespaces, each with its own
//! Docker Engine and a real `flotilla agent --tunnel-address`), one real region server. The two
//! members of a cluster on network `a`, on two hosts, reach each other by IP and by name (the
//! cluster's name answers both members' addresses, from inside either, and from a container of
//! the network on the third host); a container on network `b` on the third host does not reach
//! them until a router joins `a` and `b` (each host then carries the other network's bridge and
//! routes locally), nor after the interface is removed
//! (the carried bridges and the rules go); a network no router joins stays isolated; after
//! everything is deleted no bridge, VXLAN device, forwarding or neighbour entry, iptables rule of
//! Flotilla's, or Docker network remains on any host. Needs root and Docker's binaries
//! (scripts/test.sh installs them).

mod support;

use flotilla_testkit::testbed::Host;
use std::time::{Duration, Instant};
use support::Sandbox;
use support::testbed::{
    CONVERGE, OverlayRegion, bridge_of, carried, cut_off, eventually, fetch, flotilla_rules, ip_of, no_overlay_left, on, reaches,
};

/// Writes `text` to the sandbox file `name`; answers its path.
fn file(sandbox: &Sandbox, name: &str, text: &str) -> String {
    let path = sandbox.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `workload resolve NAME` inside container `from`: the addresses printed, sorted.
fn resolve(sandbox: &Sandbox, from: &str, name: &str) -> Result<Vec<String>, String> {
    let out = sandbox.run(&["container", "exec", from, "--", "/flotilla", "workload", "resolve", name, "--timeout", "3"], &[]);
    if out.code != Some(0) {
        return Err(format!("{out:?}"));
    }
    let mut addresses: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    addresses.sort();
    Ok(addresses)
}

/// Retries [`resolve`] until it answers `want` (names reach other hosts through their long poll).
async fn resolves(sandbox: &Sandbox, from: &str, name: &str, want: &[String]) {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let got = resolve(sandbox, from, name);
        if got.as_deref() == Ok(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never resolved in {from} to {want:?}: {got:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether `fdb` (`bridge fdb show` of a bridge) sends `mac` through the tunnel to `host`.
fn forwards(fdb: &str, mac: &str, host: &str) -> bool {
    fdb.lines().any(|l| l.starts_with(mac) && l.contains(" dev fltx-") && l.contains(&format!(" dst {host} ")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_joins_networks_across_hosts_and_names_resolve_everywhere() {
    let region = OverlayRegion::start("rtr").await;
    let (sandbox, tag) = (&region.sandbox, &region.tag);
    let [h0, h1, h2] = [0, 1, 2].map(|i| region.host(i));
    sandbox.run(&["network", "create", "a", "--subnet", "10.92.0.0/24"], &[]).ok();
    sandbox.run(&["network", "create", "b", "--subnet", "10.93.0.0/24"], &[]).ok();
    let (bridge_a, bridge_b) = (bridge_of(sandbox, "a"), bridge_of(sandbox, "b"));

    // A cluster of two on network a, one member per host (hard anti-affinity), host 2 kept free.
    let profile =
        format!("type: container.docker\nversion: \"1.0\"\nproperties:\n  image: {tag}\n  memory: 64\n  networks:\n    - network: a\n");
    sandbox.run(&["profile", "create", "web", "--spec-file", &file(sandbox, "web.yaml", &profile)], &[]).ok();
    let spread = "type: affinity\nversion: '1.0'\nproperties:\n  mode: anti-affinity\n  soft: false\n  scope: host\n";
    sandbox.run(&["policy", "create", "spread", "--spec-file", &file(sandbox, "spread.yaml", spread)], &[]).ok();
    sandbox.run(&["host", "disable", h2.name()], &[]).ok();
    sandbox.run(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "0", "--wait"], &[]).ok();
    sandbox.run(&["cluster", "policy-attach", "web", "spread", "--wait"], &[]).ok();
    sandbox.run(&["cluster", "scale-out", "web", "--count", "2", "--wait"], &[]).ok();
    sandbox.run(&["host", "enable", h2.name()], &[]).ok();
    let member = |name: &str| {
        let c = sandbox.run(&["container", "show", name, "-o", "json"], &[]).json();
        assert_eq!(c["status"], "RUNNING", "{c}");
        c
    };
    let (m1, m2) = (member("web-1"), member("web-2"));
    let mut hosts = [m1["host"].as_str().unwrap(), m2["host"].as_str().unwrap()];
    hosts.sort_unstable();
    assert_eq!(hosts, [h0.name(), h1.name()], "one member on each of hosts 0 and 1");
    let (ip1, ip2) = (ip_of(&m1), ip_of(&m2));

    // Members reach each other by address, and by name: a container's name and the cluster's,
    // which answers every running member's address, in either member, whatever its host.
    assert!(!reaches(sandbox, "web-1", &ip2).await.is_empty());
    assert!(!reaches(sandbox, "web-2", &ip1).await.is_empty());
    let mut both = vec![ip1.clone(), ip2.clone()];
    both.sort();
    for member in ["web-1", "web-2"] {
        resolves(sandbox, member, "web", &both).await;
    }
    resolves(sandbox, "web-1", "web-2", std::slice::from_ref(&ip2)).await;
    resolves(sandbox, "web-2", "web-1", std::slice::from_ref(&ip1)).await;
    assert!(!reaches(sandbox, "web-1", "web-2").await.is_empty(), "by the other member's name");
    for member in ["web-1", "web-2"] {
        assert!(!reaches(sandbox, member, "web").await.is_empty(), "by the cluster's name");
    }

    let run = |name: &str, network: &str, host: &Host| {
        let args =
            ["container", "run", "--name", name, "--image", tag, "--network", network, "--host-node", host.name(), "--wait", "-o", "json"];
        let c = sandbox.run(&args, &[]).json();
        assert_eq!((c["status"].as_str(), c["host"].as_str()), (Some("RUNNING"), Some(host.name())), "{c}");
        c
    };
    // A container of network a on the third host, no member there: the names answer it too.
    run("watcher", "a", h2);
    resolves(sandbox, "watcher", "web", &both).await;
    resolves(sandbox, "watcher", "web-1", std::slice::from_ref(&ip1)).await;
    assert!(!reaches(sandbox, "watcher", "web").await.is_empty(), "by the cluster's name from a third host");
    sandbox.run(&["container", "delete", "watcher", "--stop", "--wait"], &[]).ok();
    eventually("host 2 carries nothing once the watcher left", || async { carried(h2).await == Some(vec![]) }).await;

    // A container on network b on host 2: isolated from network a.
    let outsider = run("outsider", "b", h2);
    let ip_out = ip_of(&outsider);
    for ip in [&ip1, &ip2] {
        assert!(fetch(sandbox, "outsider", ip).is_err(), "network b reaches {ip} of network a without a router");
    }
    assert!(fetch(sandbox, "web-1", &ip_out).is_err(), "network a reaches network b without a router");
    assert_eq!(carried(h2).await, Some(vec![bridge_b.clone()]), "host 2 carries only network b");
    assert!(flotilla_rules(h2).await.is_empty(), "no routing rules without a router");

    // A router joins a and b: each host carries the other network too, and traffic flows both ways.
    sandbox.run(&["router", "create", "edge"], &[]).ok();
    sandbox.run(&["router", "add-interface", "edge", "a"], &[]).ok();
    sandbox.run(&["router", "add-interface", "edge", "b"], &[]).ok();
    for ip in [&ip1, &ip2] {
        assert!(!reaches(sandbox, "outsider", ip).await.is_empty());
    }
    for member in ["web-1", "web-2"] {
        assert!(!reaches(sandbox, member, &ip_out).await.is_empty());
    }
    let mut both_bridges = vec![bridge_a.clone(), bridge_b.clone()];
    both_bridges.sort();
    for host in [h0, h1, h2] {
        assert_eq!(carried(host).await, Some(both_bridges.clone()), "{} carries both networks", host.name());
        assert!(!flotilla_rules(host).await.is_empty(), "{} routes between them", host.name());
    }

    // A network no router joins stays isolated, also on a host that carries the joined ones.
    sandbox.run(&["network", "create", "c", "--subnet", "10.94.0.0/24"], &[]).ok();
    let member_on_h1 = if m1["host"] == h1.name() { "web-1" } else { "web-2" };
    let ip_stranger = ip_of(&run("stranger", "c", h1));
    assert!(!reaches(sandbox, "stranger", &ip_stranger).await.is_empty(), "the stranger serves");
    for (from, to) in [("outsider", &ip_stranger), (member_on_h1, &ip_stranger), ("stranger", &ip_out), ("stranger", &ip1)] {
        assert!(fetch(sandbox, from, to).is_err(), "{from} reaches {to} through a router that does not join network c");
    }
    assert_eq!(carried(h2).await, Some(both_bridges.clone()), "host 2 does not carry network c");
    sandbox.run(&["container", "delete", "stranger", "--stop", "--wait"], &[]).ok();
    // Host 2 reaches network a's members through its own bridge of a: forwarding entries for
    // them, to their hosts; host 0 forwards the outsider's MAC to host 2.
    let fdb = on(h2, &["bridge", "fdb", "show", "br", &bridge_a]).await;
    for m in [&m1, &m2] {
        let at = region.bed.hosts().iter().find(|h| h.name() == m["host"]).unwrap().underlay_ip();
        let mac = m["addresses"][0]["mac_address"].as_str().unwrap();
        assert!(forwards(&fdb, mac, &at.to_string()), "{mac} goes to {at}: {fdb}");
    }
    let mac_out = outsider["addresses"][0]["mac_address"].as_str().unwrap();
    let fdb = on(h0, &["bridge", "fdb", "show", "br", &bridge_b]).await;
    assert!(forwards(&fdb, mac_out, &h2.underlay_ip().to_string()), "{fdb}");

    // The interface goes: so do the path, the carried bridges and the rules.
    sandbox.run(&["router", "remove-interface", "edge", "b"], &[]).ok();
    cut_off(sandbox, &[], "outsider", &ip1).await;
    cut_off(sandbox, &[], "web-2", &ip_out).await;
    for (host, only) in [(h0, &bridge_a), (h1, &bridge_a), (h2, &bridge_b)] {
        eventually(&format!("{} carries only its own network again", host.name()), || async {
            carried(host).await == Some(vec![only.clone()]) && flotilla_rules(host).await.is_empty()
        })
        .await;
    }
    assert!(fetch(sandbox, "outsider", &ip2).is_err(), "no path after the interface went");
    assert!(!reaches(sandbox, "web-1", &ip2).await.is_empty(), "network a itself still spans hosts");

    // Everything deleted: nothing of Flotilla's left on any host.
    sandbox.run(&["router", "remove-interface", "edge", "a"], &[]).ok();
    sandbox.run(&["router", "delete", "edge"], &[]).ok();
    sandbox.run(&["cluster", "delete", "web", "--wait"], &[]).ok();
    sandbox.run(&["container", "delete", "outsider", "--stop", "--wait"], &[]).ok();
    sandbox.run(&["network", "delete", "a", "b", "c"], &[]).ok();
    for host in region.bed.hosts() {
        eventually(&format!("{} is clean", host.name()), || async { no_overlay_left(host).await && flotilla_rules(host).await.is_empty() })
            .await;
    }
    region.stop().await;
}
