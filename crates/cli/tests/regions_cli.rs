//! The CLI over many regions, with the real binary: a central and three regions as processes (one on
//! PostgreSQL when scripts/test.sh provides it), each with a simulated host. One login at the central;
//! `--region` (and FLOTILLA_REGION, and the default `region use` saves) sends region commands to that
//! region; `--all-regions` lists every region with REGION, and reports a stopped region on stderr
//! while still listing the others; `show`, `delete` and operations on an id held by another region
//! find it through the central's routing table. `flotilla dev --regions 2 --runtime sim` runs a
//! container in each, and starts again on its data.

mod support;

use serde_json::Value;
use support::regions::{central, cli_json, region, sim_host};
use support::{ADMIN_PASSWORD, Sandbox, log_in_as_admin};

/// `container run` of `name` in `region`, waiting for RUNNING.
fn run_in(sandbox: &Sandbox, region: &str, name: &str) -> Value {
    cli_json(sandbox, &["--region", region, "container", "run", "--name", name, "--image", "any/image:1", "--wait"])
}

/// (region, name) of each container of a `container list --all-regions -o json`, sorted.
fn placed(list: &Value) -> Vec<(String, String)> {
    let mut placed: Vec<(String, String)> = list["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["region"].as_str().unwrap().to_owned(), c["name"].as_str().unwrap().to_owned()))
        .collect();
    placed.sort();
    placed
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(r, n)| ((*r).to_owned(), (*n).to_owned())).collect()
}

#[test]
fn one_login_reaches_every_region_and_lists_them_all() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let postgres = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path()));
    let central = central(&sandbox, "2", &[]);
    log_in_as_admin(&sandbox, &central);

    let east = region(&sandbox, &central.url, "east", "10.150.0.0/16", None, &[]);
    let west = region(&sandbox, &central.url, "west", "10.160.0.0/16", postgres.as_deref(), &[]);
    let mut north = region(&sandbox, &central.url, "north", "10.170.0.0/16", None, &[]);
    let _hosts = [sim_host(&sandbox, "east", &east), sim_host(&sandbox, "west", &west), sim_host(&sandbox, "north", &north)];

    // `--region` sends region commands to that region with the one token of the central.
    let mut ids = std::collections::BTreeMap::new();
    for name in ["east", "west", "north"] {
        let container = run_in(&sandbox, name, &format!("web-{name}"));
        assert_eq!(container["status"], "RUNNING", "{container}");
        ids.insert(name, container["id"].as_str().unwrap().to_owned());
    }
    let west_only = cli_json(&sandbox, &["--region", "west", "container", "list"]);
    assert_eq!(placed_names(&west_only), ["web-west"], "{west_only}");
    let by_env = sandbox.run(&["container", "list", "-o", "json"], &[("FLOTILLA_REGION", "north")]).json();
    assert_eq!(placed_names(&by_env), ["web-north"], "FLOTILLA_REGION names the region: {by_env}");

    // `--all-regions` asks every region: `region` in each JSON object, a REGION column in the table.
    let all = cli_json(&sandbox, &["container", "list", "--all-regions"]);
    assert_eq!(placed(&all), pairs(&[("east", "web-east"), ("north", "web-north"), ("west", "web-west")]), "{all}");
    let table = sandbox.run(&["container", "list", "--all-regions"], &[]).ok();
    let mut lines = table.lines();
    assert!(lines.next().unwrap().trim_start().starts_with("REGION"), "{table}");
    for name in ["east", "west", "north"] {
        assert!(lines.clone().any(|l| l.trim_start().starts_with(name) && l.contains(&format!("web-{name}"))), "{table}");
    }
    let hosts = cli_json(&sandbox, &["host", "list", "--all-regions"]);
    assert_eq!(hosts["hosts"].as_array().unwrap().len(), 3, "every list command spreads: {hosts}");

    // A name the central does not know is refused, naming the known ones.
    let unknown = sandbox.run(&["--region", "south", "container", "list"], &[]).fails_with(1);
    assert!(unknown.contains("\"south\"") && unknown.contains("east, north, west"), "{unknown}");

    // `region use` saves the default region; `--region` still wins; identity commands stay at the central.
    sandbox.run(&["region", "use", "east"], &[]).ok();
    assert_eq!(placed_names(&cli_json(&sandbox, &["container", "list"])), ["web-east"]);
    assert_eq!(placed_names(&cli_json(&sandbox, &["--region", "west", "container", "list"])), ["web-west"]);
    let project = cli_json(&sandbox, &["project", "create", "team"]);
    assert_eq!(project["name"], "team", "identity writes go to the central, not to east: {project}");

    // A login remembers the region it was given and learns every region's URL.
    let relogin = ["login", "--url", &central.url, "--user", "admin", "--project", "admin", "--region", "north"];
    let said = sandbox.run(&relogin, &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]).ok();
    assert!(said.contains("regions: east, north, west"), "{said}");
    assert_eq!(placed_names(&cli_json(&sandbox, &["container", "list"])), ["web-north"]);

    // `show` and `delete` of another region's id find it through the central's routing table.
    let west_id = &ids["west"];
    routed(&sandbox, west_id, "west");
    let shown = sandbox.run(&["container", "show", west_id, "-o", "json"], &[]);
    assert!(shown.stderr.contains("is in region west"), "{}", shown.stderr);
    assert_eq!(shown.json()["name"], "web-west");
    sandbox.run(&["container", "delete", west_id, "--force", "--wait"], &[]).ok();
    assert_eq!(placed_names(&cli_json(&sandbox, &["--region", "west", "container", "list"])), Vec::<String>::new());
    let east_id = &ids["east"];
    routed(&sandbox, east_id, "east");
    let stopped = cli_json(&sandbox, &["container", "stop", east_id, "--wait"]);
    assert_eq!(stopped["status"], "STOPPED", "an operation by id is done where the id lives, --wait included: {stopped}");
    let missing = sandbox.run(&["container", "show", "web-nowhere"], &[]).fails_with(1);
    assert!(missing.contains("web-nowhere") && missing.contains("404"), "a name in no region stays a 404: {missing}");

    // A stopped region is reported on stderr; the others are still listed and the command succeeds.
    north.terminate();
    let partial = sandbox.run(&["container", "list", "--all-regions", "-o", "json"], &[]);
    assert!(partial.stderr.contains("region north did not answer"), "{}", partial.stderr);
    assert_eq!(placed(&partial.json()), pairs(&[("east", "web-east")]));
    let table = sandbox.run(&["container", "list", "--all-regions"], &[]);
    assert!(table.stderr.contains("region north"), "{}", table.stderr);
    let listed = table.ok();
    assert!(listed.contains("web-east") && !listed.contains("web-north"), "{listed}");
}

