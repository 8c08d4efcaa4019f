//! Prometheus metrics of a real `flotilla server` and two `flotilla agent` processes (simulated
//! runtimes, `--metrics-listen`), scraped before and after clusters are created and scaled, a
//! scale-out refused on the held lock, a cluster no host fits, and a host whose runtime fails:
//! the engine's, scheduler's, region's and agents' series move as they should.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::{Running, Sandbox, log_in_as_admin, sim_agent, start_server_on, wait_until};

/// How long the region may take to converge.
const CONVERGE: Duration = Duration::from_secs(60);

/// `GET /metrics` at `addr` (`HOST:PORT`): the text exposition.
fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    body.to_owned()
}

/// The value of series `name` with (at least) `labels`, 0 when absent; the labels in any order.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let found = text.lines().filter(|line| !line.starts_with('#')).find(|line| {
        let labels = match line.strip_prefix(name) {
            Some(rest) if rest.starts_with(' ') => "",
            Some(rest) if rest.starts_with('{') => rest.split('}').next().unwrap_or_default(),
            _ => return false,
        };
        wanted.iter().all(|w| labels.contains(w.as_str()))
    });
    found.map_or(0.0, |line| line.rsplit(' ').next().unwrap().parse().unwrap_or_else(|_| panic!("no number in {line}")))
}

/// The address an agent serves its metrics at, from what it printed.
fn metrics_addr(agent: &Running) -> String {
    let line = agent.seen.iter().find(|l| l.contains("metrics at http://")).expect("the agent said where its metrics are");
    line.split("http://").nth(1).unwrap().trim_end_matches("/metrics").to_owned()
}

