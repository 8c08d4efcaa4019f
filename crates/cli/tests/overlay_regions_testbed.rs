//! A global network on the overlay across regions, on real hosts: a testbed of 3 hosts (network
//! namespaces, each with its own Docker Engine and a real `flotilla agent --tunnel-address`), a
//! central and two regions (real `flotilla server` processes; the regions listen on the testbed's
//! server address, on two ports): hosts 0 and 1 in region A, host 2 in region B. Containers of one
//! global network in the two regions reach each other by IP over VXLAN (HTTP from inside a
//! container, both ways) and by name (each region's hosts answer the other's containers' names),
//! under the central's VNI on every host, the forwarding and neighbour
//! entries of the other region's containers coming from the central (and following them: a
//! container deleted in one region leaves the other's hosts, one moved is reached at its new
//! place; with the central stopped the regions
//! keep what they learned and traffic flows); after everything is deleted
//! no bridge, VXLAN device, forwarding or neighbour entry, or Docker network of Flotilla's remains
//! on any host. Needs root and Docker's binaries (scripts/test.sh installs them).

mod support;

use flotilla_core::overlay::GLOBAL_VNIS;
use flotilla_testkit::testbed::Host;
use support::regions::cli_json;
use support::testbed::{IN_A, IN_B, TwoRegions, eventually, ip_of, join_region, no_overlay_left, on, reaches_in};

