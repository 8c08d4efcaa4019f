//! What the benchmarks share: the release `flotilla` binary in a sandbox, its long-running roles
//! (server, agent) as child processes with their memory use, and small helpers.
#![allow(dead_code)] // each bench uses its own part of this module

pub mod docker;
pub mod federation;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest wait for a role to start.
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// How often a wait looks again.
pub const POLL: Duration = Duration::from_millis(25);

/// Process id and clock nanoseconds, in hex.
pub fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:x}{nanos:x}", std::process::id())
}

/// Runs a benchmark's async body on a 2-thread runtime: its error on stderr and a failing exit code.
pub fn block_on(body: impl std::future::Future<Output = Result<()>>) -> std::process::ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    match rt.block_on(body) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs `step` and returns how long it took.
pub fn timed(step: impl FnOnce() -> Result<()>) -> Result<Duration> {
    let start = Instant::now();
    step()?;
    Ok(start.elapsed())
}

pub fn warn_on(what: &str, outcome: Result<()>) {
    if let Err(e) = outcome {
        eprintln!("warning: {what}: {e:#}");
    }
}

/// The `flotilla` binary of the bench's own profile: `target/release/flotilla` for
/// `target/release/deps/containers-HASH`.
pub fn flotilla_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the bench executable")?;
    let bin = exe.parent().and_then(|deps| deps.parent()).context("the bench executable is not in target/PROFILE/deps")?.join("flotilla");
    if !bin.is_file() {
        bail!("{} is missing: run `cargo build --release -p flotilla` first", bin.display());
    }
    Ok(bin)
}

