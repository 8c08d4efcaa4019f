//! Hostile inputs through the real HTTP API: numbers past their bounds, oversized maps, bad image
//! references, NULs, bodies that are not one JSON object, unknown filters and half-sent requests
//! are refused with a 400 naming the field and the limit (or the connection is closed), and the
//! region keeps answering afterwards.

use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `body` (raw text) with the caller's token; answers the status and the error message.
async fn send(region: &TestRegion, token: &str, method: reqwest::Method, path: &str, body: Option<String>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", region.url)).header("X-Auth-Token", token);
    if let Some(body) = body {
        request = request.header("Content-Type", "application/json").body(body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["error"]["message"].as_str().map(str::to_owned)).unwrap_or(text);
    (status, message)
}

fn refused(answer: (StatusCode, String), words: &[&str]) {
    assert_eq!(answer.0, StatusCode::BAD_REQUEST, "{}", answer.1);
    for word in words {
        assert!(answer.1.contains(word), "{:?} should name {word:?}", answer.1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_past_their_bounds_are_refused_and_the_region_keeps_answering() {
    let region = TestRegion::sqlite().await;
    let _agent = region.sim_agent(SimHost::new("host-a")).await;
    let member = region.add_user("mia", "team", flotilla_core::Role::Member).await;
    let token = member.token().expect("logged in").to_owned();
    let admin = region.admin.token().expect("logged in").to_owned();
    use reqwest::Method;

    let spec = json!({"image": "flotilla/workload:latest", "cpu": 0.1, "memory": 64});
    let (status, text) =
        send(&region, &token, Method::POST, "/v1/containers", Some(json!({"name": "web", "spec": spec, "run": true}).to_string())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    wait_for_container(&member, "web", "RUNNING").await;

    // Memory past 16 TiB: 2^63-1 and 2^64-1 are refused naming the field and the limit.
    for memory in [i64::MAX as u64, u64::MAX] {
        let answer = send(&region, &token, Method::PATCH, "/v1/containers/web", Some(format!(r#"{{"memory": {memory}}}"#))).await;
        refused(answer, &["memory", &memory.to_string(), "16777216"]);
    }
    refused(send(&region, &token, Method::PATCH, "/v1/containers/web", Some(r#"{"cpu": 5000}"#.into())).await, &["cpu", "1024"]);
    // The region still lists hosts, creates and shows quotas.
    let (status, text) = send(&region, &token, Method::GET, "/v1/hosts", None).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, text) =
        send(&region, &token, Method::POST, "/v1/containers", Some(json!({"name": "web2", "spec": spec}).to_string())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");

    // Join tokens: 0 s and 10^15 s are refused (one minute to 30 days).
    for ttl in [0u64, 10u64.pow(15)] {
        let answer = send(&region, &admin, Method::POST, "/v1/hosts/join-tokens", Some(format!(r#"{{"ttl_seconds": {ttl}}}"#))).await;
        refused(answer, &["ttl_seconds", "2592000"]);
    }

    // Cluster timeouts, scale counts and policy seconds.
    let profile = json!({"name": "p", "spec": {"type": "container.docker", "version": "1.0", "properties": spec}});
    assert_eq!(send(&region, &token, Method::POST, "/v1/profiles", Some(profile.to_string())).await.0, StatusCode::CREATED);
    let cluster = json!({"name": "c", "profile": "p", "timeout": 4_000_000_000u64});
    refused(send(&region, &token, Method::POST, "/v1/clusters", Some(cluster.to_string())).await, &["timeout", "604800"]);
    let cluster = json!({"name": "c", "profile": "p", "desired_capacity": 0});
    assert_eq!(send(&region, &token, Method::POST, "/v1/clusters", Some(cluster.to_string())).await.0, StatusCode::ACCEPTED);
    let scale = json!({"scale_out": {"count": 1_000_000_000_000i64}});
    refused(send(&region, &token, Method::POST, "/v1/clusters/c/actions", Some(scale.to_string())).await, &["scale_out.count", "1000"]);
    let scaling = json!({"name": "s", "spec": {"type": "scaling", "version": "1.0", "properties": {
        "event": "CLUSTER_SCALE_OUT", "adjustment": {"type": "CHANGE_IN_CAPACITY", "number": 1, "cooldown": 10_000_000_000_000_000u64}}}});
    refused(send(&region, &token, Method::POST, "/v1/policies", Some(scaling.to_string())).await, &["adjustment.cooldown", "31622400"]);
    let autoscaling = json!({"name": "a", "spec": {"type": "autoscaling", "version": "1.0", "properties": {
        "target_cpu_percent": 50, "stabilization_window": 10_000_000_000_000_000u64}}});
    refused(
        send(&region, &token, Method::POST, "/v1/policies", Some(autoscaling.to_string())).await,
        &["stabilization_window", "31622400"],
    );

    // Maps and lists of tens of thousands of entries, and paths posing as images.
    let environment: serde_json::Map<String, Value> = (0..20_000).map(|i| (format!("K{i}"), json!("v"))).collect();
    let big = json!({"name": "big", "spec": {"image": "busybox", "environment": environment}});
    refused(send(&region, &token, Method::POST, "/v1/containers", Some(big.to_string())).await, &["spec.environment", "256"]);
    let command: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let big = json!({"name": "big", "spec": {"image": "busybox", "command": command}});
    refused(send(&region, &token, Method::POST, "/v1/containers", Some(big.to_string())).await, &["spec.command", "256"]);
    let escape = json!({"name": "escape", "spec": {"image": "../../../etc/passwd"}});
    refused(send(&region, &token, Method::POST, "/v1/containers", Some(escape.to_string())).await, &["spec.image", "../../../etc/passwd"]);

    // Nothing half-made: neither refused container exists.
    assert_eq!(send(&region, &token, Method::GET, "/v1/containers/big", None).await.0, StatusCode::NOT_FOUND);
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(region) = TestRegion::start(backend).await else { continue };
        let _agent = region.sim_agent(SimHost::new("host-a")).await;
        let token = region.admin.token().expect("logged in").to_owned();
        use reqwest::Method;

        // A real state filter; an unknown state is a 400.
        let (status, text) = send(&region, &token, Method::GET, "/v1/hosts?state=UP", None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let listed = region.admin.list_hosts(Some("UP"), &Default::default()).await.expect("list UP hosts");
        assert_eq!(listed.hosts.len(), 1, "{backend:?}");
        assert!(region.admin.list_hosts(Some("down"), &Default::default()).await.expect("list DOWN hosts").hosts.is_empty());
        refused(send(&region, &token, Method::GET, "/v1/hosts?state=SLEEPING", None).await, &["state", "SLEEPING"]);

        // NULs in a body, a path or a query; trailing text; an array for an object.
        let nul = r#"{"name": "a\u0000b", "description": ""}"#.to_owned();
        refused(send(&region, &token, Method::POST, "/v1/projects", Some(nul)).await, &["NUL"]);
        refused(send(&region, &token, Method::GET, "/v1/containers/a%00b", None).await, &["NUL"]);
        refused(send(&region, &token, Method::GET, "/v1/containers?name=a%00b", None).await, &["NUL"]);
        let trailing = r#"{"name": "p1", "description": ""} garbage"#.to_owned();
        refused(send(&region, &token, Method::POST, "/v1/projects", Some(trailing)).await, &["malformed JSON"]);
        refused(send(&region, &token, Method::POST, "/v1/projects", Some(r#"["p2", ""]"#.into())).await, &["JSON object"]);
        assert_eq!(send(&region, &token, Method::GET, "/v1/projects/p1", None).await.0, StatusCode::NOT_FOUND, "{backend:?}");
        assert_eq!(send(&region, &token, Method::GET, "/v1/projects/p2", None).await.0, StatusCode::NOT_FOUND, "{backend:?}");
        region.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_closed_after_the_timeouts() {
    let region = TestRegion::start_with(Backend::Sqlite, |config| {
        config.header_read_timeout = Duration::from_secs(1);
        config.body_read_timeout = Duration::from_secs(1);
    })
    .await
    .expect("SQLite is always available");
    let address = region.url.trim_start_matches("http://").to_owned();

    // Half a request head: the server closes the connection once the header timeout passes.
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    stream.write_all(b"GET /v1 HTTP/1.1\r\nHost: x\r\n").await.expect("send half a head");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was held open for 10 s");
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());

    // A whole head and half a body: the request fails and the connection ends too.
    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = "POST /v1/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\":";
    stream.write_all(head.as_bytes()).await.expect("send half a body");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was held open for 10 s");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400") || text.starts_with("HTTP/1.1 408"), "{text}");

    // A whole request is still served.
    let version = reqwest::get(format!("{}/v1", region.url)).await.expect("the server answers");
    assert_eq!(version.status(), StatusCode::OK);
    region.stop().await;
}
