//! Label selectors (`-l`) on lists and `--dry-run` plans, with the real binary against a real
//! server and simulated hosts: the server filters, a plan shows each new container's host and
//! addresses or why nothing fits, and leaves no container, node, port, network or action behind.

use serde_json::Value;

mod support;

use support::{Sandbox, log_in_as_admin, sim_agent, start_server_on};

/// Lines of `text`, trimmed, without empty ones, sorted.
fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    lines.sort();
    lines
}

/// The length of the JSON array at `field` of `flotilla ARGS -o json`.
fn count(sandbox: &Sandbox, args: &[&str], field: &str) -> usize {
    let listed = sandbox.run(&[args, &["-o", "json"]].concat(), &[]).json();
    listed[field].as_array().unwrap_or_else(|| panic!("no {field} in {listed}")).len()
}

/// What a dry run must leave as it was: containers, nodes, ports, networks, actions, and what
/// the hosts have allocated.
fn footprint(sandbox: &Sandbox) -> (usize, usize, usize, usize, usize, Vec<Value>) {
    let hosts = sandbox.run(&["host", "list", "-o", "json"], &[]).json();
    let allocated = hosts["hosts"].as_array().unwrap().iter().map(|h| h["allocated"].clone()).collect();
    (
        count(sandbox, &["container", "list"], "containers"),
        count(sandbox, &["node", "list"], "nodes"),
        count(sandbox, &["port", "list"], "ports"),
        count(sandbox, &["network", "list"], "networks"),
        count(sandbox, &["action", "list"], "actions"),
        allocated,
    )
}

