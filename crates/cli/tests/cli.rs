//! The `flotilla` binary as a user runs it: a real `flotilla server` (or `flotilla dev`) child
//! process, and CLI commands against it with their own config files.

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::{ADMIN_PASSWORD, Running, Sandbox, log_in_as_admin, sim_agent, start_server_on};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// `GET /v1` over a plain socket: the version document.
fn version(url: &str) -> Value {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET /v1 HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

fn names(list: &Value, plural: &str) -> BTreeSet<String> {
    list[plural]
        .as_array()
        .unwrap_or_else(|| panic!("no {plural} in {list}"))
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn start_server(sandbox: &Sandbox) -> Running {
    start_server_on(sandbox, None)
}

#[test]
fn a_region_from_login_to_project_scoped_profiles() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox);
    assert!(sandbox.path("data/flotilla.db").exists(), "SQLite in the data dir by default");
    region_from_login_to_project_scoped_profiles(&sandbox, server);
}

#[test]
fn a_region_on_postgresql_from_login_to_project_scoped_profiles() {
    let sandbox = Sandbox::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path())) else {
        return;
    };
    let server = start_server_on(&sandbox, Some(&database));
    assert!(!sandbox.path("data/flotilla.db").exists(), "no SQLite file when PostgreSQL is given");
    region_from_login_to_project_scoped_profiles(&sandbox, server);
}

