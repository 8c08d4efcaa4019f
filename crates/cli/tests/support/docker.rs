//! Docker leftovers of a test: removed when it ends, however it ends.

use super::{Running, Sandbox, log_in_as_admin, start_named_server};
use std::process::Command;

/// Removes the Docker containers of a project, the networks of a host and the image when the
/// test ends, however it ends.
pub struct Cleanup {
    pub project: String,
    pub host: Option<String>,
    pub image: String,
}

/// The ids of the Docker containers of `project`, running or not (none when Docker cannot tell).
pub fn containers_of(project: &str) -> Vec<String> {
    let listed = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label=flotilla.project={project}")]).output();
    listed.map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect()).unwrap_or_default()
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for id in containers_of(&self.project) {
            let _ = Command::new("docker").args(["rm", "-f", &id]).output();
        }
        if let Some(host) = &self.host {
            let listed = Command::new("docker").args(["network", "ls", "-q", "--filter", &format!("label=flotilla.host={host}")]).output();
            for id in listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().lines() {
                let _ = Command::new("docker").args(["network", "rm", id]).output();
            }
        }
        let _ = Command::new("docker").args(["image", "rm", "-f", &self.image]).output();
    }
}

/// A region on the real Docker Engine: a server with the admin logged in, one real agent called
/// `host`, and the workload image uploaded as `tag`. Dropped: the agent stops, the leftovers go,
/// then the server stops.
pub struct DockerRegion {
    _agent: Running,
    pub cleanup: Cleanup,
    pub server: Running,
    pub host: String,
    pub tag: String,
}

/// Starts a [`DockerRegion`] whose default networks come from `pool` (Docker tests share one
/// engine: each keeps to its own addresses); `name` tells its host and image from other tests'.
pub fn docker_region(sandbox: &Sandbox, pool: &str, name: &str) -> DockerRegion {
    let server = start_named_server(sandbox, "server", None, &["--network-pool", pool]);
    log_in_as_admin(sandbox, &server);
    let project = sandbox.run(&["project", "show", "admin", "-o", "json"], &[]).json()["id"].as_str().unwrap().to_owned();
    let suffix = format!("{:x}", std::process::id());
    let tag = format!("flotilla-{name}/workload:{suffix}");
    let mut cleanup = Cleanup { project, host: None, image: tag.clone() };
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let host = format!("docker-{name}-{suffix}");
    let args = ["agent", "--server", &server.url, "--join-token", &token, "--name", &host, "--listen", "127.0.0.1:0", "--cpus", "2"];
    let agent = sandbox.spawn("agent", &args, &[], "joined");
    cleanup.host = sandbox.run(&["host", "show", &host, "-o", "json"], &[]).json()["id"].as_str().map(str::to_owned);
    let archive = sandbox.path("workload.tar");
    sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
    sandbox.run(&["image", "upload", archive.to_str().unwrap(), "-o", "json"], &[]).json();
    DockerRegion { _agent: agent, cleanup, server, host, tag }
}