/// Waits until the central's routing table places `id` in `region` (regions report asynchronously).
fn routed(sandbox: &Sandbox, id: &str, region: &str) {
    let started = std::time::Instant::now();
    let placed_in = || {
        let shown = sandbox.run(&["routing", "show", id, "-o", "json"], &[]);
        (shown.code == Some(0)).then(|| serde_json::from_str::<Value>(&shown.stdout).unwrap()["region"].clone())
    };
    while placed_in().is_none_or(|placed| placed != region) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{id} never reached the routing table as {region}'s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The names in a one-region `container list -o json`.
fn placed_names(list: &Value) -> Vec<String> {
    list["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn dev_with_two_regions_runs_a_container_in_each() {
    let sandbox = Sandbox::new();
    let data = sandbox.path("dev-data");
    let args = ["dev", "--regions", "2", "--runtime", "sim", "--no-demo", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()];
    let dev = sandbox.spawn("dev", &args, &[], "Press Ctrl-C to stop.");
    let said = dev.stdout();
    assert!(said.contains("flotilla container list --all-regions") && said.contains("--region region-1"), "{said}");

    let regions = cli_json(&sandbox, &["region", "list"]);
    let names: Vec<&str> = regions["regions"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{regions}");
    for name in ["region-1", "region-2"] {
        assert!(names.contains(&name), "{regions}");
        assert_eq!(run_in(&sandbox, name, &format!("web-{name}"))["status"], "RUNNING");
    }
    let all = cli_json(&sandbox, &["container", "list", "--all-regions"]);
    assert_eq!(placed(&all), pairs(&[("region-1", "web-region-1"), ("region-2", "web-region-2")]), "{all}");
    dev.stop();

    // Started again on its data, the regions come back with the credentials they kept.
    let dev = sandbox.spawn("dev-again", &args, &[], "Press Ctrl-C to stop.");
    let all = cli_json(&sandbox, &["container", "list", "--all-regions"]);
    assert_eq!(placed(&all), pairs(&[("region-1", "web-region-1"), ("region-2", "web-region-2")]), "{all}");
    dev.stop();
}
