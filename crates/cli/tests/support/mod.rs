//! What the binary's tests share: a sandboxed environment, finished commands, and long-running
//! roles (server, dev, agent) as child processes stopped with SIGTERM.
#![allow(dead_code)] // each test crate uses its own part of this module

pub mod docker;
pub mod openstack;
pub mod regions;
pub mod testbed;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_flotilla");
pub const ADMIN_PASSWORD: &str = "admin-pass-1234";
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Variables of the developer's shell that would change what the binary does.
pub const LEAKY_VARS: &[&str] = &[
    "FLOTILLA_URL",
    "FLOTILLA_TOKEN",
    "FLOTILLA_PASSWORD",
    "FLOTILLA_NEW_PASSWORD",
    "FLOTILLA_CONFIG",
    "FLOTILLA_LISTEN",
    "FLOTILLA_DATA_DIR",
    "FLOTILLA_DATABASE",
    "FLOTILLA_REGION",
    "FLOTILLA_BOOTSTRAP_PASSWORD",
    "FLOTILLA_SERVER_CONFIG",
    "FLOTILLA_LOG_FORMAT",
    "FLOTILLA_CACERT",
    "FLOTILLA_TLS_CERT",
    "FLOTILLA_TLS_KEY",
    "FLOTILLA_CALLBACK_CERT",
    "FLOTILLA_CALLBACK_KEY",
    "FLOTILLA_JOIN_TOKEN",
];

