//! A region on the local Docker Engine for the benches that run real containers: a `flotilla server`,
//! one `flotilla agent` and the workload image built offline and uploaded; and the docker CLI.

use super::{POLL, Role, Sandbox, TIMEOUT, flotilla_binary, unique_suffix, warn_on};
use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

pub const PASSWORD: &str = "bench-pass-1234";

/// One server and one agent on the local Docker Engine, with the workload image uploaded.
pub struct LocalRegion {
    pub server: Role,
    pub agent: Role,
    pub url: String,
    /// The agent's host id (label `flotilla.host` of its containers and networks).
    pub host_id: String,
    /// The workload image's tag.
    pub tag: String,
    /// The archive of the workload image, in the sandbox.
    pub archive: String,
    /// Unique to this run: in the image tag and the host name, for the bench's own names.
    pub suffix: String,
    /// Holds the roles' data and logs, until the bench ends.
    pub sandbox: Sandbox,
}

impl LocalRegion {
    /// Starts the server (with `server_flags` besides its own), logs the CLI in, starts the agent
    /// and uploads the workload image.
    pub fn start(server_flags: &[&str]) -> Result<Self> {
        let sandbox = Sandbox::new(flotilla_binary()?)?;
        let suffix = unique_suffix();
        let data = sandbox.path("data").display().to_string();
        let mut server_args = vec!["server", "--listen", "127.0.0.1:0", "--data-dir", &data, "--bootstrap-password", PASSWORD];
        server_args.extend(server_flags);
        let (server, ready) = sandbox.spawn("server", &server_args, "listening on ")?;
        let url = ready.split_once("listening on ").map(|(_, url)| url.trim().to_owned()).context("the server printed no URL")?;
        sandbox.cli(&["login", "--url", &url, "--user", "admin", "--project", "admin"], &[("FLOTILLA_PASSWORD", PASSWORD)])?;
        let join_token = sandbox.cli(&["host", "join-token", "-o", "json"], &[])?;
        let join_token: serde_json::Value = serde_json::from_str(&join_token).context("`host join-token` printed no JSON")?;
        let join_token = join_token["token"].as_str().context("`host join-token` printed no token")?;
        let name = format!("bench-{suffix}");
        let agent_args = ["agent", "--server", &url, "--join-token", join_token, "--name", &name, "--listen", "127.0.0.1:0"];
        let (agent, ready) = sandbox.spawn("agent", &agent_args, "joined")?;
        // `host NAME joined URL as HOST_ID (serving calls at ...)`
        let host_id = ready.split(" as ").nth(1).and_then(|s| s.split_whitespace().next()).context("the agent printed no host id")?;
        let tag = format!("flotilla-bench/workload:{suffix}");
        let archive = sandbox.path("workload.tar").display().to_string();
        sandbox.cli(&["workload", "image", &archive, "--tag", &tag], &[])?;
        sandbox.cli(&["image", "upload", &archive], &[])?;
        Ok(Self { host_id: host_id.to_owned(), sandbox, server, agent, url, tag, archive, suffix })
    }

    /// Label filter `flotilla.host=HOST_ID`: the containers and networks of this region's agent.
    pub fn host_label(&self) -> String {
        format!("{}={}", flotilla_api::agent::LABEL_HOST, self.host_id)
    }

    /// Once the bench deleted its containers: waits (up to [`TIMEOUT`]) for the agent to remove
    /// its networks, stops the roles, removes what the agent left (a warning says so) and the
    /// image. Failures are printed as warnings.
    pub fn stop(&mut self) {
        let host = self.host_label();
        let networks = || docker_filtered(&["network", "ls", "-q"], &[&host]);
        let deadline = Instant::now() + TIMEOUT;
        while networks().is_ok_and(|left| !left.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        self.agent.stop();
        self.server.stop();
        for (what, listed, remove) in
            [("containers", docker_ids(&[&host]), ["rm", "-f"].as_slice()), ("networks", networks(), ["network", "rm"].as_slice())]
        {
            match listed {
                Ok(ids) if !ids.is_empty() => {
                    eprintln!("warning: the agent left {what} behind: {}", ids.join(" "));
                    warn_on(&format!("removing the agent's {what}"), remove_all(remove, Ok(ids)));
                }
                listed => warn_on(&format!("listing the agent's {what}"), listed.map(drop)),
            }
        }
        warn_on("removing the image", docker_cli(&["image", "rm", &self.tag]).map(drop));
    }
}

/// Runs the docker CLI; returns its trimmed stdout.
pub fn docker_cli(args: &[&str]) -> Result<String> {
    let out = Command::new("docker").args(args).output().context("cannot run the docker CLI")?;
    if !out.status.success() {
        bail!("`docker {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Docker containers, running or not, carrying all of `labels` (`KEY` or `KEY=VALUE`).
pub fn docker_ids(labels: &[&str]) -> Result<Vec<String>> {
    docker_filtered(&["ps", "-aq"], labels)
}

/// Runs `command` (a listing such as `ps -q`) with a `label=` filter for each of `labels`; answers
/// the lines it printed.
pub fn docker_filtered(command: &[&str], labels: &[&str]) -> Result<Vec<String>> {
    let mut args = command.to_vec();
    let filters: Vec<String> = labels.iter().map(|label| format!("label={label}")).collect();
    for filter in &filters {
        args.extend(["--filter", filter]);
    }
    Ok(docker_cli(&args)?.lines().map(str::to_owned).collect())
}

/// `docker COMMAND ID...` for the ids `listed`, when there are any.
pub fn remove_all(command: &[&str], listed: Result<Vec<String>>) -> Result<()> {
    let ids = listed?;
    if ids.is_empty() {
        return Ok(());
    }
    let mut args = command.to_vec();
    args.extend(ids.iter().map(String::as_str));
    docker_cli(&args).map(drop)
}
