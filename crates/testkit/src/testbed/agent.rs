//! A real `flotilla agent` process inside one host's namespace, driving that host's engine and
//! serving the server's calls on the host's underlay address.

use super::TestbedError;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

/// The port every agent serves the server's calls on (each host has its own address).
pub const AGENT_PORT: u16 = 7947;

/// What an agent is started with, beyond what the testbed knows of its host.
#[derive(Debug, Clone)]
pub struct AgentArgs {
    /// The `flotilla` binary (a test has it as `env!("CARGO_BIN_EXE_flotilla")`).
    pub binary: PathBuf,
    /// The region server's URL, on [`Testbed::server_ip`](super::Testbed::server_ip).
    pub server_url: String,
    pub join_token: String,
    /// More flags, e.g. `--tunnel-address`, `--zone`, `--label`.
    pub extra_args: Vec<String>,
}

/// The inputs of one agent's command line that come from its host.
pub(crate) struct HostSide {
    pub name: String,
    pub netns: PathBuf,
    pub docker_host: String,
    pub listen: String,
    pub state_dir: PathBuf,
    pub log: PathBuf,
}

/// A running agent; killed when dropped, stopped gracefully by [`AgentProcess::stop`].
#[derive(Debug)]
pub struct AgentProcess {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
    log: PathBuf,
}

pub(crate) fn spawn(host: HostSide, args: AgentArgs) -> Result<AgentProcess, TestbedError> {
    std::fs::create_dir_all(&host.state_dir).map_err(TestbedError::io("creating the agent's state dir"))?;
    let log = std::fs::File::create(&host.log).map_err(TestbedError::io("creating the agent's log"))?;
    let mut child = tokio::process::Command::new("nsenter")
        .arg(format!("--net={}", host.netns.display()))
        .arg(&args.binary)
        .args(["agent", "--server", &args.server_url, "--join-token", &args.join_token, "--name", &host.name])
        .args(["--docker-host", &host.docker_host, "--listen", &host.listen])
        .arg("--state-dir")
        .arg(&host.state_dir)
        .args(&args.extra_args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(TestbedError::io(format!("starting {} agent in {}", args.binary.display(), host.name)))?;
    let stdout = child.stdout.take().map(|out| BufReader::new(out).lines());
    let stdout = stdout.ok_or_else(|| TestbedError::io("reading the agent's output")(std::io::ErrorKind::BrokenPipe.into()))?;
    Ok(AgentProcess { child, stdout, seen: Vec::new(), log: host.log })
}

impl AgentProcess {
    /// Waits until the agent printed a line containing `text` (`joined` once it joined).
    pub async fn wait_for(&mut self, text: &str, limit: Duration) -> Result<String, TestbedError> {
        if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
            return Ok(line.clone());
        }
        let timeout =
            || TestbedError::Timeout { what: format!("agent printing {text:?} (log {})", self.log.display()), secs: limit.as_secs() };
        let read = async {
            while let Some(line) = self.stdout.next_line().await.map_err(TestbedError::io("reading the agent's output"))? {
                self.seen.push(line.clone());
                if line.contains(text) {
                    return Ok(Some(line));
                }
            }
            Ok(None)
        };
        match tokio::time::timeout(limit, read).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err(TestbedError::Command {
                command: format!("flotilla agent (exited before printing {text:?})"),
                stderr: std::fs::read_to_string(&self.log).unwrap_or_default(),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(timeout()),
        }
    }

    /// The agent's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the exit status once it stopped.
    pub async fn stop(mut self) -> Result<ExitStatus, TestbedError> {
        if let Some(pid) = self.child.id().and_then(|pid| rustix::process::Pid::from_raw(pid as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(status) => status.map_err(TestbedError::io("waiting for the agent")),
            Err(_) => Err(TestbedError::Timeout { what: "agent stopping on SIGTERM".into(), secs: 20 }),
        }
    }
}
