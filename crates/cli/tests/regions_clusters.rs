//! A cluster across regions, with the real binary: a central and three regions as processes (r2 on
//! PostgreSQL when scripts/test.sh provides it), each with a simulated host. A cluster of 12 at its home region `r1` with a region placement of
//! weights 1:1:2 has 3, 3 and 6 members in r1, r2 and r3 (the members in r2 and r3 are containers
//! there, made through those regions' APIs). r3's server and agent are killed (SIGKILL): once the
//! central counts r3 DOWN, the health policy recreates its 6 members in r1 and r2. r3 started again
//! on its data (its agent too, on an empty runtime) still holds the old 6: they are removed there
//! (the fence), and 12 containers run across the regions, never more once settled. Then the home
//! region r1 is killed: r2's members keep running, and once r1 returns a scale-in to 2 reaches them.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::regions::{central, cli_json, region, region_again, sim_host, sim_host_again, spread_cluster};
use support::{Sandbox, log_in_as_admin};

/// Time allowed for detection, replacement or the fence.
const SETTLE: Duration = Duration::from_secs(90);

const REGIONS: [(&str, &str); 3] = [("r1", "10.181.0.0/16"), ("r2", "10.182.0.0/16"), ("r3", "10.183.0.0/16")];

/// The cluster's members: (region they run in, status), from the home region.
fn members(sandbox: &Sandbox) -> Vec<(String, String)> {
    let nodes = cli_json(sandbox, &["--region", "r1", "cluster", "members", "web"]);
    nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["region"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// Members per region.
fn per_region(members: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (region, _) in members {
        *counts.entry(region.clone()).or_insert(0) += 1;
    }
    counts
}

/// The RUNNING containers of `region` named after the cluster's members.
fn running_in(sandbox: &Sandbox, region: &str) -> usize {
    let list = cli_json(sandbox, &["--region", region, "container", "list"]);
    list["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("web-") && c["status"] == "RUNNING")
        .count()
}

/// Every container of `region`, whatever its status.
fn containers_in(sandbox: &Sandbox, region: &str) -> usize {
    cli_json(sandbox, &["--region", region, "container", "list"])["containers"].as_array().unwrap().len()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_cluster_spans_three_regions_and_survives_losing_one() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path()));
    let central = central(&sandbox, "3", &[]);
    log_in_as_admin(&sandbox, &central);
    // r2 keeps its rows on PostgreSQL when scripts/test.sh provides it.
    let database = |name: &str| if name == "r2" { postgres.as_deref() } else { None };
    let mut servers: BTreeMap<&str, support::Running> =
        REGIONS.iter().map(|(name, pool)| (*name, region(&sandbox, &central.url, name, pool, database(name), &[]))).collect();
    let mut hosts: BTreeMap<&str, support::Running> =
        REGIONS.iter().map(|(name, _)| (*name, sim_host(&sandbox, name, &servers[name]))).collect();

    spread_cluster(&sandbox, "r1", "any/image:1", "", &[("r1", 100), ("r2", 100), ("r3", 200)], 12);

    // 1:1:2 over three regions; each member is a running container in its region.
    let placed = members(&sandbox);
    assert!(placed.iter().all(|(_, status)| status == "ACTIVE"), "{placed:?}");
    assert_eq!(per_region(&placed), BTreeMap::from([("r1".into(), 3), ("r2".into(), 3), ("r3".into(), 6)]));
    for (name, count) in [("r1", 3), ("r2", 3), ("r3", 6)] {
        assert_eq!(running_in(&sandbox, name), count, "containers running in {name}");
    }
    let table = sandbox.run(&["--region", "r1", "cluster", "members", "web"], &[]).ok();
    assert!(table.contains("RUNS IN") && table.contains("r3"), "members show their region: {table}");

    // r3 is lost: its server and agent are killed.
    let lost_url = servers["r3"].url.clone();
    for process in [servers.remove("r3").unwrap(), hosts.remove("r3").unwrap()] {
        let mut process = process;
        process.child.kill().unwrap();
        process.child.wait().unwrap();
    }
    eventually("r3's members are recreated in r1 and r2", || {
        let now = members(&sandbox);
        now.len() == 12 && now.iter().all(|(region, status)| region != "r3" && status == "ACTIVE")
    });
    assert_eq!(running_in(&sandbox, "r1") + running_in(&sandbox, "r2"), 12);
    let moved = per_region(&members(&sandbox));
    assert!(moved["r1"] > 3 && moved["r2"] > 3, "the lost members spread over both regions left: {moved:?}");

    // r3 returns on its data, its host on an empty runtime: the old members are removed there.
    let back = region_again(&sandbox, &central.url, "r3", REGIONS[2].1, &lost_url);
    let _host = sim_host_again(&sandbox, "r3", &back);
    eventually("r3's old members are fenced", || containers_in(&sandbox, "r3") == 0);
    let settled = members(&sandbox);
    assert_eq!(settled.len(), 12);
    assert!(settled.iter().all(|(region, status)| region != "r3" && status == "ACTIVE"), "{settled:?}");
    assert_eq!(running_in(&sandbox, "r1") + running_in(&sandbox, "r2") + containers_in(&sandbox, "r3"), 12, "12 run, never more");

    // The home region is lost: the members elsewhere keep running (past the central's grace),
    // and are managed again once it returns.
    let home_url = servers["r1"].url.clone();
    let in_r2 = running_in(&sandbox, "r2");
    for process in [servers.remove("r1").unwrap(), hosts.remove("r1").unwrap()] {
        let mut process = process;
        process.child.kill().unwrap();
        process.child.wait().unwrap();
    }
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(running_in(&sandbox, "r2"), in_r2, "r2's members keep running while their home region is gone");
    let home = region_again(&sandbox, &central.url, "r1", REGIONS[0].1, &home_url);
    let _home_host = sim_host_again(&sandbox, "r1", &home);
    eventually("the cluster is whole again at its home", || {
        let now = members(&sandbox);
        now.len() == 12 && now.iter().all(|(_, status)| status == "ACTIVE")
    });
    sandbox.run(&["--region", "r1", "cluster", "resize", "web", "--capacity", "2", "--wait"], &[]).ok();
    eventually("the scale-in reaches r2's members", || running_in(&sandbox, "r1") + running_in(&sandbox, "r2") == 2);
    assert!(running_in(&sandbox, "r2") < in_r2, "members in r2 were removed by their home region");
    assert_eq!(members(&sandbox).len(), 2);
}
