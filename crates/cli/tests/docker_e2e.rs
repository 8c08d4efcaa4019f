//! End to end on the real Docker Engine: a real `flotilla server`, two real `flotilla agent`
//! processes sharing the engine, the workload image built offline and uploaded, and the CLI.

mod support;

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{Running, Sandbox, log_in_as_admin};

/// Host grace period of the test region, in seconds.
/// Default networks of this test's projects come from here: Docker tests share one engine, each keeps to its own addresses.
const NETWORK_POOL: &str = "10.201.0.0/16";
const GRACE_SECS: u64 = 3;

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Docker containers carrying `flotilla.container=ID`, running or not.
fn docker_ids(container_id: &str) -> Vec<String> {
    docker(&["ps", "-aq", "--no-trunc", "--filter", &format!("label=flotilla.container={container_id}")])
        .lines()
        .map(str::to_owned)
        .collect()
}

struct Region {
    sandbox: Sandbox,
    server: Running,
    token: String,
    suffix: String,
}

impl Drop for Region {
    /// Whatever happened, the Docker containers and images of this region go (a failed run too).
    fn drop(&mut self) {
        let shown = self.sandbox.run(&["project", "show", "admin", "-o", "json"], &[]);
        let project = serde_json::from_str::<Value>(&shown.stdout).ok().and_then(|p| p["id"].as_str().map(str::to_owned));
        if let Some(project) = project {
            let ids = docker(&["ps", "-aq", "--filter", &format!("label=flotilla.project={project}")]);
            for id in ids.lines() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
        let _ = Command::new("docker").args(["image", "rm", "-f", &format!("flotilla-e2e/workload:{}", self.suffix)]).output();
    }
}

impl Region {
    fn cli(&self, args: &[&str]) -> support::Outcome {
        self.sandbox.run(args, &[])
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        self.cli(&all).json()
    }

    fn agent(&self, name: &str) -> Running {
        let name = format!("{name}-{}", self.suffix);
        let args =
            ["agent", "--server", &self.server.url, "--join-token", &self.token, "--name", &name, "--listen", "127.0.0.1:0", "--cpus", "2"];
        self.sandbox.spawn(&format!("agent-{name}"), &args, &[], "joined")
    }

    fn container(&self, name: &str) -> Value {
        self.json(&["container", "show", name])
    }

    /// Polls `container show` until `check` holds.
    fn wait_container(&self, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let c = self.container(name);
            if check(&c) {
                return c;
            }
            assert!(Instant::now() < deadline, "container {name} never {what}: {c}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_status(&self, name: &str, status: &str) -> Value {
        self.wait_container(name, &format!("became {status}"), |c| c["status"] == status)
    }
}

fn start_region() -> Region {
    let sandbox = Sandbox::new();
    let grace = GRACE_SECS.to_string();
    let server = support::start_named_server(&sandbox, "server", None, &["--host-grace-period", &grace, "--network-pool", NETWORK_POOL]);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().expect("a join token").to_owned();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let suffix = format!("{:x}{:x}", std::process::id(), nanos);
    Region { sandbox, server, token, suffix }
}

#[test]
fn containers_on_two_docker_agents_from_upload_to_delete() {
    let region = start_region();
    let agent_a = region.agent("a");
    let agent_b = region.agent("b");
    let hosts = region.json(&["host", "list"]);
    assert_eq!(hosts["hosts"].as_array().map(Vec::len), Some(2), "{hosts}");

    // The workload image, built offline from this very binary, uploaded to the region.
    let tag = format!("flotilla-e2e/workload:{}", region.suffix);
    let archive = region.sandbox.path("workload.tar");
    region.cli(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag]).ok();
    let image = region.json(&["image", "upload", archive.to_str().unwrap()]);
    assert_eq!(image["name"], tag.as_str());

    let run = ["container", "run", "--name", "web", "--image", &tag, "--restart", "always", "--wait", "-o", "json"];
    let web = region.cli(&run).json();
    assert_eq!(web["status"], "RUNNING", "{web}");
    let id = web["id"].as_str().unwrap().to_owned();
    let host = web["host"].as_str().unwrap().to_owned();
    assert!(host.starts_with("a-") || host.starts_with("b-"), "placed on one of the two agents: {host}");
    let first_runtime_id = web["runtime_id"].as_str().unwrap().to_owned();
    assert_eq!(docker_ids(&id), vec![first_runtime_id.clone()], "one labelled Docker container");

    // Logs and exec (exit codes pass through).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !region.cli(&["container", "logs", "web"]).ok().contains("workload listening") {
        assert!(Instant::now() < deadline, "the workload's start line never reached the logs");
        std::thread::sleep(Duration::from_millis(200));
    }
    let exec = region.cli(&["container", "exec", "web", "--", "/flotilla", "--version"]);
    assert_eq!(exec.code, Some(0), "{exec:?}");
    assert!(exec.stdout.contains("flotilla"), "{exec:?}");
    let failing = region.cli(&["container", "exec", "web", "--", "/flotilla", "no-such-command"]);
    assert_eq!(failing.code, Some(2), "the command's own exit code: {failing:?}");

