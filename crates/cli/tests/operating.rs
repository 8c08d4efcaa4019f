//! Operating Flotilla with a real `flotilla server` child process: liveness and readiness through a
//! graceful drain on SIGTERM, agents' versions, agents' settings from a config file and the environment.

use serde_json::Value;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

mod support;

use support::{
    ADMIN_PASSWORD, Running, STOP_TIMEOUT, Sandbox, http as request, http_answer as answer, log_in_as_admin, sim_agent, start_server_on,
    wait_until,
};

fn admin_token(url: &str) -> String {
    let login = serde_json::json!({"user": "admin", "password": ADMIN_PASSWORD, "project": "admin"}).to_string();
    let (status, body) = request(url, "POST", "/v1/auth/tokens", "Content-Type: application/json\r\n", &login);
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned()
}

/// A host joined over HTTP, as its agent joins: its credential and its assignments' revision.
fn raw_host(url: &str, token: &str) -> (String, u64) {
    let json = "Content-Type: application/json\r\n";
    let (status, body) = request(url, "POST", "/v1/hosts/join-tokens", &format!("{json}X-Auth-Token: {token}\r\n"), "{}");
    assert_eq!(status, 201, "{body}");
    let join = serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    let certificate = flotilla_tls::Identity::self_signed(&["127.0.0.1".into()]).unwrap().cert_pem;
    let host = serde_json::json!({"join_token": join, "name": "raw", "advertise": "https://127.0.0.1:9", "runtime": "sim",
        "capacity": {"cpus": 4.0, "memory_mib": 8192, "disk_mib": 1024}, "certificate": certificate});
    let (status, body) = request(url, "POST", "/v1/agent/join", json, &host.to_string());
    assert_eq!(status, 200, "{body}");
    let credential = serde_json::from_str::<Value>(&body).unwrap()["credential"].as_str().unwrap().to_owned();
    let (status, body) = request(url, "GET", "/v1/agent/assignments", &format!("Authorization: Bearer {credential}\r\n"), "");
    assert_eq!(status, 200, "{body}");
    (credential, serde_json::from_str::<Value>(&body).unwrap()["revision"].as_u64().unwrap())
}

/// SIGTERM while an image upload is half sent: `/readyz` answers 503 on new connections (the
/// listener stays open), `/livez` 200, and an agent's long-poll with nothing new 503 at once (it
/// would otherwise be answered at once and come straight back, holding the drain open while agents
/// are many); the upload then finishes and gets its answer; the server exits 0 once nothing is in
/// flight, and its listener is closed then.
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
    let (credential, revision) = raw_host(&url, &token);
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
    let poll = format!("/v1/agent/assignments?since={revision}&wait=60");
    let (status, body) = request(&url, "GET", &poll, &format!("Authorization: Bearer {credential}\r\n"), "");
    assert_eq!(status, 503, "a long-poll with nothing new while draining: {body}");
    assert!(body.contains("stopping"), "{body}");
    assert!(server.child.try_wait().unwrap().is_none(), "the server waits for the upload in flight");

    upload.write_all(&archive[1024..]).unwrap();
    let (status, body) = answer(&mut upload);
    // Not a docker save archive: the upload is answered (400), not cut off.
    assert_eq!(status, 400, "{body}");
    wait_until("the server exits once drained", STOP_TIMEOUT, || server.child.try_wait().unwrap().is_some());
    assert!(server.child.try_wait().unwrap().unwrap().success(), "exit 0; stderr {}", server.stderr());
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed after the drain");
}

/// A server on SQLite, the sandbox's CLI logged in to it as admin, and a join token for agents.
fn region_with_join_token() -> (Sandbox, Running, String) {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    (sandbox, server, token)
}