/// A sandbox: its own HOME and XDG directories, so nothing touches the real user's files.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Drop for Sandbox {
    /// A failed test leaves its sandbox (logs of every role) under /tmp for a look afterwards.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let keep = std::env::temp_dir().join(format!("flotilla-failed-{}", std::process::id()));
            let _ = Command::new("cp").arg("-r").arg(self.dir.path()).arg(&keep).status();
            eprintln!("sandbox kept in {}", keep.display());
        }
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with `args`, the sandbox's environment and `env` on top.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_of(BIN, args, env)
    }

    /// [`Sandbox::command`] with the binary at `program` (an installed one).
    pub fn command_of(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null());
        for var in LEAKY_VARS {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("xdg-config"))
            .env("XDG_DATA_HOME", self.path("xdg-data"))
            .env("FLOTILLA_AGENT_STATE_DIR", self.path("agent-state"))
            .env("RUST_LOG", "info")
            .env_remove("RUST_BACKTRACE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a CLI command to the end.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        self.run_command(args, self.command(args, env))
    }

    /// Runs `command` (whose arguments are `args`) to the end.
    pub fn run_command(&self, args: &[&str], mut command: Command) -> Outcome {
        let out = command.output().unwrap();
        Outcome {
            args: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Starts a server role (`server` or `dev`) and waits until it printed `last_line`.
    pub fn spawn(&self, name: &str, args: &[&str], env: &[(&str, &str)], last_line: &str) -> Running {
        self.spawn_command(name, self.command(args, env), last_line)
    }

    /// Starts `command` (a role, its output kept as `name`'s) and waits until it printed `last_line`.
    pub fn spawn_command(&self, name: &str, mut command: Command, last_line: &str) -> Running {
        let stderr_path = self.path(&format!("{name}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut running = Running { child, lines, seen: Vec::new(), stderr_path, url: String::new() };
        running.wait_for(last_line);
        let url = running.seen.iter().find_map(|l| l.strip_prefix("listening on ")).map(str::to_owned);
        running.url = url.unwrap_or_default();
        running
    }
}

/// Waits up to `within` for `check`, looking every 200 ms; panics naming `what` after that.
pub fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One HTTP/1.0 request to `url` (http://HOST:PORT) over a fresh connection: the status code and the body.
pub fn http(url: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    use std::io::Write;
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    http_answer(&mut stream)
}

/// The status code and body of the HTTP/1.0 answer read from `stream` to its end.
pub fn http_answer(stream: &mut impl std::io::Read) -> (u16, String) {
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_owned())
}

/// A loopback address free right now, for a server that must know its own URL before it starts.
pub fn free_address() -> String {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string()
}

/// `flotilla server` on SQLite in the sandbox's data dir, or on the PostgreSQL database `database`.
pub fn start_server_on(sandbox: &Sandbox, database: Option<&str>) -> Running {
    start_named_server(sandbox, "server", database, &[])
}

/// `flotilla server` called `name` (its data dir and logs are `name-*`, but `data` for
/// `server`), on `database` or SQLite, with `extra` flags.
pub fn start_named_server(sandbox: &Sandbox, name: &str, database: Option<&str>, extra: &[&str]) -> Running {
    let data = sandbox.path(if name == "server" { "data".to_owned() } else { format!("{name}-data") }.as_str());
    let mut args = vec!["server", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap(), "--bootstrap-password", ADMIN_PASSWORD];
    if let Some(url) = database {
        args.extend(["--database", url]);
    }
    args.extend(extra);
    sandbox.spawn(name, &args, &[], "listening on ")
}

/// `flotilla agent --runtime sim` joining `server` with `token` as `name`, plus `extra` flags; waits for `ready`.
pub fn sim_agent(sandbox: &Sandbox, server: &Running, token: &str, name: &str, extra: &[&str], ready: &str) -> Running {
    let mut args =
        vec!["agent", "--server", &server.url, "--join-token", token, "--runtime", "sim", "--name", name, "--listen", "127.0.0.1:0"];
    args.extend(extra);
    sandbox.spawn(name, &args, &[], ready)
}

/// Logs the sandbox's CLI in to `server` as the bootstrapped admin.
pub fn log_in_as_admin(sandbox: &Sandbox, server: &Running) {
    sandbox.run(&["login", "--url", &server.url, "--user", "admin", "--project", "admin"], &[("FLOTILLA_PASSWORD", ADMIN_PASSWORD)]).ok();
}

/// A CA and a server certificate it signed for 127.0.0.1, written as PEM files in the sandbox.
pub struct TestPki {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

pub fn make_pki(sandbox: &Sandbox) -> TestPki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let write = |name: &str, text: String| {
        let path = sandbox.path(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    TestPki {
        ca: write("ca.pem", ca_cert.pem()),
        cert: write("server.pem", server_cert.pem()),
        key: write("server.key", server_key.serialize_pem()),
    }
}

/// A finished command.
#[derive(Debug)]
pub struct Outcome {
    pub args: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts success and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "`flotilla {}` failed: {}", self.args, self.stderr);
        self.stdout
    }

    pub fn json(self) -> Value {
        let args = self.args.clone();
        let stdout = self.ok();
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("`flotilla {args}` printed no JSON ({e}): {stdout}"))
    }

    /// Asserts the exit code and that stderr is exactly one `error: ` line; returns that line.
    pub fn fails_with(self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "`flotilla {}`: {self:?}", self.args);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
        assert!(!self.stderr.contains("panicked") && !self.stderr.contains("Backtrace"), "{:?}", self.stderr);
        lines[0].to_owned()
    }
}

/// A server role running as a child; stopped with SIGTERM (then SIGKILL) when dropped.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
    stderr_path: PathBuf,
    pub url: String,
}

impl Running {
    pub fn wait_for(&mut self, wanted: &str) {
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.seen.iter().any(|l| l.contains(wanted)) {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {wanted:?} within {START_TIMEOUT:?}; stdout {:?}; stderr {}", self.seen, self.stderr())
                }
                Err(RecvTimeoutError::Disconnected) => panic!("exited before {wanted:?}; stdout {:?}; stderr {}", self.seen, self.stderr()),
            }
        }
    }

    pub fn stdout(&self) -> String {
        self.seen.join("\n")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, then the exit status once it stopped by itself.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Stops the server and asserts it shut down gracefully (exit code 0).
    pub fn stop(mut self) {
        let status = self.terminate();
        assert!(status.is_some_and(|s| s.success()), "graceful stop on SIGTERM, got {status:?}; stderr {}", self.stderr());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.terminate().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
