//! A global router joining networks of two regions, on real hosts (Tricircle's Fig. 3: net1 in
//! region 1, net2 in region 2, joined by a router): a testbed of 2 hosts (network namespaces, each
//! with its own Docker Engine and a real `flotilla agent --tunnel-address`), a central and two
//! regions (real `flotilla server` processes), host 0 in region A and host 1 in region B. The
//! router is created through region A (forwarded to the central). A
//! container on global network net1 in A and one on global net2 in B reach each other by IP only
//! while the central's global router joins the two (each region copies the router, its hosts
//! carry the other network and route to it locally); an unjoined global net3 stays isolated; the
//! interface removed cuts the path; after everything is deleted nothing of Flotilla's (links,
//! entries, Docker networks, iptables rules) remains on any host. Needs root and Docker's
//! binaries (scripts/test.sh installs them).

mod support;

use flotilla_testkit::testbed::Host;
use support::regions::cli_json;
use support::testbed::{
    IN_A, IN_B, TwoRegions, bridge_of, carried, cut_off, eventually, fetch_in, flotilla_rules, ip_of, join_region, no_overlay_left,
    reaches_in,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_router_joins_networks_of_two_regions_until_its_interface_goes() {
    let TwoRegions { bed, sandbox, central, regions: [region_a, region_b], tag } = TwoRegions::start(2, "grt").await;
    let [in_a, in_b] = [IN_A, IN_B];
    let agents = vec![join_region(&bed, &sandbox, 0, "ra", &region_a).await, join_region(&bed, &sandbox, 1, "rb", &region_b).await];
    let [h0, h1] = [0, 1].map(|i| bed.host(i));

    // Three global networks and a global router, made at the central.
    for (name, cidr) in [("net1", "10.240.1.0/24"), ("net2", "10.240.2.0/24"), ("net3", "10.240.3.0/24")] {
        cli_json(&sandbox, &["network", "create", name, "--global", "--subnet", cidr]);
    }
    let [b1, b2] = ["net1", "net2"].map(|n| bridge_of(&sandbox, n));
    // The router's create goes through region A, which forwards it to the central.
    let edge = cli_json(&sandbox, &[&in_a[..], &["router", "create", "edge", "--global"]].concat());
    assert_eq!(edge["global"], true, "{edge}");
    let at_central = cli_json(&sandbox, &["router", "show", "edge"]);
    assert_eq!((at_central["id"].as_str(), at_central["global"].as_bool()), (edge["id"].as_str(), Some(true)), "{at_central}");

    let run = |target: [&str; 2], name: &str, network: &str, host: &Host| {
        let args = ["container", "run", "--name", name, "--image", &tag, "--network", network, "--host-node", host.name(), "--wait"];
        let c = cli_json(&sandbox, &[&target[..], &args[..]].concat());
        assert_eq!((c["status"].as_str(), c["host"].as_str()), (Some("RUNNING"), Some(host.name())), "{c}");
        c
    };
    let ip1 = ip_of(&run(in_a, "one", "net1", h0));
    let ip2 = ip_of(&run(in_b, "two", "net2", h1));
    let ip3 = ip_of(&run(in_b, "three", "net3", h1));
    assert!(!reaches_in(&sandbox, &in_b, "three", &ip3).await.is_empty(), "three serves");
    assert!(fetch_in(&sandbox, &in_a, "one", &ip2).is_err(), "net1 reaches net2 without a router");
    assert!(fetch_in(&sandbox, &in_b, "two", &ip1).is_err(), "net2 reaches net1 without a router");
    assert_eq!(carried(h0).await, Some(vec![b1.clone()]), "host 0 carries net1 only");

    // The router joins net1 and net2 (at the central): both ways across the regions.
    cli_json(&sandbox, &["router", "add-interface", "edge", "net1"]);
    let joined = cli_json(&sandbox, &["router", "add-interface", "edge", "net2"]);
    let names: Vec<&str> = joined["interfaces"].as_array().unwrap().iter().map(|i| i["network"].as_str().unwrap()).collect();
    assert_eq!(names, ["net1", "net2"], "{joined}");
    assert!(!reaches_in(&sandbox, &in_a, "one", &ip2).await.is_empty(), "A reaches B through the router");
    assert!(!reaches_in(&sandbox, &in_b, "two", &ip1).await.is_empty(), "B reaches A through the router");
    let both = [b1.clone(), b2.clone()];
    for host in [h0, h1] {
        assert_eq!(
            carried(host).await.as_ref().map(|c| c.iter().filter(|b| both.contains(b)).count()),
            Some(2),
            "{} carries both",
            host.name()
        );
        assert!(!flotilla_rules(host).await.is_empty(), "{} routes between them", host.name());
    }
    // Each region shows its copy of the router, naming the networks.
    for target in [in_a, in_b] {
        let copy = cli_json(&sandbox, &[&target[..], &["router", "show", "edge"]].concat());
        assert_eq!((copy["global"].as_bool(), copy["id"].as_str()), (Some(true), edge["id"].as_str()), "{copy}");
        let names: Vec<&str> = copy["interfaces"].as_array().unwrap().iter().map(|i| i["network"].as_str().unwrap()).collect();
        assert_eq!(names, ["net1", "net2"], "{copy}");
    }
    // A region's copy is changed at the central only.
    let refused = sandbox.run(&[&in_a[..], &["router", "remove-interface", "edge", "net1"]].concat(), &[]);
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(refused.stderr.contains("changed at the central"), "{refused:?}");

    // net3 joins no router: isolated from both, even on the host that carries the joined ones.
    for (target, from, to) in [(in_b, "three", &ip1), (in_b, "three", &ip2), (in_a, "one", &ip3), (in_b, "two", &ip3)] {
        assert!(fetch_in(&sandbox, &target, from, to).is_err(), "{from} reaches {to} though net3 joins no router");
    }

    // The interface of net2 goes: the path is cut, and host 0 stops carrying net2.
    cli_json(&sandbox, &["router", "remove-interface", "edge", "net2"]);
    cut_off(&sandbox, &in_a, "one", &ip2).await;
    cut_off(&sandbox, &in_b, "two", &ip1).await;
    eventually("host 0 carries net1 only again, without rules", || async {
        carried(h0).await == Some(vec![b1.clone()]) && flotilla_rules(h0).await.is_empty()
    })
    .await;

    // Everything deleted: nothing of Flotilla's left on any host.
    cli_json(&sandbox, &["router", "remove-interface", "edge", "net1"]);
    sandbox.run(&["router", "delete", "edge"], &[]).ok();
    sandbox.run(&[&in_a[..], &["container", "delete", "one", "--stop", "--wait"]].concat(), &[]).ok();
    for c in ["two", "three"] {
        sandbox.run(&[&in_b[..], &["container", "delete", c, "--stop", "--wait"]].concat(), &[]).ok();
    }
    for host in bed.hosts() {
        eventually(&format!("{} is clean", host.name()), || async { no_overlay_left(host).await && flotilla_rules(host).await.is_empty() })
            .await;
    }
    for target in [in_a, in_b] {
        let gone = sandbox.run(&[&target[..], &["router", "show", "edge"]].concat(), &[]);
        assert_ne!(gone.code, Some(0), "the region's copy went with the last use: {gone:?}");
    }
    for agent in agents {
        assert!(agent.stop().await.expect("the agent stops").success());
    }
    for server in [region_a, region_b, central] {
        server.stop();
    }
    bed.stop().await.expect("the testbed stops cleanly");
}
