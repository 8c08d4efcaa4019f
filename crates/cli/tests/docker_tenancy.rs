//! Tenancy end to end on the real Docker Engine: project alpha's private image, once it ran on the
//! one host and sits in its Docker cache, cannot be run by project beta under any name (its tag,
//! a digest of its repository, its Docker id); the refusal is a 404, as for an image that does not
//! exist, and beta gets no Docker container.

mod support;

use serde_json::Value;
use std::process::Command;
use support::{Sandbox, log_in_as_admin};

/// Docker tests share one engine: this one keeps to its own addresses.
const NETWORK_POOL: &str = "10.204.0.0/16";

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Stops the agent, then removes the Docker containers of the listed projects, the networks of
/// the host and the test's image, whatever happened (an agent still running could make again what
/// was just removed: a network was left behind once).
struct Cleanup {
    agent: Option<support::Running>,
    projects: Vec<String>,
    host_id: String,
    tag: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        drop(self.agent.take());
        for project in &self.projects {
            for id in docker(&["ps", "-aq", "--filter", &format!("label=flotilla.project={project}")]).lines() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
        for id in docker(&["network", "ls", "-q", "--filter", &format!("label=flotilla.host={}", self.host_id)]).lines() {
            let _ = Command::new("docker").args(["network", "rm", id]).output();
        }
        let _ = Command::new("docker").args(["image", "rm", "-f", &self.tag]).output();
    }
}

#[test]
fn another_projects_private_image_cannot_run_even_from_the_hosts_cache() {
    let sandbox = Sandbox::new();
    let server = support::start_named_server(&sandbox, "server", None, &["--network-pool", NETWORK_POOL]);
    log_in_as_admin(&sandbox, &server);
    let admin = |args: &[&str]| sandbox.run(args, &[]);
    let token = admin(&["host", "join-token", "-o", "json"]).json()["token"].as_str().expect("a join token").to_owned();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let suffix = format!("{:x}{:x}", std::process::id(), nanos);
    let host = format!("tenancy-{suffix}");
    let args = ["agent", "--server", &server.url, "--join-token", &token, "--name", &host, "--listen", "127.0.0.1:0", "--cpus", "2"];
    let agent = sandbox.spawn("agent", &args, &[], "joined");

    let mut projects = Vec::new();
    let mut configs = Vec::new();
    for (project, user) in [("alpha", "al"), ("beta", "bb")] {
        let made = admin(&["project", "create", project, "-o", "json"]).json();
        projects.push(made["id"].as_str().expect("a project id").to_owned());
        let password = format!("{user}-pass-1234");
        admin(&["user", "create", user, "--password", &password, "--project", project]).ok();
        admin(&["role", "assign", "--user", user, "--project", project, "member"]).ok();
        let config = sandbox.path(&format!("{user}.toml")).to_str().unwrap().to_owned();
        let login = [("FLOTILLA_CONFIG", config.as_str()), ("FLOTILLA_PASSWORD", password.as_str())];
        sandbox.run(&["login", "--url", &server.url, "--user", user, "--project", project], &login).ok();
        configs.push(config);
    }
    let tag = format!("flotilla-e2e/secret:{suffix}");
    let host_id = admin(&["host", "show", &host, "-o", "json"]).json()["id"].as_str().expect("a host id").to_owned();
    let _cleanup = Cleanup { agent: Some(agent), projects: projects.clone(), host_id, tag: tag.clone() };
    let alpha = |args: &[&str]| sandbox.run(args, &[("FLOTILLA_CONFIG", configs[0].as_str())]);
    let beta = |args: &[&str]| sandbox.run(args, &[("FLOTILLA_CONFIG", configs[1].as_str())]);

    // Alpha's private image runs on the one host: the host's Docker cache now holds it.
    let archive = sandbox.path("secret.tar");
    alpha(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag]).ok();
    let image: Value = alpha(&["image", "upload", archive.to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(image["public"], false, "{image}");
    let mine = alpha(&["container", "run", "--name", "mine", "--image", &tag, "--wait", "-o", "json"]).json();
    assert_eq!(mine["status"], "RUNNING", "{mine}");
    let docker_id = docker(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert!(docker_id.starts_with("sha256:"), "{docker_id}");

    // Beta names it by its tag, a digest of its repository and its Docker id: as if it did not exist.
    let repository = tag.split(':').next().unwrap().to_owned();
    for reference in [tag.clone(), format!("{repository}@{docker_id}"), docker_id.clone()] {
        let refused = beta(&["container", "run", "--name", "theirs", "--image", &reference, "-o", "json"]).fails_with(1);
        assert!(refused.contains("404") && refused.contains("not found"), "{reference}: {refused}");
    }
    let listed = beta(&["container", "list", "-o", "json"]).json();
    assert_eq!(listed["containers"].as_array().map(Vec::len), Some(0), "{listed}");
    let theirs = docker(&["ps", "-aq", "--filter", &format!("label=flotilla.project={}", projects[1])]);
    assert!(theirs.is_empty(), "beta has no Docker container: {theirs}");

    // Alpha's container runs the image by its Docker id, never by the tag it finds in the cache.
    let runtime_id = mine["runtime_id"].as_str().expect("a runtime id");
    assert_eq!(docker(&["inspect", "--format", "{{.Config.Image}}", runtime_id]), docker_id);
    alpha(&["container", "delete", "mine", "--force"]).ok();
}
