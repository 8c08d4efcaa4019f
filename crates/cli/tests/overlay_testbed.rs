//! The overlay on real hosts: a testbed of 3 hosts (network namespaces, each with its own Docker
//! Engine and a real `flotilla agent --tunnel-address` on the underlay), one real region server.
//! Containers of one network on two hosts reach each other by IP over VXLAN (HTTP from inside a
//! container); a container moved to another host is reachable at its new place and the hosts'
//! forwarding entries follow it; after everything is deleted no bridge, VXLAN device, forwarding
//! or neighbour entry, or Docker network of Flotilla's remains on any host. Needs root and
//! Docker's binaries (scripts/test.sh installs them).

mod support;

use flotilla_testkit::testbed::{AgentArgs, AgentProcess, Testbed, TestbedSpec};
use std::time::Duration;
use support::overlay::{docker_networks, eventually, ip_of, is_clean, on, overlay_links, reaches};
use support::{ADMIN_PASSWORD, BIN, Sandbox, log_in_as_admin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_one_network_reach_each_other_across_hosts_and_leave_nothing_behind() {
    let bed = Testbed::start(TestbedSpec { hosts: 3, prefix: "ovl", underlay: "198.51.100.0/24" }).await.expect("the testbed starts");
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
    let [h0, h1, h2] = [0, 1, 2].map(|i| bed.host(i));
    let shown = sandbox.run(&["host", "show", h0.name(), "-o", "json"], &[]).json();
    assert_eq!(shown["tunnel_address"], h0.underlay_ip().to_string(), "{shown}");

    sandbox.run(&["network", "create", "web", "--subnet", "10.91.0.0/24"], &[]).ok();
    let run = |name: &str, host: &str| {
        let args = ["container", "run", "--name", name, "--image", &tag, "--network", "web", "--host-node", host, "--wait", "-o", "json"];
        let c = sandbox.run(&args, &[]).json();
        assert_eq!((c["status"].as_str(), c["host"].as_str()), (Some("RUNNING"), Some(host)), "{c}");
        c
    };
    let a = run("a", h0.name());
    let b = run("b", h1.name());
    let (ip_a, ip_b) = (ip_of(&a), ip_of(&b));

    // Across hosts, both ways, over the tunnel.
    assert!(!reaches(&sandbox, &[], "a", &ip_b).await.is_empty());
    assert!(!reaches(&sandbox, &[], "b", &ip_a).await.is_empty());
    let vxlan = overlay_links(h0).await.into_iter().find(|l| l.starts_with("fltx-")).expect("a VXLAN device on host 0");
    let fdb = on(h0, &["bridge", "fdb", "show", "dev", &vxlan]).await;
    let mac_b = b["addresses"][0]["mac_address"].as_str().unwrap();
    assert!(fdb.contains(&format!("{mac_b} dst {}", h1.underlay_ip())), "b's MAC goes to host 1: {fdb}");
    assert!(!fdb.contains("00:00:00:00:00:00"), "no flooding entry: {fdb}");
    let neighbours = on(h0, &["ip", "neigh", "show", "dev", &vxlan]).await;
    assert!(neighbours.contains(&format!("{ip_b} lladdr {mac_b}")), "{neighbours}");
    let details = on(h0, &["ip", "-d", "link", "show", &vxlan]).await;
    assert!(
        details.contains("mtu 1450") && details.contains("dstport 4789") && details.contains("nolearning") && details.contains("proxy"),
        "{details}"
    );
    assert!(overlay_links(h2).await.is_empty(), "host 2 carries no container of web: no overlay there");

    // b moves to host 2 (host 0 is disabled): reachable at its new address, host 0's entries follow.
    sandbox.run(&["host", "disable", h0.name()], &[]).ok();
    sandbox.run(&["host", "drain", h1.name(), "--migrate", "--wait"], &[]).ok();
    let moved = sandbox.run(&["container", "show", "b", "-o", "json"], &[]).json();
    assert_eq!(moved["host"], h2.name(), "{moved}");
    let ip_moved = ip_of(&moved);
    assert!(!reaches(&sandbox, &[], "a", &ip_moved).await.is_empty());
    assert!(!reaches(&sandbox, &[], "b", &ip_a).await.is_empty());
    let mac_moved = moved["addresses"][0]["mac_address"].as_str().unwrap().to_owned();
    eventually("host 0 forwards b's new MAC to host 2 and forgets the old one", || async {
        let fdb = on(h0, &["bridge", "fdb", "show", "dev", &vxlan]).await;
        fdb.contains(&format!("{mac_moved} dst {}", h2.underlay_ip())) && !fdb.contains(&format!("{mac_b} dst"))
    })
    .await;
    eventually("host 1 keeps no overlay once b left", || async {
        overlay_links(h1).await.is_empty() && docker_networks(h1).await.is_empty()
    })
    .await;

    // Everything deleted: nothing of Flotilla's left on any host.
    for name in ["a", "b"] {
        sandbox.run(&["container", "delete", name, "--stop", "--wait"], &[]).ok();
    }
    sandbox.run(&["network", "delete", "web"], &[]).ok();
    for host in bed.hosts() {
        eventually(&format!("{} is clean", host.name()), || is_clean(host)).await;
    }
    for agent in agents {
        assert!(agent.stop().await.expect("the agent stops").success());
    }
    server.stop();
    bed.stop().await.expect("the testbed stops cleanly");
}