    // Stats, top, a followed log that sees a new line, rename.
    let stats = region.json(&["container", "stats", "web"]);
    assert!(stats["memory_used_mib"].as_f64().is_some_and(|m| m > 0.0), "{stats}");
    let top = region.json(&["container", "top", "web"]);
    assert!(top.to_string().contains("workload"), "the workload process is listed: {top}");
    let mut follow = region.sandbox.command(&["container", "logs", "web", "-f"], &[]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let exec = region.cli(&["container", "exec", "web", "--", "/flotilla", "workload", "--help"]);
    assert_eq!(exec.code, Some(0), "{exec:?}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(follow.try_wait().unwrap().is_none(), "logs -f keeps streaming");
    let _ = follow.kill();
    let streamed = follow.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&streamed.stdout).contains("workload listening"), "logs -f printed the log");
    region.cli(&["container", "rename", "web", "www"]).ok();
    assert!(docker(&["inspect", "-f", "{{.Name}}", &first_runtime_id]).contains("flt-www-"), "renamed in Docker too");
    region.cli(&["container", "rename", "www", "web"]).ok();
    region.cli(&["container", "update", "web", "--memory", "96", "--cpu", "0.5"]).ok();
    let limits = docker(&["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", &first_runtime_id]);
    assert_eq!(limits, format!("{} 500000000", 96 * 1024 * 1024), "new limits reach Docker");

    // Stop, start, restart, kill.
    region.cli(&["container", "stop", "web", "--wait"]).ok();
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", &first_runtime_id]), "false");
    region.cli(&["container", "start", "web", "--wait", "--wait-timeout", "60"]).ok();
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", &first_runtime_id]), "true");
    let started = docker(&["inspect", "-f", "{{.State.StartedAt}}", &first_runtime_id]);
    region.cli(&["container", "restart", "web", "--wait"]).ok();
    assert_ne!(docker(&["inspect", "-f", "{{.State.StartedAt}}", &first_runtime_id]), started, "restarted");
    region.cli(&["container", "kill", "web"]).ok();
    region.wait_status("web", "STOPPED");
    region.cli(&["container", "start", "web", "--wait", "--wait-timeout", "60"]).ok();

    // Removed behind Flotilla's back: reported, and recreated under its restart policy.
    docker(&["rm", "-f", &first_runtime_id]);
    let recreated =
        region.wait_container("web", "was recreated", |c| c["status"] == "RUNNING" && c["runtime_id"] != first_runtime_id.as_str());
    let runtime_id = recreated["runtime_id"].as_str().unwrap().to_owned();
    assert_eq!(docker_ids(&id), vec![runtime_id.clone()]);

    // Without a restart policy, the removal is reported as an error and nothing is recreated.
    let plain = region.cli(&["container", "run", "--name", "plain", "--image", &tag, "--wait", "-o", "json"]).json();
    let plain_id = plain["id"].as_str().unwrap().to_owned();
    docker(&["rm", "-f", plain["runtime_id"].as_str().unwrap()]);
    let lost = region.wait_status("plain", "ERROR");
    assert!(lost["status_reason"].as_str().unwrap().contains("outside Flotilla"), "{lost}");
    assert!(docker_ids(&plain_id).is_empty());
    region.cli(&["container", "delete", "plain", "--wait"]).ok();

    // The host's agent stops: DOWN within the grace period, its containers UNKNOWN.
    let (mut holder, other, host_short) = if host.starts_with("a-") { (agent_a, agent_b, "a") } else { (agent_b, agent_a, "b") };
    let stopped = Instant::now();
    assert!(holder.terminate().is_some_and(|s| s.success()), "the agent stops gracefully");
    let deadline = Instant::now() + Duration::from_secs(GRACE_SECS * 3);
    while region.json(&["host", "show", &host])["state"] != "DOWN" {
        assert!(Instant::now() < deadline, "host {host} never went DOWN");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(stopped.elapsed() <= Duration::from_secs(GRACE_SECS * 2 + 1), "DOWN after {:?}", stopped.elapsed());
    assert_eq!(region.container("web")["status"], "UNKNOWN");
    assert_eq!(docker(&["inspect", "-f", "{{.State.Running}}", &runtime_id]), "true", "stopping an agent leaves its containers running");

    // The agent returns: the same container is adopted, not recreated.
    holder = region.agent(host_short);
    let adopted = region.wait_status("web", "RUNNING");
    assert_eq!(adopted["runtime_id"], runtime_id.as_str(), "adopted, not recreated");
    assert_eq!(region.json(&["host", "show", &host])["state"], "UP");

    // Rebuild replaces the Docker container with a fresh one of the next generation.
    region.cli(&["container", "rebuild", "web", "--wait"]).ok();
    let rebuilt = region.wait_container("web", "was rebuilt", |c| c["status"] == "RUNNING" && c["generation"] == 2);
    assert_ne!(rebuilt["runtime_id"], runtime_id.as_str());
    assert_eq!(docker_ids(&id), vec![rebuilt["runtime_id"].as_str().unwrap().to_owned()], "only the new generation is left");

    // Delete leaves nothing behind in Docker.
    region.cli(&["container", "delete", "web", "--stop", "--wait"]).ok();
    assert!(docker_ids(&id).is_empty(), "no Docker container left");
    region.cli(&["image", "delete", &tag]).ok();
    drop(holder);
    drop(other);
}
