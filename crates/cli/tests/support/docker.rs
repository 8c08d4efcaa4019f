//! Docker leftovers of a test: removed when it ends, however it ends.

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
