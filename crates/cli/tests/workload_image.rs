//! The workload image for real: `flotilla workload image` builds it offline, the local Docker Engine
//! loads and runs it, and the workload inside answers HTTP, fails its health check, exits with the
//! code asked for and stops at once on SIGTERM. Needs Docker; without it the test fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_flotilla");
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `docker args...`; answers its stdout, trimmed, or panics with its stderr.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap_or_else(|e| panic!("cannot run docker (is it installed?): {e}"));
    assert!(out.status.success(), "docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether `docker args...` succeeds (for things that should be gone).
fn docker_succeeds(args: &[&str]) -> bool {
    Command::new("docker").args(args).output().is_ok_and(|out| out.status.success())
}

/// Removes what the test made, even when it failed halfway.
struct Cleanup {
    tag: String,
    containers: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = Command::new("docker").args(["rm", "-f", name]).output();
        }
        let _ = Command::new("docker").args(["rmi", "-f", &self.tag]).output();
    }
}

/// One HTTP/1.0 exchange; `None` while nothing answers yet.
fn http(addr: &str, method: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer.split_once("\r\n\r\n")?.1.to_owned()))
}

/// Starts a container of the image with port 8080 published on loopback; waits until it answers.
fn start(cleanup: &mut Cleanup, name: &str) -> String {
    cleanup.containers.push(name.to_owned());
    docker(&["run", "-d", "--name", name, "-p", "127.0.0.1::8080", &cleanup.tag]);
    let addr = docker(&["port", name, "8080/tcp"]).lines().next().unwrap().to_owned();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match http(&addr, "GET", "/healthz") {
            Some((200, body)) => {
                assert_eq!(body, "ok\n");
                return addr;
            }
            other if Instant::now() > deadline => {
                panic!("{name} not healthy within {READY_TIMEOUT:?}: {other:?}; logs: {}", docker(&["logs", name]))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn the_workload_image_runs_under_docker() {
    let unique = format!("{}-{}", std::process::id(), SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos());
    let tag = format!("flotilla-test/workload:{unique}");
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("workload.tar");

    let out = Command::new(BIN).args(["workload", "image", archive.to_str().unwrap(), "--tag", &tag]).output().unwrap();
    assert!(out.status.success(), "workload image: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wrote "), "{out:?}");

    let mut cleanup = Cleanup { tag: tag.clone(), containers: Vec::new() };
    let loaded = docker(&["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains(&format!("Loaded image: {tag}")), "{loaded}");

    // It answers, counts, fails its health check on request, and exits with the code asked for.
    let first = format!("flotilla-test-workload-{unique}-a");
    let addr = start(&mut cleanup, &first);
    let (status, body) = http(&addr, "GET", "/").unwrap();
    let hello: serde_json::Value = serde_json::from_str(&body).unwrap();
    let hostname = docker(&["inspect", "-f", "{{.Config.Hostname}}", &first]);
    assert_eq!((status, hello), (200, serde_json::json!({"hostname": hostname, "count": 1})));
    assert_eq!(http(&addr, "POST", "/fail").unwrap().0, 200);
    assert_eq!(http(&addr, "GET", "/healthz").unwrap(), (500, "failing\n".to_owned()));
    assert_eq!(http(&addr, "POST", "/exit?code=3").unwrap().0, 200);
    assert_eq!(docker(&["wait", &first]), "3");
    let logs = docker(&["logs", &first]);
    for line in
        ["workload listening on 0.0.0.0:8080", "GET /healthz 200", "POST /fail 200", "GET /healthz 500", "workload exiting with code 3"]
    {
        assert!(logs.contains(line), "{line:?} in the logs: {logs}");
    }

    // As PID 1 it stops on SIGTERM at once, with code 0 (no SIGKILL after docker's timeout).
    let second = format!("flotilla-test-workload-{unique}-b");
    start(&mut cleanup, &second);
    let stopping = Instant::now();
    docker(&["stop", "-t", "20", &second]);
    assert!(stopping.elapsed() < Duration::from_secs(10), "stopped in {:?}", stopping.elapsed());
    assert_eq!(docker(&["inspect", "-f", "{{.State.ExitCode}}", &second]), "0");

    drop(cleanup);
    assert!(!docker_succeeds(&["image", "inspect", &tag]), "the image is gone");
    for name in [&first, &second] {
        assert!(!docker_succeeds(&["container", "inspect", name]), "{name} is gone");
    }
}
