//! The dashboard in a real headless browser against the real binary: `flotilla dashboard
//! --show-url` makes the one-time link, and `dashboard_browser.py` (selenium driving Debian's
//! chromium through chromedriver) signs in with it, sees containers appear without a reload (and
//! why one cannot fit), scales a cluster from its page, and saves a screenshot of every page under
//! `target/ui-screenshots`. Skipped without the browser and the Python tools unless `CI=true`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use support::openstack::sim_region;
use support::{ADMIN_PASSWORD, Sandbox};

/// The tools the test needs: `(python, chromium, chromedriver)`; `None` (the test skips) unless
/// `CI=true`, where a missing one fails it.
fn tools() -> Option<(String, String, String)> {
    let vars = ["FLOTILLA_TEST_SELENIUM_PYTHON", "FLOTILLA_TEST_CHROMIUM", "FLOTILLA_TEST_CHROMEDRIVER"];
    let found: Vec<Option<String>> = vars.iter().map(|v| std::env::var(v).ok().filter(|p| !p.is_empty())).collect();
    match (found[0].clone(), found[1].clone(), found[2].clone()) {
        (Some(python), Some(chromium), Some(driver)) => Some((python, chromium, driver)),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!("CI=true but {vars:?} are not all set: run scripts/test.sh"),
        _ => {
            eprintln!("skipped: {vars:?} are not all set (scripts/test.sh sets them)");
            None
        }
    }
}

/// Where the screenshots are kept: the workspace's `target/ui-screenshots`.
fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots")
}

#[test]
fn the_dashboard_in_a_real_browser() {
    let Some((python, chromium, driver)) = tools() else { return };
    let sandbox = Sandbox::new();
    let (server, agents) = sim_region(&sandbox);
    let spec = sandbox.path("web.yaml");
    std::fs::write(&spec, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: any/image:1\n  memory: 64\n").unwrap();
    sandbox.run(&["profile", "create", "web", "--spec-file", spec.to_str().unwrap()], &[]).ok();
    let cluster =
        sandbox.run(&["cluster", "create", "web", "--profile", "web", "--desired-capacity", "1", "--wait", "-o", "json"], &[]).json();
    let cluster_id = cluster["id"].as_str().expect("the cluster's id").to_owned();

    let link = sandbox.run(&["dashboard", "--show-url"], &[]).ok().trim().to_owned();
    assert!(link.starts_with(&format!("{}/ui/link/flt_", server.url)), "{link}");

    let shots = screenshot_dir();
    let _ = std::fs::remove_dir_all(&shots);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard_browser.py");
    let out = Command::new(python)
        .arg(&script)
        .args([link.as_str(), server.url.as_str(), cluster_id.as_str(), shots.to_str().unwrap()])
        .env("FLOTILLA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("FLOTILLA_TEST_CHROMIUM", chromium)
        .env("FLOTILLA_TEST_CHROMEDRIVER", driver)
        .output()
        .expect("run the browser script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser script failed:\n{stdout}\n{stderr}\nserver log:\n{}", server.stderr());
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("the script's summary");

    assert!(seen["no_fit_reason"].as_str().unwrap().contains("no host fits"), "{seen}");
    assert_eq!(seen["second_use_refused"], true);
    assert_eq!(seen["scaled"], 3, "the cluster was scaled from its page");
    assert!(seen["hosts"].as_str().unwrap().contains("UP"), "the hosts page shows the simulated hosts: {seen}");
    assert!(seen["events"].as_str().unwrap().contains("CONTAINER_CREATE"), "{seen}");
    assert!(seen["clusters"].as_str().unwrap().contains("web"), "{seen}");
    assert!(seen["overview"].as_str().unwrap().contains("Containers by status"), "{seen}");
    for page in ["overview", "containers", "cluster", "clusters", "hosts", "networks", "quotas", "events"] {
        let path = shots.join(format!("{page}.png"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} is missing or empty ({size} bytes)", path.display());
    }
    agents.stop();
    server.stop();
}
