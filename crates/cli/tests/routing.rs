//! The routing table with the real binary: a central and a region (SQLite, a simulated host; a
//! second region on PostgreSQL when scripts/test.sh provides it).
//! Containers created at the region appear in the central's `routing list` and go after their
//! delete; with the central stopped the region still creates, its route_sync jobs back off, and
//! their routes arrive once the central is back on the same address: each job ran to SUCCESS once,
//! none lost, none failed.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::regions::{cli_json as json, region, route_jobs, routed, sim_host};
use support::{ADMIN_PASSWORD, Running, Sandbox, free_address, log_in_as_admin, wait_until};

/// A central on a fixed address and data directory, so that it can be stopped and started again.
struct Central {
    listen: String,
    data: String,
}

impl Central {
    fn new(sandbox: &Sandbox) -> Self {
        Central { listen: free_address(), data: sandbox.path("central-data").to_str().unwrap().to_owned() }
    }

    /// Starts it; `run` names its log (a restart gets a new one).
    fn start(&self, sandbox: &Sandbox, run: &str) -> Running {
        let args = ["server", "--central", "--listen", &self.listen, "--data-dir", &self.data, "--bootstrap-password", ADMIN_PASSWORD];
        sandbox.spawn(run, &args, &[], "listening on ")
    }
}

fn routed_containers(sandbox: &Sandbox) -> BTreeSet<String> {
    routed(sandbox, "east", "container")
}

fn run(sandbox: &Sandbox, region: &Running, name: &str) -> String {
    let created = json(sandbox, &["--url", &region.url, "container", "run", "--name", name, "--image", "any/image:1", "--wait"]);
    assert_eq!(created["status"], "RUNNING", "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[test]
fn regions_write_their_routes_asynchronously_and_converge_after_an_outage() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path()));
    let central = Central::new(&sandbox);
    let central_run = central.start(&sandbox, "central");
    log_in_as_admin(&sandbox, &central_run);
    let east = region(&sandbox, &central_run.url, "east", "10.150.0.0/16", None, &[]);
    let _east_host = sim_host(&sandbox, "east", &east);

    // A region on PostgreSQL routes the same way.
    if let Some(database) = postgres {
        let west = region(&sandbox, &central_run.url, "west", "10.160.0.0/16", Some(&database), &[]);
        let _west_host = sim_host(&sandbox, "west", &west);
        let there = run(&sandbox, &west, "west-web");
        wait_until("the PostgreSQL region's route", Duration::from_secs(20), || {
            routed(&sandbox, "west", "container") == [there.clone()].into()
        });
    }

    // Created at the region, routed at the central; a delete removes the route.
    let (web, api) = (run(&sandbox, &east, "web"), run(&sandbox, &east, "api"));
    wait_until("both routes at the central", Duration::from_secs(20), || routed_containers(&sandbox) == [web.clone(), api.clone()].into());
    assert_eq!(routed(&sandbox, "east", "network").len(), 1, "the project's default network, made by its first container");
    let shown = json(&sandbox, &["routing", "show", &web]);
    assert_eq!((shown["region"].as_str(), shown["resource_type"].as_str()), (Some("east"), Some("container")), "{shown}");
    sandbox.run(&["--url", &east.url, "container", "delete", "web", "--stop", "--wait"], &[]).ok();
    wait_until("the deleted container's route gone", Duration::from_secs(20), || routed_containers(&sandbox) == [api.clone()].into());
    let missing = sandbox.run(&["routing", "show", &web], &[]).fails_with(1);
    assert!(missing.contains("404"), "{missing}");

    // The central stops: creates at the region go on; their jobs wait and retry.
    drop(central_run);
    let during: Vec<String> = ["during-1", "during-2", "during-3"].iter().map(|name| run(&sandbox, &east, name)).collect();
    wait_until("route_sync jobs retried while the central is down, saying why", Duration::from_secs(20), || {
        let jobs = route_jobs(&sandbox, &east);
        during.iter().all(|id| {
            jobs.iter().any(|j| {
                j["resource_id"] == id.as_str()
                    && j["status"] == "NEW"
                    && j["attempts"].as_u64() >= Some(1)
                    && j["last_error"].as_str().is_some_and(|e| e.contains("unreachable"))
            })
        })
    });

    // Back on the same address: the routes arrive, and every job ran to SUCCESS exactly once.
    let _central_again = central.start(&sandbox, "central-again");
    let expected: BTreeSet<String> = during.iter().cloned().chain([api.clone()]).collect();
    wait_until("the routes made during the outage at the central", Duration::from_secs(60), || routed_containers(&sandbox) == expected);
    wait_until("every route_sync job done", Duration::from_secs(20), || {
        route_jobs(&sandbox, &east).iter().all(|j| j["status"] == "SUCCESS")
    });
    wait_until("the region saw its central back and hurried its jobs", Duration::from_secs(5), || {
        east.stderr().contains("central reachable again: waiting route_sync jobs run now")
    });
    let jobs = route_jobs(&sandbox, &east);
    for id in &during {
        let of_it: Vec<&Value> = jobs.iter().filter(|j| j["resource_id"] == id.as_str()).collect();
        assert_eq!(of_it.len(), 1, "one job for a container made during the outage: {of_it:?}");
        assert!(of_it[0]["attempts"].as_u64().unwrap() >= 2, "it retried through the outage: {of_it:?}");
    }
    let redo = sandbox.run(&["--url", &east.url, "job", "redo", jobs[0]["id"].as_str().unwrap()], &[]).fails_with(1);
    assert!(redo.contains("409") && redo.contains("SUCCESS"), "{redo}");
    let all = json(&sandbox, &["routing", "list", "--region", "east", "--limit", "1000"]);
    let containers = all["routings"].as_array().unwrap().iter().filter(|r| r["resource_type"] == "container").count();
    assert_eq!(containers, 4, "nothing routed twice or left behind: {all}");
}
