//! A partition between a region and its central, with the real binary: region east reaches the
//! central only through a fault-injecting TCP proxy (`flotilla_testkit::fault_proxy`), region west
//! directly (SQLite, simulated hosts). The link is cut twice, refused then blackholed. While cut,
//! east keeps creating (and deleting) containers with the token it validated before (its cache
//! TTL long past) and addresses of a global network from the blocks it holds, and says the central
//! is unreachable; the central marks it DOWN. After each heal east is UP again, its routes at the
//! central are exactly its containers, every route_sync job is SUCCESS (none FAIL), one job per
//! change (coalesced), none run again afterwards; the global network's addresses are distinct
//! across both regions.

mod support;

use flotilla_testkit::fault_proxy::{Cut, FaultProxy};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::regions::{central, cli_json, region, route_jobs, routed, sim_host};
use support::{Running, Sandbox, log_in_as_admin, wait_until};

const GLOBAL_NETWORK: &str = "planet";
const GLOBAL_SUBNET: &str = "10.240.0.0/16";
const PLANET: Option<&str> = Some(GLOBAL_NETWORK);
/// How long the routes and jobs may take to converge after a heal (hurried on the first answer).
const CONVERGE: Duration = Duration::from_secs(60);

/// What the test made: the global network's addresses and east's containers with their changes.
#[derive(Debug, Default)]
struct Ledger {
    /// Addresses handed out on the global network, by container name, in both regions.
    addresses: BTreeMap<String, String>,
    /// How many creates and deletes each of east's containers had, by id.
    changes: BTreeMap<String, usize>,
    /// East's containers now.
    here: BTreeSet<String>,
}

impl Ledger {
    /// `container run NAME` at `region` on `network` (else the project's default network), which
    /// must come up RUNNING; its id.
    fn run(&mut self, sandbox: &Sandbox, region: &Running, name: &str, network: Option<&str>) -> String {
        let mut args = vec!["--url", &region.url, "container", "run", "--name", name, "--image", "any/image:1", "--wait"];
        if let Some(network) = network {
            args.extend(["--network", network]);
        }
        let created = cli_json(sandbox, &args);
        assert_eq!(created["status"], "RUNNING", "{created}");
        if network == Some(GLOBAL_NETWORK) {
            let address = created["addresses"][0]["ip_address"].as_str().unwrap_or_else(|| panic!("no address: {created}"));
            self.addresses.insert(name.to_owned(), address.to_owned());
        }
        created["id"].as_str().unwrap().to_owned()
    }

    /// [`run`](Self::run) at east, recorded as one change of a container there.
    fn run_east(&mut self, sandbox: &Sandbox, east: &Running, name: &str, network: Option<&str>) -> String {
        let id = self.run(sandbox, east, name, network);
        self.changes.insert(id.clone(), 1);
        self.here.insert(id.clone());
        id
    }

    /// Deletes east's container `name` (id `id`): one more change.
    fn delete_east(&mut self, sandbox: &Sandbox, east: &Running, name: &str, id: &str) {
        sandbox.run(&["--url", &east.url, "container", "delete", name, "--stop", "--wait"], &[]).ok();
        self.here.remove(id);
        *self.changes.get_mut(id).unwrap() += 1;
    }
}

/// The region's own view of its central (`/healthz`, `central.reachable`).
fn sees_central(runtime: &tokio::runtime::Runtime, region: &Running) -> bool {
    let health: Value = runtime.block_on(async { reqwest::get(format!("{}/healthz", region.url)).await?.json().await }).unwrap();
    health["central"]["reachable"].as_bool().unwrap_or_else(|| panic!("no central in {health}"))
}

fn status_at_central(sandbox: &Sandbox, name: &str) -> String {
    cli_json(sandbox, &["region", "show", name])["status"].as_str().unwrap().to_owned()
}

/// East's route_sync jobs by resource id.
fn jobs_by_resource(sandbox: &Sandbox, east: &Running) -> BTreeMap<String, Vec<Value>> {
    let mut by = BTreeMap::<String, Vec<Value>>::new();
    for job in route_jobs(sandbox, east) {
        by.entry(job["resource_id"].as_str().unwrap().to_owned()).or_default().push(job);
    }
    by
}

/// While cut: east's jobs for `ids` were tried and are not done, saying the central is unreachable
/// (waiting out a backoff, or running again: a blackholed call takes its whole timeout).
fn wait_for_retries(sandbox: &Sandbox, east: &Running, ids: &[&str]) {
    wait_until("east's route_sync jobs tried during the cut and waiting", CONVERGE, || {
        let jobs = jobs_by_resource(sandbox, east);
        ids.iter().all(|id| {
            jobs.get(*id).is_some_and(|of_it| {
                of_it.iter().any(|j| {
                    (j["status"] == "NEW" || j["status"] == "RUNNING")
                        && j["attempts"].as_u64() >= Some(1)
                        && j["last_error"].as_str().is_some_and(|e| e.contains("unreachable"))
                })
            })
        })
    });
}

/// After a heal: east UP and seeing its central, its routes exactly `expected`, every job SUCCESS.
fn wait_for_convergence(sandbox: &Sandbox, runtime: &tokio::runtime::Runtime, east: &Running, expected: &BTreeSet<String>) {
    wait_until("east UP at the central and seeing it", CONVERGE, || {
        status_at_central(sandbox, "east") == "UP" && sees_central(runtime, east)
    });
    wait_until("east's routes at the central are its containers", CONVERGE, || &routed(sandbox, "east", "container") == expected);
    wait_until("every east route_sync job SUCCESS", CONVERGE, || route_jobs(sandbox, east).iter().all(|j| j["status"] == "SUCCESS"));
}