fn file(sandbox: &Sandbox, name: &str, text: &str) -> String {
    let path = sandbox.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A profile of containers kept to hosts labelled `role=ROLE`, health-checked every second.
fn profile(role: &str) -> String {
    format!(
        "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 64\n  \
         constraints: [\"label.role == {role}\"]\n  healthcheck: {{command: [\"true\"], interval: 1}}\n"
    )
}

#[test]
fn metrics_move_with_clusters_placements_and_agents() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let listen = ["--metrics-listen", "127.0.0.1:0"];
    let good = [&listen[..], &["--label", "role=good", "--sim-latency-ms", "300"]].concat();
    let good = sim_agent(&sandbox, &server, &token, "good", &good, "metrics at");
    let bad = [&listen[..], &["--label", "role=bad", "--sim-failure-rate", "1"]].concat();
    let bad = sim_agent(&sandbox, &server, &token, "bad", &bad, "metrics at");
    let addr = server.url.strip_prefix("http://").unwrap().to_owned();
    let before = scrape(&addr);

    // Create and scale a cluster on the good host.
    for (name, role) in [("web", "good"), ("frail", "bad"), ("nowhere", "none")] {
        sandbox.run(&["profile", "create", name, "--spec-file", &file(&sandbox, &format!("{name}.yaml"), &profile(role))], &[]).ok();
    }
    sandbox.run(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "2", "--wait"], &[]).ok();
    sandbox.run(&["cluster", "scale-out", "web", "--count", "1", "--wait"], &[]).ok();

    // A scale-out while another holds the cluster's lock: 409, counted as a lock conflict.
    sandbox.run(&["cluster", "scale-out", "web", "--count", "1"], &[]).ok();
    let refused = sandbox.run(&["cluster", "scale-out", "web", "--count", "1"], &[]).fails_with(1);
    assert!(refused.contains("409") && refused.contains("locked"), "{refused}");
    let succeeded = |kind: &str| value(&scrape(&addr), "flotilla_engine_actions_total", &[("kind", kind), ("result", "succeeded")]);
    wait_until("the second scale-out ends", CONVERGE, || succeeded("CLUSTER_SCALE_OUT") >= 2.0);

    // A cluster no host fits: its create fails.
    let doomed = ["cluster", "create", "doomed", "--profile", "nowhere", "--desired-capacity", "1", "--wait"];
    let failed = sandbox.run(&doomed, &[]);
    assert_eq!(failed.code, Some(1), "{failed:?}");
    assert!(failed.stderr.contains("FAILED") && failed.stderr.contains("excluded by constraints"), "{failed:?}");

    let running = |text: &str| value(text, "flotilla_region_containers", &[("status", "RUNNING")]);
    wait_until("four members run", CONVERGE, || running(&scrape(&addr)) >= 4.0);
    let after = scrape(&addr);
    let moved = |name: &str, labels: &[(&str, &str)]| (value(&before, name, labels), value(&after, name, labels));
    assert_eq!(moved("flotilla_engine_actions_total", &[("kind", "CLUSTER_CREATE"), ("result", "succeeded")]), (0.0, 1.0));
    let (_, failed) = moved("flotilla_engine_actions_total", &[("kind", "CLUSTER_CREATE"), ("result", "failed")]);
    assert!(failed >= 1.0, "doomed's (frail's may follow): {after}");
    assert_eq!(moved("flotilla_engine_actions_total", &[("kind", "CLUSTER_SCALE_OUT"), ("result", "succeeded")]), (0.0, 2.0));
    let (_, nodes) = moved("flotilla_engine_actions_total", &[("kind", "NODE_CREATE"), ("result", "succeeded")]);
    assert!(nodes >= 4.0, "{after}");
    let (_, timed) = moved("flotilla_engine_action_duration_seconds_count", &[("kind", "NODE_CREATE")]);
    assert!(timed >= 4.0, "{after}");
    assert!(value(&after, "flotilla_engine_action_duration_seconds_sum", &[("kind", "NODE_CREATE")]) >= 4.0 * 0.3, "sim latency: {after}");
    assert_eq!(moved("flotilla_engine_lock_conflicts_total", &[]), (0.0, 1.0));
    let (placed_before, placed) = moved("flotilla_scheduler_placements_total", &[]);
    assert!(placed_before == 0.0 && placed >= 4.0, "web's four members: {after}");
    let (_, no_fits) = moved("flotilla_scheduler_no_fits_total", &[("reason", "constraint")]);
    assert!(no_fits >= 1.0, "{after}");
    assert!(value(&after, "flotilla_scheduler_placement_duration_seconds_count", &[]) >= placed + no_fits, "{after}");

    // The region, as the store has it now.
    assert_eq!(
        (value(&after, "flotilla_region_hosts", &[("state", "UP")]), value(&after, "flotilla_region_hosts", &[("state", "DOWN")])),
        (2.0, 0.0)
    );
    assert_eq!(value(&before, "flotilla_region_containers", &[("status", "RUNNING")]), 0.0, "{before}");
    assert!(after.contains("flotilla_engine_queue_depth{status=\"READY\"}"), "{after}");
    let subnet = after.lines().find(|l| l.starts_with("flotilla_region_subnet_addresses_allocated{") && l.contains("network=\"default\""));
    let subnet = subnet.unwrap_or_else(|| panic!("the default network's subnet: {after}"));
    let allocated: f64 = subnet.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(allocated >= 4.0, "web's four members: {subnet}");
    let labels = &subnet[subnet.find('{').unwrap()..=subnet.find('}').unwrap()];
    let size = after.lines().find_map(|l| l.strip_prefix(&format!("flotilla_region_subnet_addresses_size{labels} ")));
    let size: f64 = size.unwrap_or_else(|| panic!("the subnet's size: {after}")).parse().unwrap();
    assert!(size > allocated, "{subnet}: of {size}");

    // The containers gauge counts every container once, whatever its status: web's four (doomed's none).
    let listed = sandbox.run(&["container", "list", "-o", "json"], &[]).json()["containers"].as_array().unwrap().len();
    let counted: f64 = after
        .lines()
        .filter(|l| l.starts_with("flotilla_region_containers{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!((counted, listed), (4.0, 4), "{after}");

    // Each agent's own series: passes and their time, probes; a cluster on the host whose runtime
    // fails: its errors.
    let good_metrics = metrics_addr(&good);
    wait_until("the good host's probes pass", CONVERGE, || {
        value(&scrape(&good_metrics), "flotilla_agent_probe_results_total", &[("result", "pass")]) >= 1.0
    });
    let text = scrape(&good_metrics);
    assert!(value(&text, "flotilla_agent_reconcile_passes_total", &[("result", "ok")]) >= 1.0, "{text}");
    assert!(value(&text, "flotilla_agent_reconcile_duration_seconds_count", &[]) >= 1.0, "{text}");
    assert_eq!(value(&text, "flotilla_agent_runtime_errors_total", &[("operation", "create")]), 0.0, "{text}");
    sandbox.run(&["cluster", "create", "frail", "--profile", "frail", "--desired-capacity", "1"], &[]).ok();
    let bad_metrics = metrics_addr(&bad);
    wait_until("the bad host's creates fail", CONVERGE, || {
        value(&scrape(&bad_metrics), "flotilla_agent_runtime_errors_total", &[("operation", "create")]) >= 1.0
    });
}