fn region_from_login_to_project_scoped_profiles(sandbox: &Sandbox, server: Running) {
    let out = server.stdout();
    assert!(out.contains(r#"bootstrap: created user "admin" with role admin on project "admin""#), "{out}");
    assert!(!out.contains("password:"), "a given bootstrap password is not printed: {out}");
    assert_eq!(mode(&sandbox.path("data")), 0o700);

    let admin_cfg = sandbox.path("admin.toml");
    let admin_cfg = admin_cfg.to_str().unwrap();
    let admin = [("FLOTILLA_CONFIG", admin_cfg)];
    let url = server.url.as_str();

    // A wrong password and an unknown user fail alike, saying neither which part was wrong.
    let wrong_password = sandbox.run(&["login", "--url", url, "--user", "admin", "--password", "not-the-password"], &admin).fails_with(3);
    let unknown_user = sandbox.run(&["login", "--url", url, "--user", "nobody", "--password", "not-the-password"], &admin).fails_with(3);
    let without_request_id = |line: &str| line.split(", request").next().unwrap().to_owned();
    assert_eq!(without_request_id(&wrong_password), without_request_id(&unknown_user));
    assert!(wrong_password.contains("401"), "{wrong_password}");
    for hint in ["password is", "wrong password", "unknown user", "no such user", "not found"] {
        assert!(!wrong_password.to_lowercase().contains(hint), "{wrong_password}");
    }
    assert!(!Path::new(admin_cfg).exists(), "a failed login saves nothing");

    // Logging in saves a private config file.
    let said = sandbox.run(&["login", "--url", url, "--user", "admin", "--password", ADMIN_PASSWORD], &admin).ok();
    assert!(said.contains("logged in") && said.contains("admin"), "{said}");
    assert_eq!(mode(Path::new(admin_cfg)), 0o600);
    let saved = std::fs::read_to_string(admin_cfg).unwrap();
    assert!(saved.contains(url) && saved.contains("token = "), "{saved}");

    let me = sandbox.run(&["whoami", "-o", "json"], &admin).json();
    assert_eq!((me["user"].as_str(), me["project"].as_str(), me["role"].as_str()), (Some("admin"), Some("admin"), Some("admin")));
    assert!(me["expires_at"].as_str().is_some_and(|t| t.starts_with("20")), "{me}");
    let table = sandbox.run(&["whoami"], &admin).ok();
    assert!(table.contains("role") && table.contains("expires_at"), "{table}");

    // Identity: a project, a member and a reader.
    let demo = sandbox.run(&["project", "create", "demo", "--description", "the demo", "-o", "json"], &admin).json();
    assert_eq!(demo["name"], "demo");
    sandbox.run(&["user", "create", "alice", "--password", "alice-pass-1234", "--project", "demo"], &admin).ok();
    let rita = [("FLOTILLA_CONFIG", admin_cfg), ("FLOTILLA_NEW_PASSWORD", "rita-pass-1234")];
    sandbox.run(&["user", "create", "rita", "--project", "demo"], &rita).ok();
    sandbox.run(&["role", "assign", "--user", "alice", "--project", "demo", "member"], &admin).ok();
    sandbox.run(&["role", "assign", "--user", "rita", "--project", "demo", "reader"], &admin).ok();
    let roles = sandbox.run(&["role", "list", "--project", "demo", "-o", "json"], &admin).json();
    let granted: BTreeSet<(String, String)> = roles["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["user"]["name"].as_str().unwrap().to_owned(), r["role"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(granted, [("alice".into(), "member".into()), ("rita".into(), "reader".into())].into());
    let bad_role = sandbox.run(&["role", "assign", "--user", "alice", "--project", "demo", "owner"], &admin);
    assert_eq!(bad_role.code, Some(2), "usage error: {bad_role:?}");

    // Alice, logged in to demo with the password from the environment, sees only demo.
    let alice_cfg = sandbox.path("alice.toml");
    let alice = [("FLOTILLA_CONFIG", alice_cfg.to_str().unwrap())];
    let alice_login = [alice[0], ("FLOTILLA_PASSWORD", "alice-pass-1234")];
    sandbox.run(&["login", "--url", url, "--user", "alice", "--project", "demo"], &alice_login).ok();
    assert_eq!(names(&sandbox.run(&["project", "list", "-o", "json"], &alice).json(), "projects"), set(&["demo"]));
    assert_eq!(names(&sandbox.run(&["user", "list", "-o", "json"], &alice).json(), "users"), set(&["alice", "rita"]));
    let denied = sandbox.run(&["user", "create", "mallory", "--password", "mallory-pass-1"], &alice).fails_with(4);
    assert!(denied.contains("403"), "{denied}");

    // Alice creates a profile from a YAML file and sees it; the admin sees it only across projects.
    let spec = sandbox.path("web.yaml");
    std::fs::write(
        &spec,
        "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: busybox:latest\n  memory: 64\n  environment: {MODE: demo}\n",
    )
    .unwrap();
    let spec = spec.to_str().unwrap();
    sandbox.run(&["profile", "validate", "--spec-file", spec], &alice).ok();
    let created = sandbox.run(&["profile", "create", "web", "--spec-file", spec, "-o", "json"], &alice).json();
    assert_eq!(created["spec"]["properties"]["image"], "busybox:latest");
    assert_eq!(created["project_id"], demo["id"]);
    assert_eq!(names(&sandbox.run(&["profile", "list", "-o", "json"], &alice).json(), "profiles"), set(&["web"]));
    let listed = sandbox.run(&["profile", "list"], &alice).ok();
    assert!(listed.contains("web") && listed.contains("busybox:latest"), "{listed}");
    let shown: Value = serde_saphyr::from_str(&sandbox.run(&["profile", "show", "web", "-o", "yaml"], &alice).ok()).unwrap();
    assert_eq!(shown["spec"]["properties"]["environment"]["MODE"], "demo");
    assert!(!names(&sandbox.run(&["profile", "list", "-o", "json"], &admin).json(), "profiles").contains("web"));
    assert!(names(&sandbox.run(&["profile", "list", "--all-projects", "-o", "json"], &admin).json(), "profiles").contains("web"));
    let missing = sandbox.run(&["profile", "show", "nope"], &alice).fails_with(1);
    assert!(missing.contains("nope") && missing.contains("404"), "{missing}");

    // A reader may look but not write.
    let rita_cfg = sandbox.path("rita.toml");
    let rita = [("FLOTILLA_CONFIG", rita_cfg.to_str().unwrap())];
    sandbox.run(&["login", "--url", url, "--user", "rita", "--password", "rita-pass-1234", "--project", "demo"], &rita).ok();
    assert_eq!(names(&sandbox.run(&["profile", "list", "-o", "json"], &rita).json(), "profiles"), set(&["web"]));
    let refused = sandbox.run(&["profile", "create", "web2", "--spec-file", spec], &rita).fails_with(4);
    assert!(refused.contains("403"), "{refused}");

    // After logout the token is gone from the file and refused by the server.
    let token = saved.lines().find_map(|l| l.strip_prefix("token = ")).unwrap().trim_matches('"').to_owned();
    sandbox.run(&["logout"], &admin).ok();
    assert!(!std::fs::read_to_string(admin_cfg).unwrap().contains("token"), "token removed from the file");
    let line = sandbox.run(&["whoami"], &admin).fails_with(3);
    assert!(line.contains("not logged in"), "{line}");
    let revoked = [("FLOTILLA_CONFIG", admin_cfg), ("FLOTILLA_TOKEN", token.as_str())];
    let line = sandbox.run(&["whoami"], &revoked).fails_with(3);
    assert!(line.contains("401") && line.contains("flotilla login"), "{line}");

    server.stop();
}

#[test]
fn server_settings_come_from_flags_then_env_then_file() {
    let sandbox = Sandbox::new();
    let config = sandbox.path("server.toml");
    let data = sandbox.path("from-file");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nregion = \"file-region\"\nbootstrap_password = \"{ADMIN_PASSWORD}\"\n",
            data.to_str().unwrap()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let from_file = sandbox.spawn("file", &["server", "--config", config], &[], "listening on ");
    assert_eq!(version(&from_file.url)["region"], "file-region");
    assert!(data.join("flotilla.db").exists(), "the data dir came from the file");
    from_file.stop();

    let env = [("FLOTILLA_SERVER_CONFIG", config), ("FLOTILLA_REGION", "env-region")];
    let from_env = sandbox.spawn("env", &["server"], &env, "listening on ");
    assert_eq!(version(&from_env.url)["region"], "env-region");
    from_env.stop();

    let from_flag = sandbox.spawn("flag", &["server", "--region", "flag-region"], &env, "listening on ");
    assert_eq!(version(&from_flag.url)["region"], "flag-region");
    from_flag.stop();

    std::fs::write(sandbox.path("bad.toml"), "region = \"r\"\ncolour = \"red\"\n").unwrap();
    let line = sandbox.run(&["server", "--config", sandbox.path("bad.toml").to_str().unwrap()], &[]).fails_with(1);
    assert!(line.contains("colour") && line.contains("bad.toml"), "{line}");
}

#[test]
fn dev_logs_the_cli_in_and_again_after_a_restart() {
    let sandbox = Sandbox::new();
    let mut first = sandbox.spawn("dev1", &["dev", "--listen", "127.0.0.1:0"], &[], "Press Ctrl-C");
    let data = sandbox.path("xdg-data/flotilla/dev");
    let password_file = data.join("admin-password");
    assert_eq!(mode(&password_file), 0o600);
    let password = std::fs::read_to_string(&password_file).unwrap();
    let out = first.stdout();
    assert!(out.contains(password.trim()), "the first start shows the password: {out}");
    for expected in [first.url.as_str(), "flotilla whoami", "flotilla project create demo", "flotilla login --user alice", "runtime docker"]
    {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    // The run command ends with a real container running: the demo workload, built from this binary.
    let deadline = Instant::now() + Duration::from_secs(60);
    let demo = loop {
        let demo = sandbox.run(&["container", "show", "demo", "-o", "json"], &[]).json();
        if demo["status"] == "RUNNING" {
            break demo;
        }
        assert!(Instant::now() < deadline, "the demo container never ran: {demo}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let runtime_id = demo["runtime_id"].as_str().unwrap().to_owned();
    let running = Command::new("docker").args(["inspect", "-f", "{{.State.Running}}", &runtime_id]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&running.stdout).trim(), "true", "a real Docker container");
    let config = sandbox.path("xdg-config/flotilla/config.toml");
    assert_eq!(mode(&config), 0o600);
    let me = sandbox.run(&["whoami", "-o", "json"], &[]).json();
    assert_eq!((me["user"].as_str(), me["role"].as_str(), me["url"].as_str()), (Some("admin"), Some("admin"), Some(first.url.as_str())));
    sandbox.run(&["project", "create", "demo"], &[]).ok();
    let token = std::fs::read_to_string(&config).unwrap();
    // The terminal shows what happens (events) and warnings; the whole log goes to a file.
    sandbox.run(&["container", "run", "--name", "web", "--image", "flotilla/workload:latest", "--wait"], &[]).ok();
    first.wait_for("container/web");
    let terminal = first.stderr();
    assert!(!terminal.contains(" INFO "), "no info lines on the terminal: {terminal}");
    let log = std::fs::read_to_string(data.join("flotilla.log")).unwrap();
    assert!(log.contains(" INFO ") && log.contains("listening"), "the full log is in the data dir: {log}");
    // Ctrl-C says what keeps running and how to remove it.
    assert!(first.terminate().is_some_and(|s| s.success()));
    first.wait_for("flotilla dev --reset");
    let said = first.stdout();
    assert!(said.contains("2 container(s) keep running in Docker: ") && said.contains("demo") && said.contains("web"), "{said}");

    let second = sandbox.spawn("dev2", &["dev", "--listen", "127.0.0.1:0"], &[], "Press Ctrl-C");
    let out = second.stdout();
    assert!(!out.contains("bootstrap:") && !out.contains(password.trim()), "nothing bootstrapped again: {out}");
    assert_ne!(std::fs::read_to_string(&config).unwrap(), token, "a new login");
    let me = sandbox.run(&["whoami", "-o", "json"], &[]).json();
    assert_eq!(me["url"].as_str(), Some(second.url.as_str()));
    let projects = sandbox.run(&["project", "list", "--all-projects", "-o", "json"], &[]).json();
    assert!(names(&projects, "projects").contains("demo"), "the data survived: {projects}");
    assert!(out.contains("demo container \"demo\" exists already"), "{out}");
    second.stop();

    // --reset removes what is left: the Docker containers, the data, the CLI's context.
    let reset = sandbox.run(&["dev", "--listen", "127.0.0.1:0", "--reset"], &[]).ok();
    assert!(reset.contains("Removed 0 cluster(s) and 2 container(s).") && reset.contains("Removed the CLI context dev."), "{reset}");
    let left = Command::new("docker").args(["ps", "-aq", "--filter", &format!("id={runtime_id}")]).output().unwrap();
    assert!(left.stdout.is_empty(), "the reset leaves no Docker container");
    assert!(!data.exists(), "the data dir is gone");
    let contexts = sandbox.run(&["context", "list", "-o", "name"], &[]).ok();
    assert!(!contexts.contains("dev"), "{contexts}");
    let again = sandbox.run(&["dev", "--reset"], &[]).ok();
    assert!(again.contains("Nothing to reset"), "{again}");
}

#[test]
fn login_without_a_password_or_a_terminal_says_what_to_do() {
    let sandbox = Sandbox::new();
    let line = sandbox.run(&["login", "--url", "http://127.0.0.1:9", "--user", "admin"], &[]).fails_with(1);
    assert!(line.contains("--password") && line.contains("FLOTILLA_PASSWORD"), "{line}");
    let line = sandbox.run(&["user", "list"], &[]).fails_with(3);
    assert!(line.contains("not logged in"), "{line}");
    let usage = sandbox.run(&["user", "frobnicate"], &[]);
    assert_eq!(usage.code, Some(2), "{usage:?}");
    let help = sandbox.run(&["profile", "create", "--help"], &[]).ok();
    assert!(help.contains("--spec-file"), "{help}");
}

#[test]
fn one_agent_process_simulates_many_hosts_that_run_containers() {
    let sandbox = Sandbox::new();
    let server = start_server(&sandbox);
    log_in_as_admin(&sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agents = sim_agent(&sandbox, &server, &token, "sim", &["--simulate-hosts", "5"], "simulated hosts joined");
    let mut follow = sandbox.spawn("follow", &["event", "list", "--follow", "--object-type", "container"], &[], "TIME");
    let hosts = sandbox.run(&["host", "list", "-o", "json"], &[]).json();
    assert_eq!(names(&hosts, "hosts"), set(&["sim-1", "sim-2", "sim-3", "sim-4", "sim-5"]));
    for host in hosts["hosts"].as_array().unwrap() {
        assert_eq!((host["state"].as_str(), host["runtime"].as_str()), (Some("UP"), Some("sim")), "{host}");
    }
    let web = sandbox.run(&["container", "run", "--name", "web", "--image", "any/image:1", "--wait", "-o", "json"], &[]).json();
    assert_eq!(web["status"], "RUNNING");
    assert!(web["host"].as_str().unwrap().starts_with("sim-"), "{web}");
    follow.wait_for("container/web");
    assert!(follow.seen.iter().any(|l| l.contains("CONTAINER_CREATE") && l.contains("placed on host sim-")), "{:?}", follow.seen);
    drop(follow);
    agents.stop();

    // Failure injection: every create fails, and the container says why.
    let broken = sim_agent(&sandbox, &server, &token, "broken", &["--sim-failure-rate", "1"], "joined");
    let run = ["container", "run", "--name", "doomed", "--image", "any/image:1", "--host-node", "broken", "--wait", "--wait-timeout", "30"];
    let line = sandbox.run(&run, &[]).fails_with(1);
    assert!(line.contains("simulated failure of create"), "{line}");
    let errors = sandbox.run(&["event", "list", "--object", "doomed", "--level", "error", "-o", "json"], &[]).json();
    let error = &errors["events"][0];
    assert_eq!((error["action"].as_str(), error["status"].as_str()), (Some("CONTAINER_STATUS"), Some("ERROR")), "{errors}");
    assert!(error["reason"].as_str().unwrap().contains("simulated failure of create"), "{error}");
    let table = sandbox.run(&["event", "list", "--object", "doomed"], &[]).ok();
    assert!(table.trim_start().starts_with("TIME") && table.contains("container/doomed") && table.contains("CONTAINER_STATUS"), "{table}");
    broken.stop();
    server.stop();
}