/// Whether `host`'s VXLAN device `vxlan` forwards `mac` to `to` and answers `ip` with it.
async fn has_entries(host: &Host, vxlan: &str, ip: &str, mac: &str, to: &Host) -> bool {
    let fdb = on(host, &["bridge", "fdb", "show", "dev", vxlan]).await;
    let neighbours = on(host, &["ip", "neigh", "show", "dev", vxlan]).await;
    fdb.contains(&format!("{mac} dst {}", to.underlay_ip())) && neighbours.contains(&format!("{ip} lladdr {mac}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_a_global_network_reach_each_other_across_regions_and_leave_nothing_behind() {
    let TwoRegions { bed, sandbox, central, regions: [region_a, region_b], tag } = TwoRegions::start(3, "ovr").await;
    let [in_a, in_b] = [IN_A, IN_B];
    let agents = vec![
        join_region(&bed, &sandbox, 0, "ra", &region_a).await,
        join_region(&bed, &sandbox, 1, "ra", &region_a).await,
        join_region(&bed, &sandbox, 2, "rb", &region_b).await,
    ];
    let [h0, h1, h2] = [0, 1, 2].map(|i| bed.host(i));

    // The global network, made at the central: its VNI is the central's, the same in both regions.
    let made = cli_json(&sandbox, &["network", "create", "g", "--global", "--subnet", "10.240.1.0/24"]);
    let vni = made["vni"].as_u64().unwrap_or_else(|| panic!("a VNI: {made}")) as u32;
    assert!(GLOBAL_VNIS.contains(vni), "the central's range: {made}");
    let run = |target: [&str; 2], name: &str, host: &Host| {
        let args = ["container", "run", "--name", name, "--image", &tag, "--network", "g", "--host-node", host.name(), "--wait"];
        let c = cli_json(&sandbox, &[&target[..], &args[..]].concat());
        assert_eq!((c["status"].as_str(), c["host"].as_str()), (Some("RUNNING"), Some(host.name())), "{c}");
        c
    };
    let a = run(in_a, "a", h0);
    let b = run(in_a, "b", h1);
    let c = run(in_b, "c", h2);
    for target in [in_a, in_b] {
        let copy = cli_json(&sandbox, &[&target[..], &["network", "show", "g"]].concat());
        assert_eq!(copy["vni"], vni, "each region's copy keeps the central's VNI: {copy}");
    }
    let (ip_a, ip_b, ip_c) = (ip_of(&a), ip_of(&b), ip_of(&c));

    // Across regions, both ways, over the tunnel; and within region A as before.
    assert!(!reaches_in(&sandbox, &in_b, "c", &ip_a).await.is_empty(), "B reaches A's host 0");
    assert!(!reaches_in(&sandbox, &in_b, "c", &ip_b).await.is_empty(), "B reaches A's host 1");
    assert!(!reaches_in(&sandbox, &in_a, "a", &ip_c).await.is_empty(), "A reaches B");
    assert!(!reaches_in(&sandbox, &in_a, "b", &ip_c).await.is_empty(), "A's other host reaches B");
    assert!(!reaches_in(&sandbox, &in_a, "a", &ip_b).await.is_empty(), "within A");
    // Names too: each region's hosts answer the other region's containers' names.
    assert!(!reaches_in(&sandbox, &in_b, "c", "a").await.is_empty(), "B reaches a by its name");
    assert!(!reaches_in(&sandbox, &in_a, "b", "c").await.is_empty(), "A reaches c by its name");

    // The entries name the other region's host; nothing floods.
    let vxlan = format!("fltx-{vni}");
    let mac = |c: &serde_json::Value| c["addresses"][0]["mac_address"].as_str().unwrap().to_owned();
    assert!(has_entries(h2, &vxlan, &ip_a, &mac(&a), h0).await, "host 2 (B) reaches a on host 0 (A)");
    assert!(has_entries(h0, &vxlan, &ip_c, &mac(&c), h2).await, "host 0 (A) reaches c on host 2 (B)");
    let fdb = on(h2, &["bridge", "fdb", "show", "dev", &vxlan]).await;
    assert!(!fdb.contains("00:00:00:00:00:00"), "no flooding entry: {fdb}");

    // b goes: region B's host forgets it (through the central).
    sandbox.run(&[&in_a[..], &["container", "delete", "b", "--stop", "--wait"]].concat(), &[]).ok();
    eventually("host 2 forgets b", || async {
        let fdb = on(h2, &["bridge", "fdb", "show", "dev", &vxlan]).await;
        // Forwarding entries name a destination; the bridge's own learned entries age out.
        !fdb.contains(&format!("{} dst", mac(&b))) && fdb.contains(&format!("{} dst", mac(&a)))
    })
    .await;

    // a moves to host 1 (host 0 drained): region B's host follows it there.
    sandbox.run(&[&in_a[..], &["host", "drain", h0.name(), "--migrate", "--wait"]].concat(), &[]).ok();
    let a = cli_json(&sandbox, &[&in_a[..], &["container", "show", "a"]].concat());
    assert_eq!(a["host"], h1.name(), "{a}");
    let ip_a = ip_of(&a);
    assert!(!reaches_in(&sandbox, &in_b, "c", &ip_a).await.is_empty(), "B reaches a at its new place");
    assert!(!reaches_in(&sandbox, &in_a, "a", &ip_c).await.is_empty(), "and a reaches B from there");
    let mac_a = mac(&a);
    eventually("host 2 forwards a to host 1", || has_entries(h2, &vxlan, &ip_a, &mac_a, h1)).await;

    // The central stops: the regions keep the entries they learned, and traffic keeps flowing.
    central.stop();
    assert!(!reaches_in(&sandbox, &in_b, "c", &ip_a).await.is_empty(), "B still reaches A without the central");
    assert!(has_entries(h2, &vxlan, &ip_a, &mac_a, h1).await, "host 2 keeps a's entries");

    // Everything deleted: nothing of Flotilla's left on any host.
    sandbox.run(&[&in_a[..], &["container", "delete", "a", "--stop", "--wait"]].concat(), &[]).ok();
    sandbox.run(&[&in_b[..], &["container", "delete", "c", "--stop", "--wait"]].concat(), &[]).ok();
    for host in bed.hosts() {
        eventually(&format!("{} is clean", host.name()), || no_overlay_left(host)).await;
    }
    for agent in agents {
        assert!(agent.stop().await.expect("the agent stops").success());
    }
    for server in [region_a, region_b] {
        server.stop();
    }
    bed.stop().await.expect("the testbed stops cleanly");
}
