//! `flotilla container exec -it` on the real Docker Engine, through a pseudo-terminal: a real
//! `flotilla server`, one real `flotilla agent`, the workload image built offline (with the host's
//! `dash` and `stty` copied in). The CLI runs as a user's shell would start it: on a terminal of its
//! own (`setsid --ctty`), typed at, resized, and left with `exit 3`. Also `-i` with piped stdin, the
//! one-shot exec unchanged, a non-member and a reader refused, and bad requests named.

mod support;

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, Winsize};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::docker::docker_region;
use support::{ADMIN_PASSWORD, BIN, Sandbox};

/// Docker tests share one engine: this one keeps to its own addresses.
const NETWORK_POOL: &str = "10.217.0.0/16";
const WITHIN: Duration = Duration::from_secs(30);

/// A pseudo-terminal with the CLI on its slave side, everything it printed collected from the master.
struct Terminal {
    master: File,
    slave: OwnedFd,
    printed: Arc<Mutex<String>>,
    child: Child,
}

impl Terminal {
    /// Starts `flotilla args` (the sandbox's environment) as the session leader of a new terminal of `rows` x `cols`.
    fn start(sandbox: &Sandbox, args: &[&str], rows: u16, cols: u16) -> Terminal {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(name.as_c_str(), OFlags::RDWR | OFlags::NOCTTY, Mode::empty()).unwrap();
        resize(&master, rows, cols);
        let base = sandbox.command(&[], &[]);
        let mut command = Command::new("setsid");
        command.args(["--ctty", "--wait", BIN]).args(args);
        command.env_clear();
        for (key, value) in base.get_envs() {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        let child = command
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()))
            .spawn()
            .unwrap();
        let master = File::from(master);
        let printed = Arc::new(Mutex::new(String::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), printed.clone());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends with EIO once no one holds the slave side.
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        Terminal { master, slave, printed, child }
    }

    fn type_in(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    fn printed(&self) -> String {
        self.printed.lock().unwrap().clone()
    }

    /// Waits until the terminal shows `wanted`, typing `again` (if any) every second meanwhile.
    fn expect(&mut self, wanted: &str, again: Option<&str>) {
        let deadline = Instant::now() + WITHIN;
        let mut typed = Instant::now();
        while !self.printed().contains(wanted) {
            assert!(Instant::now() < deadline, "no {wanted:?} on the terminal within {WITHIN:?}: {:?}", self.printed());
            if let Some(text) = again.filter(|_| typed.elapsed() > Duration::from_secs(1)) {
                self.type_in(text);
                typed = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The CLI's exit code, once it ended.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the CLI did not end: {:?}", self.printed());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets the terminal's size: the kernel sends SIGWINCH to the process in its foreground.
fn resize(master: &impl std::os::fd::AsFd, rows: u16, cols: u16) {
    rustix::termios::tcsetwinsize(master, Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 }).unwrap();
}

/// One GET of `path` on the server with the admin's token: its status and body.
fn get(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let login = serde_json::json!({"user": "admin", "password": ADMIN_PASSWORD, "project": "admin"});
        let token: serde_json::Value = http.post(format!("{url}/v1/auth/tokens")).json(&login).send().await.unwrap().json().await.unwrap();
        let mut request = http.get(format!("{url}{path}")).header("x-auth-token", token["token"].as_str().unwrap());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn an_interactive_exec_runs_on_a_terminal_with_its_size_and_exit_code() {
    let sandbox = Sandbox::new();
    let region = docker_region(&sandbox, NETWORK_POOL, "exec");
    let (server, tag) = (&region.server, &region.tag);
    sandbox.run(&["container", "run", "--name", "box", "--image", tag, "--wait", "-o", "json"], &[]).json();
    // A shell and stty: the image holds the C library they need already.
    let bin = sandbox.path("tools/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/dash", bin.join("sh")).unwrap();
    std::fs::copy("/usr/bin/stty", bin.join("stty")).unwrap();
    sandbox.run(&["container", "cp", bin.to_str().unwrap(), "box:/"], &[]).ok();

    // Without -i and -t: the one-shot exec, unchanged.
    let shown = sandbox.run(&["container", "exec", "box", "--", "sh", "-c", "echo one-shot; exit 2"], &[]);
    assert_eq!((shown.code, shown.stdout.as_str()), (Some(2), "one-shot\n"), "{}", shown.stderr);

    // -it on a terminal: typed at, its size seen inside, resized, left with an exit code.
    let mut terminal = Terminal::start(&sandbox, &["container", "exec", "-it", "box", "--", "sh"], 24, 80);
    terminal.type_in("echo hi; stty size\r");
    terminal.expect("\nhi\r\n", None);
    terminal.expect("24 80\r\n", None);
    let local = rustix::termios::tcgetattr(&terminal.slave).unwrap();
    assert!(!local.local_modes.contains(LocalModes::ICANON), "the local terminal is raw during the session");
    resize(&terminal.master, 30, 100);
    terminal.expect("30 100\r\n", Some("stty size\r"));
    terminal.type_in("exit 3\r");
    assert_eq!(terminal.exit_code(), Some(3), "{:?}", terminal.printed());
    let local = rustix::termios::tcgetattr(&terminal.slave).unwrap();
    assert!(local.local_modes.contains(LocalModes::ICANON | LocalModes::ECHO), "the local terminal is restored");

    // -i with piped stdin: its end reaches the command.
    let mut piped =
        sandbox.command(&["container", "exec", "-i", "box", "--", "sh", "-c", "while read l; do echo \"got $l\"; done; exit 4"], &[]);
    let mut child = piped.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"one\ntwo\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), String::from_utf8_lossy(&out.stdout).as_ref()), (Some(4), "got one\ngot two\n"), "{out:?}");

    // Bad requests are named; a plain GET is no session.
    let (status, body) = get(&server.url, "/v1/containers/box/exec?command=sh&tty=yes", &[]);
    assert!(status == 400 && body.contains("tty") && body.contains("yes"), "{status} {body}");
    let (status, body) = get(&server.url, "/v1/containers/box/exec?tty=true", &[]);
    assert!(status == 400 && body.contains("command"), "{status} {body}");
    let (status, body) = get(&server.url, "/v1/containers/box/exec?command=sh", &[]);
    assert!(status == 400 && body.contains("WebSocket"), "{status} {body}");

    // A user of another project does not find it; a reader of this one may not exec.
    let admin = |args: &[&str]| sandbox.run(args, &[]).ok();
    admin(&["project", "create", "other"]);
    for (user, project, role) in [("stranger", "other", "member"), ("viewer", "admin", "reader")] {
        let password = format!("{user}-pass-1234");
        admin(&["user", "create", user, "--password", &password, "--project", project]);
        admin(&["role", "assign", "--user", user, "--project", project, role]);
        let config = sandbox.path(&format!("{user}.toml")).to_str().unwrap().to_owned();
        let env = [("FLOTILLA_CONFIG", config.as_str()), ("FLOTILLA_PASSWORD", password.as_str())];
        sandbox.run(&["login", "--url", &server.url, "--user", user, "--project", project], &env).ok();
        let refused = sandbox.run(&["container", "exec", "-it", "box", "--", "sh"], &env[..1]);
        let line = if role == "reader" { refused.fails_with(4) } else { refused.fails_with(1) };
        assert!(line.contains(if role == "reader" { "403" } else { "404" }), "{user}: {line}");
    }
    sandbox.run(&["container", "delete", "box", "--force"], &[]).ok();
}