/// A temporary HOME and XDG directories for the binary, so the user's own config is left alone.
pub struct Sandbox {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(bin: PathBuf) -> Result<Self> {
        Ok(Self { bin, dir: tempfile::tempdir().context("cannot create a temporary directory")? })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with `args` and `env`, in the sandbox (agents keep their credentials there too),
    /// without the caller's `FLOTILLA_*` variables.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(&self.bin);
        for (key, _) in std::env::vars_os().filter(|(key, _)| key.to_string_lossy().starts_with("FLOTILLA_")) {
            cmd.env_remove(key);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("FLOTILLA_AGENT_STATE_DIR", self.path("agent-state"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied());
        cmd
    }

    /// Runs a CLI command to its end; returns its stdout.
    pub fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
        let out = self.command(args, env).output().context("cannot run the flotilla binary")?;
        if !out.status.success() {
            bail!("`flotilla {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts a role with its output in files of the sandbox, and waits until its stdout has a
    /// line containing `ready`; returns the role and that line.
    pub fn spawn(&self, name: &'static str, args: &[&str], ready: &str) -> Result<(Role, String)> {
        let stdout_path = self.path(&format!("{name}.stdout"));
        let stderr_path = self.path(&format!("{name}.stderr"));
        let stdout = std::fs::File::create(&stdout_path)?;
        let stderr = std::fs::File::create(&stderr_path)?;
        let child = self.command(args, &[]).stdout(stdout).stderr(stderr).spawn().with_context(|| format!("cannot start the {name}"))?;
        let mut role = Role { name, child };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let printed = std::fs::read_to_string(&stdout_path)?;
            if let Some(line) = printed.lines().find(|line| line.contains(ready)) {
                return Ok((role, line.to_owned()));
            }
            let log = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
            if let Some(status) = role.child.try_wait()? {
                bail!("the {name} exited ({status}) before printing {ready:?}: {}", log());
            }
            if Instant::now() > deadline {
                role.stop();
                bail!("the {name} printed no {ready:?} within {TIMEOUT:?}: {}", log());
            }
            std::thread::sleep(POLL);
        }
    }
}

/// A long-running role (`server` or `agent`) as a child process, stopped with SIGTERM.
pub struct Role {
    pub name: &'static str,
    pub child: Child,
}

impl Role {
    /// Peak and current resident memory, in MiB (`VmHWM` and `VmRSS` of /proc/PID/status).
    pub fn memory_mib(&self) -> Result<(f64, f64)> {
        let [peak, now] = self.status_mib(["VmHWM:", "VmRSS:"])?;
        Ok((peak, now))
    }

    /// Resident memory of its own (`RssAnon`) and of mapped files (`RssFile`: the binary's pages,
    /// shared with every other process of the same binary), in MiB.
    pub fn resident_split_mib(&self) -> Result<(f64, f64)> {
        let [own, files] = self.status_mib(["RssAnon:", "RssFile:"])?;
        Ok((own, files))
    }

    /// The figures of /proc/PID/status named `keys` (in kB there), in MiB.
    fn status_mib<const N: usize>(&self, keys: [&str; N]) -> Result<[f64; N]> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let mut figures = [0.0; N];
        for (figure, key) in figures.iter_mut().zip(keys) {
            let kib = status.lines().find_map(|line| line.strip_prefix(key)).map(|v| v.trim().trim_end_matches("kB").trim());
            *figure = kib.and_then(|kib| kib.parse::<f64>().ok()).map(|kib| kib / 1024.0).with_context(|| format!("no {key} in {path}"))?;
        }
        Ok(figures)
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 20 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(POLL);
        }
        eprintln!("warning: the {} ignored SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client of the server at `url` logged in as its bootstrap admin (password `password`).
pub async fn admin(url: &str, password: &str) -> Result<flotilla_client::Client> {
    use flotilla_client::Client;
    let login =
        flotilla_api::TokenCreate { user: "admin".into(), password: password.into(), project: Some("admin".into()), expires_in: None };
    let token = Client::new(url)?.create_token(&login).await?;
    Ok(Client::new(url)?.with_token(token.token.unwrap_or_default()))
}

/// Makes profile `bench` (a tiny container) and cluster `bench` of it with `desired` nodes, each
/// action allowed `timeout` seconds; answers the create's action id.
pub async fn bench_cluster(client: &flotilla_client::Client, desired: i64, timeout: u32) -> Result<String> {
    let properties =
        flotilla_core::profile::ContainerProperties { image: "bench/any:1".into(), cpu: Some(0.01), memory: Some(4), ..Default::default() };
    create_profile(client, "bench", properties).await?;
    create_cluster(client, "bench", "bench", desired, timeout).await
}

/// Makes Docker container profile `name` of `properties`.
pub async fn create_profile(
    client: &flotilla_client::Client,
    name: &str,
    properties: flotilla_core::profile::ContainerProperties,
) -> Result<()> {
    use flotilla_core::profile::{CONTAINER_DOCKER, ProfileSpec};
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    client.create_profile(&flotilla_api::ProfileCreate { name: name.into(), spec, metadata: Default::default() }).await?;
    Ok(())
}

/// Makes cluster `name` of `profile` with `desired` nodes, each action allowed `timeout` seconds;
/// answers the create's action id.
pub async fn create_cluster(client: &flotilla_client::Client, name: &str, profile: &str, desired: i64, timeout: u32) -> Result<String> {
    let body = flotilla_api::ClusterCreate {
        name: name.into(),
        profile: profile.into(),
        desired_capacity: desired,
        min_size: 0,
        max_size: -1,
        timeout: Some(timeout),
        config: Default::default(),
        metadata: Default::default(),
    };
    Ok(client.create_cluster(&body).await?.action.context("the cluster's create has no action")?.to_string())
}

/// The arguments of a simulated agent of 64 CPUs and 1 TiB named `name`, joining `url` with
/// `join`, then `extra` (`--simulate-hosts N`, say).
pub fn sim_agent_args(url: &str, join: &str, name: &str, extra: &[&str]) -> Vec<String> {
    let base = ["agent", "--server", url, "--join-token", join, "--runtime", "sim", "--name", name, "--listen", "127.0.0.1:0"];
    let size = ["--cpus", "64", "--memory-mib", "1048576"];
    base.iter().chain(extra).chain(&size).map(|arg| arg.to_string()).collect()
}
