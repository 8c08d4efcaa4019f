//! Secrets and logins against the real `flotilla server` binary: the webhook secret never reaches
//! the log (the request line names the route template), and a thousand logins, right and wrong,
//! leave the server's memory where it was (argon2's blocks are reused, two hashes at a time).

mod support;

use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Instant;
use support::{ADMIN_PASSWORD, Sandbox, log_in_as_admin, start_server_on};

#[test]
fn the_webhook_secret_stays_out_of_the_log() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    let spec = sandbox.path("web.yaml");
    std::fs::write(&spec, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n").unwrap();
    sandbox.run(&["profile", "create", "web", "--spec-file", spec.to_str().unwrap()], &[]).ok();
    sandbox.run(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "0"], &[]).ok();
    let receiver = sandbox.run(&["receiver", "create", "probe", "--cluster", "web", "--action", "check", "-o", "json"], &[]).json();
    let url = receiver["url"].as_str().unwrap().to_owned();
    let secret = url.rsplit('/').next().unwrap().to_owned();
    let triggered = sandbox.run(&["receiver", "trigger", &url, "-o", "json"], &[]).json();
    assert!(triggered["action"].is_string(), "{triggered}");
    // The request lines are written once the answer went out; wait for the trigger's.
    let log = wait_for_log(&server, r#"route="/v1/webhooks/{secret}""#);
    assert!(!log.contains(&secret), "the webhook secret is in the server log:\n{log}");
    assert!(log.contains("POST") && log.contains("served"), "{log}");
}

/// The server's stderr once it holds `wanted` (10 s at most).
fn wait_for_log(server: &support::Running, wanted: &str) -> String {
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = server.stderr();
        if log.contains(wanted) || Instant::now() > deadline {
            assert!(log.contains(wanted), "no {wanted:?} in the server log:\n{log}");
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Logs the admin in from `127.0.0.{last}`; the status.
async fn log_in(url: &str, last: u8, password: &str) -> u16 {
    let http = reqwest::Client::builder().local_address(IpAddr::from([127, 0, 0, last])).build().unwrap();
    let body = json!({"user": "admin", "password": password, "project": "admin"});
    let resp = http.post(format!("{url}/v1/auth/tokens")).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    let _: Value = resp.json().await.unwrap();
    status
}

/// A thousand logins, half right and half wrong, from 100 loopback addresses (each first logs
/// in rightly, so the admin's own failure bucket does not apply there, and fails 5 times, under
/// the 10 its address may): the server's resident memory grows by less than 64 MiB in all (two
/// hashing buffers, 19 MiB each, live while logins run at once) and by less than 16 MiB after
/// the first few. When glibc's arenas kept the freed buffers, the server kept growing (55 → 169
/// MiB over the first 8 logins, then +96 MiB over the thousand).
#[test]
fn a_thousand_logins_leave_the_memory_flat() {
    const LOGINS: usize = 1000;
    const ADDRESSES: usize = 100;
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    let pid = server.child.id();
    let url = server.url.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let at_start = rss_kib(pid);
    // A few logins first: the two hashing buffers and the decoy hash are made once.
    runtime.block_on(async {
        for last in 2..6 {
            assert_eq!(log_in(&url, last, ADMIN_PASSWORD).await, 201);
            assert_eq!(log_in(&url, last, "wrong-password").await, 401);
        }
    });
    let before = rss_kib(pid);
    let started = Instant::now();
    let statuses = runtime.block_on(async {
        let tasks = (0..4).map(|worker| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for pair in (worker..LOGINS / 2).step_by(4) {
                    let last = 2 + (pair % ADDRESSES) as u8;
                    statuses.push(log_in(&url, last, ADMIN_PASSWORD).await);
                    statuses.push(log_in(&url, last, "wrong-password").await);
                }
                statuses
            })
        });
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let after = rss_kib(pid);
    let (grown_mib, steady_mib) = (after.saturating_sub(at_start) / 1024, after.saturating_sub(before) / 1024);
    eprintln!(
        "{LOGINS} logins in {:.1?}: RSS {} MiB at start, {} MiB after the first 8 logins, {} MiB at the end",
        started.elapsed(),
        at_start / 1024,
        before / 1024,
        after / 1024
    );
    assert_eq!(statuses.len(), LOGINS);
    let count = |status: u16| statuses.iter().filter(|s| **s == status).count();
    assert_eq!((count(201), count(401)), (LOGINS / 2, LOGINS / 2), "none throttled: {statuses:?}");
    assert!(grown_mib < 64, "the server grew by {grown_mib} MiB over {LOGINS} logins");
    assert!(steady_mib < 16, "the server grew by {steady_mib} MiB over {LOGINS} logins after the first 8");
    server.stop();
}