/// One job per change of each resource (`changes`: how many creates and deletes it had; a change
/// made while its job still waited is coalesced into it), each SUCCESS.
fn assert_one_job_per_change(sandbox: &Sandbox, east: &Running, changes: &BTreeMap<String, usize>) {
    let jobs = jobs_by_resource(sandbox, east);
    for (id, &made) in changes {
        let of_it = jobs.get(id).unwrap_or_else(|| panic!("no job for {id}: {jobs:?}"));
        assert!((1..=made).contains(&of_it.len()), "{made} changes of {id} made 1 to {made} jobs: {of_it:?}");
        let ids: BTreeSet<&str> = of_it.iter().map(|j| j["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), of_it.len(), "distinct job ids: {of_it:?}");
        assert!(of_it.iter().all(|j| j["status"] == "SUCCESS"), "{of_it:?}");
    }
    let failed: Vec<&Value> = jobs.values().flatten().filter(|j| j["status"] == "FAIL").collect();
    assert!(failed.is_empty(), "no job failed: {failed:?}");
}

#[test]
fn a_region_cut_off_from_its_central_keeps_creating_and_converges_after_the_heal() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let central = central(&sandbox, "3", &["--global-pool", GLOBAL_SUBNET]);
    log_in_as_admin(&sandbox, &central);
    let upstream = central.url.strip_prefix("http://").unwrap().parse().unwrap();
    let proxy = runtime.block_on(FaultProxy::start(upstream)).unwrap();
    // A 1 s token cache: during the cuts east serves the validation it holds, long past its TTL.
    let east = region(&sandbox, &proxy.url(), "east", "10.150.0.0/16", None, &["--token-cache-ttl", "1"]);
    let _east_host = sim_host(&sandbox, "east", &east);
    let west = region(&sandbox, &central.url, "west", "10.160.0.0/16", None, &[]);
    let _west_host = sim_host(&sandbox, "west", &west);
    cli_json(&sandbox, &["network", "create", GLOBAL_NETWORK, "--global", "--subnet", GLOBAL_SUBNET]);

    // Before: east validates the token, copies the global network and takes a block of it.
    let mut made = Ledger::default();
    let doomed = made.run_east(&sandbox, &east, "doomed", PLANET);
    made.run_east(&sandbox, &east, "local", None);
    made.run(&sandbox, &west, "west-before", PLANET);
    wait_for_convergence(&sandbox, &runtime, &east, &made.here);

    for (round, cut) in [(1, Cut::Refuse), (2, Cut::Blackhole)] {
        proxy.cut(cut);
        let a = made.run_east(&sandbox, &east, &format!("cut{round}-a"), PLANET);
        let b = made.run_east(&sandbox, &east, &format!("cut{round}-b"), PLANET);
        let c = made.run_east(&sandbox, &east, &format!("cut{round}-c"), None);
        made.run(&sandbox, &west, &format!("west-{round}"), PLANET);
        // Created and deleted within the cut: one or two jobs, no route left behind.
        let fleeting = format!("fleeting{round}");
        let id = made.run_east(&sandbox, &east, &fleeting, PLANET);
        made.delete_east(&sandbox, &east, &fleeting, &id);
        if round == 1 {
            // Made and routed before the cut, deleted during it.
            made.delete_east(&sandbox, &east, "doomed", &doomed);
        }
        wait_for_retries(&sandbox, &east, &[&a, &b, &c]);
        assert!(!sees_central(&runtime, &east), "east's /healthz says the central is unreachable ({cut:?})");
        wait_until("the central marks east DOWN", CONVERGE, || status_at_central(&sandbox, "east") == "DOWN");
        let outages = east.stderr().matches("central unreachable: serving tokens it validated before").count();
        assert_eq!(outages, round, "east logs each outage once");

        proxy.heal();
        wait_for_convergence(&sandbox, &runtime, &east, &made.here);
        assert_one_job_per_change(&sandbox, &east, &made.changes);
        let jobs = jobs_by_resource(&sandbox, &east);
        for id in [&a, &b, &c] {
            assert_eq!(jobs[id].len(), 1, "one job for a container made during the cut: {:?}", jobs[id]);
            assert!(jobs[id][0]["attempts"].as_u64() >= Some(2), "it was retried through the cut: {:?}", jobs[id]);
        }
    }

    // None of the jobs runs again: a later change's job succeeds, the earlier rows are untouched.
    let before = route_jobs(&sandbox, &east);
    let after = made.run_east(&sandbox, &east, "after", PLANET);
    wait_until("the later container routed", CONVERGE, || routed(&sandbox, "east", "container").contains(&after));
    wait_until("its job SUCCESS", CONVERGE, || jobs_by_resource(&sandbox, &east).get(&after).is_some_and(|j| j[0]["status"] == "SUCCESS"));
    let now = route_jobs(&sandbox, &east);
    for job in &before {
        let again = now.iter().find(|j| j["id"] == job["id"]).unwrap_or_else(|| panic!("job {} lost", job["id"]));
        assert_eq!((&again["attempts"], &again["status"]), (&job["attempts"], &job["status"]), "job not run again: {job} → {again}");
    }
    assert_eq!(routed(&sandbox, "east", "container"), made.here, "nothing lost, nothing left behind");

    // One address space: every address of the global network handed out once, across regions.
    let distinct: BTreeSet<&String> = made.addresses.values().collect();
    assert_eq!(distinct.len(), made.addresses.len(), "distinct addresses: {:?}", made.addresses);
    assert!(made.addresses.values().all(|a| a.starts_with("10.240.")), "{:?}", made.addresses);
}
