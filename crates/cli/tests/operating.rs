//! Operating Flotilla with a real `flotilla server` child process: liveness and readiness through a
//! graceful drain on SIGTERM, agents' versions.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

mod support;

use support::{ADMIN_PASSWORD, STOP_TIMEOUT, Sandbox, log_in_as_admin, sim_agent, start_server_on, wait_until};

/// One HTTP/1.0 request over a fresh connection: the status code and the body.
fn request(url: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    answer(&mut stream)
}

fn answer(stream: &mut TcpStream) -> (u16, String) {
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_owned())
}

fn admin_token(url: &str) -> String {
    let login = serde_json::json!({"user": "admin", "password": ADMIN_PASSWORD, "project": "admin"}).to_string();
    let (status, body) = request(url, "POST", "/v1/auth/tokens", "Content-Type: application/json\r\n", &login);
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned()
}

/// SIGTERM while an image upload is half sent: `/readyz` answers 503 on new connections (the
/// listener stays open), `/livez` 200; the upload then finishes and gets its answer; the server
/// exits 0 once nothing is in flight, and its listener is closed then.
#[test]
fn readyz_answers_503_while_a_sigterm_drains_requests_in_flight() {
    let sandbox = Sandbox::new();
    let mut server = start_server_on(&sandbox, None);
    let url = server.url.clone();
    assert_eq!(request(&url, "GET", "/livez", "", "").0, 200);
    let (status, body) = request(&url, "GET", "/readyz", "", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "ready");

    let token = admin_token(&url);
    let archive = vec![b'x'; 4096];
    let addr = url.strip_prefix("http://").unwrap();
    let mut upload = TcpStream::connect(addr).unwrap();
    write!(
        upload,
        "POST /v1/images?name=slow HTTP/1.0\r\nHost: {addr}\r\nX-Auth-Token: {token}\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        archive.len()
    )
    .unwrap();
    upload.write_all(&archive[..1024]).unwrap();
    upload.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let _ = std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
    wait_until("/readyz answers 503 during the drain", STOP_TIMEOUT, || request(&url, "GET", "/readyz", "", "").0 == 503);
    let (_, body) = request(&url, "GET", "/readyz", "", "");
    assert!(body.contains("draining"), "{body}");
    assert_eq!(request(&url, "GET", "/livez", "", "").0, 200, "live while draining");
    assert!(server.child.try_wait().unwrap().is_none(), "the server waits for the upload in flight");

    upload.write_all(&archive[1024..]).unwrap();
    let (status, body) = answer(&mut upload);
    // Not a docker save archive: the upload is answered (400), not cut off.
    assert_eq!(status, 400, "{body}");
    wait_until("the server exits once drained", STOP_TIMEOUT, || server.child.try_wait().unwrap().is_some());
    assert!(server.child.try_wait().unwrap().unwrap().success(), "exit 0; stderr {}", server.stderr());
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed after the drain");
}

/// An agent reports its version when it joins and heartbeats: the host carries it (API) and
/// `host list` shows it in the VERSION column.
#[test]
fn hosts_carry_the_version_their_agent_reports() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let _agent = sim_agent(&sandbox, &server, &token, "versioned", &[], "joined");
    let version = env!("CARGO_PKG_VERSION");

    let (status, body) = request(&server.url, "GET", "/v1/hosts/versioned", &format!("X-Auth-Token: {}\r\n", admin_token(&server.url)), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["agent_version"], version, "{body}");

    let table = sandbox.run(&["host", "list"], &[]).ok();
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    let column = header.find("VERSION").unwrap_or_else(|| panic!("no VERSION column: {table}"));
    let row = lines.next().unwrap();
    assert_eq!(row.get(column..).and_then(|rest| rest.split_whitespace().next()), Some(version), "{table}");
}