#[test]
fn label_selectors_and_dry_runs() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let _big = sim_agent(&sandbox, &server, &token, "big", &["--memory-mib", "4096", "--label", "gpu=true"], "joined");
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let _small = sim_agent(&sandbox, &server, &token, "small", &["--memory-mib", "512"], "joined");

    // Containers with labels, then lists of them by selector.
    for (name, labels) in [("c1", &["app=web", "tier=front"][..]), ("c2", &["app=web", "tier=db"]), ("c3", &["app=api"]), ("c4", &[])] {
        let mut args = vec!["container", "run", "--name", name, "--image", "any/image:1", "--memory", "64", "--wait"];
        for label in labels {
            args.extend(["--metadata", label]);
        }
        sandbox.run(&args, &[]).ok();
    }
    let selected = |args: &[&str], selector: &str| sorted_lines(&sandbox.run(&[args, &["-l", selector, "-o", "name"]].concat(), &[]).ok());
    let containers = |selector: &str| selected(&["container", "list"], selector);
    assert_eq!(containers("app=web"), ["c1", "c2"]);
    assert_eq!(containers("app=web,tier!=db"), ["c1"]);
    assert_eq!(containers("tier!=db"), ["c1", "c3", "c4"], "!= also matches a missing label");
    assert_eq!(containers("app"), ["c1", "c2", "c3"]);
    assert_eq!(containers("!app"), ["c4"]);
    assert_eq!(containers("app==api"), ["c3"]);
    assert_eq!(sorted_lines(&sandbox.run(&["container", "list", "--selector", "tier", "-o", "name"], &[]).ok()), ["c1", "c2"]);
    let paged = sandbox.run(&["container", "list", "-l", "app=web", "--limit", "1", "-o", "json"], &[]).json();
    assert_eq!(paged["containers"].as_array().unwrap().len(), 1, "{paged}");
    assert!(paged["next"].is_string(), "a full page of the matches says there is more: {paged}");

    // Every other labelled list.
    assert_eq!(selected(&["host", "list"], "gpu=true"), ["big"]);
    assert_eq!(selected(&["host", "list"], "!gpu"), ["small"]);
    sandbox.run(&["network", "create", "front", "--metadata", "zone=dmz"], &[]).ok();
    sandbox.run(&["network", "create", "back"], &[]).ok();
    assert_eq!(selected(&["network", "list"], "zone=dmz"), ["front"]);
    sandbox.run(&["volume", "create", "data", "--metadata", "backup=daily"], &[]).ok();
    sandbox.run(&["volume", "create", "scratch"], &[]).ok();
    assert_eq!(selected(&["volume", "list"], "backup"), ["data"]);
    assert_eq!(selected(&["volume", "list"], "!backup"), ["scratch"]);
    let spec = sandbox.path("web.yaml");
    std::fs::write(&spec, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 64\n").unwrap();
    let spec = spec.to_str().unwrap();
    sandbox.run(&["profile", "create", "web-profile", "--spec-file", spec, "--metadata", "team=blue"], &[]).ok();
    sandbox.run(&["profile", "create", "other-profile", "--spec-file", spec], &[]).ok();
    assert_eq!(selected(&["profile", "list"], "team=blue"), ["web-profile"]);
    sandbox
        .run(&["cluster", "create", "web", "--profile", "web-profile", "--desired-capacity", "2", "--metadata", "app=web", "--wait"], &[])
        .ok();
    sandbox.run(&["cluster", "create", "idle", "--profile", "web-profile"], &[]).ok();
    assert_eq!(selected(&["cluster", "list"], "app=web"), ["web"]);
    assert_eq!(selected(&["cluster", "list"], "!app"), ["idle"]);
    assert_eq!(selected(&["node", "list"], "!app").len(), 2, "the members carry no labels");
    assert!(selected(&["node", "list"], "app").is_empty());

    // A bad selector is the server's 400, naming the field and the term.
    let bad = sandbox.run(&["container", "list", "-l", "app=web,not a key"], &[]).fails_with(1);
    assert!(bad.contains("400") && bad.contains("labels") && bad.contains("not a key"), "{bad}");
    let bad = sandbox.run(&["host", "list", "-l", "a=b=c"], &[]).fails_with(1);
    assert!(bad.contains("labels") && bad.contains("a=b=c"), "{bad}");

    // container run --dry-run: the host it would go to and its address; nothing made.
    let before = footprint(&sandbox);
    let plan = sandbox
        .run(&["container", "run", "--name", "planned", "--image", "any/image:1", "--memory", "1024", "--dry-run", "-o", "json"], &[])
        .json();
    let placed = &plan["placements"][0];
    assert_eq!((placed["name"].as_str(), placed["host"].as_str()), (Some("planned"), Some("big")), "only big has 1 GiB free: {plan}");
    assert!(placed["reason"].is_null(), "{plan}");
    let address = placed["addresses"][0]["ip_address"].as_str().unwrap_or_else(|| panic!("an address on the default network: {plan}"));
    assert!(address.parse::<std::net::Ipv4Addr>().is_ok(), "{plan}");
    let table =
        sandbox.run(&["container", "run", "--name", "planned", "--image", "any/image:1", "--memory", "1024", "--dry-run"], &[]).ok();
    assert!(table.contains("HOST") && table.contains("planned") && table.contains("big") && table.contains(address), "{table}");
    assert!(table.contains("nothing was changed"), "{table}");
    assert_eq!(footprint(&sandbox), before, "a dry run leaves nothing behind");
    // The real run goes where the plan said.
    let made =
        sandbox.run(&["container", "run", "--name", "planned", "--image", "any/image:1", "--memory", "1024", "-o", "json"], &[]).json();
    assert_eq!(made["host"].as_str(), Some("big"), "{made}");

    // Nothing fits: the scheduler's reason, still nothing made.
    let before = footprint(&sandbox);
    let plan = sandbox
        .run(&["container", "run", "--name", "huge", "--image", "any/image:1", "--memory", "100000", "--dry-run", "-o", "json"], &[])
        .json();
    let placed = &plan["placements"][0];
    assert!(placed["host"].is_null(), "{plan}");
    let reason = placed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("insufficient memory"), "the reason names the resource: {plan}");
    let table = sandbox.run(&["container", "run", "--name", "huge", "--image", "any/image:1", "--memory", "100000", "--dry-run"], &[]).ok();
    assert!(table.contains("huge") && table.contains(reason), "{table}");
    assert_eq!(footprint(&sandbox), before);

    // Bad input and a taken name are refused as a real run refuses them.
    let bad = sandbox.run(&["container", "run", "--name", "x", "--image", "any/image:1", "--cpu", "0", "--dry-run"], &[]).fails_with(1);
    assert!(bad.contains("400") && bad.contains("spec.cpu"), "{bad}");
    let taken = sandbox.run(&["container", "run", "--name", "c1", "--image", "any/image:1", "--dry-run"], &[]).fails_with(1);
    assert!(taken.contains("409") && taken.contains("c1"), "{taken}");
    assert_eq!(sandbox.run(&["container", "run", "--name", "x", "--image", "i", "--dry-run", "--wait"], &[]).code, Some(2));

    // A quota is checked as a real run checks it.
    let held = count(&sandbox, &["container", "list"], "containers").to_string();
    sandbox.run(&["quota", "set", "admin", "--containers", &held], &[]).ok();
    let over = sandbox.run(&["container", "run", "--name", "over", "--image", "any/image:1", "--dry-run"], &[]).fails_with(4);
    let real = sandbox.run(&["container", "run", "--name", "over", "--image", "any/image:1"], &[]).fails_with(4);
    let strip = |line: &str| line.split(", request ").next().unwrap_or_default().to_owned();
    assert_eq!(strip(&over), strip(&real), "the same refusal (up to the request id)");
    assert!(over.contains("quota exceeded for containers") && over.contains("403"), "{over}");
    sandbox.run(&["quota", "set", "admin", "--containers", "unlimited"], &[]).ok();

    // cluster create --dry-run: each member's name and host; no cluster, node or action made.
    let before = footprint(&sandbox);
    let plan = sandbox
        .run(&["cluster", "create", "more", "--profile", "web-profile", "--desired-capacity", "3", "--dry-run", "-o", "json"], &[])
        .json();
    let members: Vec<(&str, bool)> =
        plan["placements"].as_array().unwrap().iter().map(|p| (p["name"].as_str().unwrap(), p["host"].is_string())).collect();
    assert_eq!(members, [("more-1", true), ("more-2", true), ("more-3", true)], "{plan}");
    assert!(sandbox.run(&["cluster", "list", "-o", "name"], &[]).ok().lines().all(|l| l.trim() != "more"));
    assert_eq!(footprint(&sandbox), before);
    let taken = sandbox.run(&["cluster", "create", "web", "--profile", "web-profile", "--dry-run"], &[]).fails_with(1);
    assert!(taken.contains("409") && taken.contains("web"), "{taken}");
    let bad =
        sandbox.run(&["cluster", "create", "bad", "--profile", "web-profile", "--min-size", "3", "--max-size", "1", "--dry-run"], &[]);
    let bad = bad.fails_with(1);
    assert!(bad.contains("400"), "{bad}");
    let missing = sandbox.run(&["cluster", "create", "bad", "--profile", "no-such-profile", "--dry-run"], &[]).fails_with(1);
    assert!(missing.contains("no-such-profile"), "{missing}");
    std::fs::write(
        sandbox.path("huge.yaml"),
        "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 100000\n",
    )
    .unwrap();
    sandbox.run(&["profile", "create", "huge", "--spec-file", sandbox.path("huge.yaml").to_str().unwrap()], &[]).ok();
    let plan = sandbox
        .run(&["cluster", "create", "giants", "--profile", "huge", "--desired-capacity", "2", "--dry-run", "-o", "json"], &[])
        .json();
    for placed in plan["placements"].as_array().unwrap() {
        assert!(placed["host"].is_null() && placed["reason"].as_str().unwrap_or_default().contains("insufficient memory"), "{plan}");
    }
    assert_eq!(footprint(&sandbox), before);

    // cluster resize --dry-run: the members it would add (numbered on), or how many it would remove.
    let plan = sandbox.run(&["cluster", "resize", "web", "--capacity", "4", "--dry-run", "-o", "json"], &[]).json();
    let names: Vec<&str> = plan["placements"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["web-3", "web-4"], "{plan}");
    assert!(plan["placements"].as_array().unwrap().iter().all(|p| p["host"].is_string()), "{plan}");
    let shrink = sandbox.run(&["cluster", "resize", "web", "--capacity", "1", "--dry-run"], &[]).ok();
    assert!(shrink.contains("would remove 1 node"), "{shrink}");
    let shrink = sandbox.run(&["cluster", "resize", "web", "--capacity", "1", "--dry-run", "-o", "json"], &[]).json();
    assert_eq!((shrink["removals"].as_u64(), shrink["placements"].as_array().map(Vec::len)), (Some(1), Some(0)), "{shrink}");
    let cluster = sandbox.run(&["cluster", "show", "web", "-o", "json"], &[]).json();
    assert_eq!(cluster["desired_capacity"].as_i64(), Some(2), "unchanged: {cluster}");
    assert_eq!(footprint(&sandbox), before);
    let bad = sandbox.run(&["cluster", "resize", "web", "--capacity=-3", "--dry-run"], &[]).fails_with(1);
    assert!(bad.contains("400"), "{bad}");
}