/// An agent reports its version when it joins and heartbeats: the host carries it (API) and
/// `host list` shows it in the VERSION column.
#[test]
fn hosts_carry_the_version_their_agent_reports() {
    let (sandbox, server, token) = region_with_join_token();
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

/// The host an agent joined as, from the API.
fn host(sandbox: &Sandbox, name: &str) -> Value {
    sandbox.run(&["host", "show", name, "-o", "json"], &[]).json()
}

/// An agent started with only a config file joins and takes its settings from it; one started
/// with only environment variables too; a flag beats a variable, which beats the file.
#[test]
fn agents_take_every_setting_from_a_config_file_or_the_environment() {
    let (sandbox, server, token) = region_with_join_token();

    let config = sandbox.path("agent.toml");
    let file_state = sandbox.path("file-state");
    std::fs::write(
        &config,
        format!(
            "server = {:?}\njoin_token = {token:?}\nstate_dir = {:?}\nruntime = \"sim\"\nname = \"from-file\"\nlisten = \"127.0.0.1:0\"\n\
             zone = \"zone-file\"\npool = \"pool-file\"\nlabel = [\"tier=file\", \"disk=ssd\"]\ncpus = 3.0\nmemory_mib = 3072\n\
             log_format = \"json\"\n",
            server.url,
            file_state.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut only_file = sandbox.command(&["agent", "--config", config.to_str().unwrap()], &[]);
    only_file.env_remove("FLOTILLA_AGENT_STATE_DIR");
    let file_agent = sandbox.spawn_command("file-agent", only_file, "joined");
    let joined = host(&sandbox, "from-file");
    assert_eq!(
        (joined["zone"].as_str(), joined["pool"].as_str(), joined["runtime"].as_str()),
        (Some("zone-file"), Some("pool-file"), Some("sim"))
    );
    assert_eq!(joined["labels"], serde_json::json!({"tier": "file", "disk": "ssd"}));
    assert_eq!((joined["capacity"]["cpus"].as_f64(), joined["capacity"]["memory_mib"].as_u64()), (Some(3.0), Some(3072)));
    assert!(file_state.read_dir().unwrap().next().is_some(), "the credential is kept in the file's state_dir");
    let first_line = file_agent.stderr().lines().next().unwrap_or_default().to_owned();
    assert!(serde_json::from_str::<Value>(&first_line).is_ok(), "log_format json: {first_line:?}");

    let env_state = sandbox.path("env-state");
    let env = [
        ("FLOTILLA_SERVER", server.url.as_str()),
        ("FLOTILLA_JOIN_TOKEN", token.as_str()),
        ("FLOTILLA_AGENT_STATE_DIR", env_state.to_str().unwrap()),
        ("FLOTILLA_AGENT_RUNTIME", "sim"),
        ("FLOTILLA_AGENT_NAME", "from-env"),
        ("FLOTILLA_AGENT_LISTEN", "127.0.0.1:0"),
        ("FLOTILLA_AGENT_ZONE", "zone-env"),
        ("FLOTILLA_AGENT_POOL", "pool-env"),
        ("FLOTILLA_AGENT_LABELS", "tier=env,rack=r2"),
        ("FLOTILLA_AGENT_CPUS", "5"),
        ("FLOTILLA_AGENT_CONFIG", config.to_str().unwrap()),
    ];
    let _env_agent = sandbox.spawn("env-agent", &["agent", "--pool", "pool-flag"], &env, "joined");
    let joined = host(&sandbox, "from-env");
    assert_eq!(joined["zone"], "zone-env", "a variable beats the file");
    assert_eq!(joined["pool"], "pool-flag", "a flag beats a variable");
    assert_eq!(joined["labels"], serde_json::json!({"tier": "env", "rack": "r2"}));
    assert_eq!(
        (joined["capacity"]["cpus"].as_f64(), joined["capacity"]["memory_mib"].as_u64()),
        (Some(5.0), Some(3072)),
        "unset: the file's"
    );
    assert!(env_state.read_dir().unwrap().next().is_some());

    std::fs::write(sandbox.path("bad.toml"), "server = \"http://127.0.0.1:1\"\nzones = \"a\"\n").unwrap();
    let error = sandbox.run(&["agent", "--config", sandbox.path("bad.toml").to_str().unwrap()], &[]).fails_with(1);
    assert!(error.contains("zones") && error.contains("bad.toml"), "{error}");
    let error =
        sandbox.run(&["agent", "--server", &server.url, "--runtime", "sim"], &[("FLOTILLA_AGENT_SIM_FAILURE_RATE", "2")]).fails_with(1);
    assert!(error.contains("sim_failure_rate") && error.contains('2'), "{error}");
}
