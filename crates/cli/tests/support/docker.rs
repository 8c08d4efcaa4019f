//! Docker leftovers of a test: removed when it ends, however it ends.

use std::process::Command;

/// Removes the Docker containers of a project, the networks of a host and the image when the
/// test ends, however it ends.
pub struct Cleanup {
    pub project: String,
    pub host: Option<String>,
    pub image: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let listed = Command::new("docker").args(["ps", "-aq", "--filter", &format!("label=flotilla.project={}", self.project)]).output();
        for id in listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().lines() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
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
