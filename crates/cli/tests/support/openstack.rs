//! The real OpenStack CLI (`openstack`, from the virtual environment `scripts/test.sh` makes) run
//! against a Flotilla server, as a user would: credentials in `OS_*` variables, `-f json` output.

use super::{Running, Sandbox, log_in_as_admin, sim_agent, start_server_on};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `openstack` of `FLOTILLA_TEST_OPENSTACK`; `None` (the test skips) unless `CI=true`.
pub fn cli() -> Option<String> {
    match std::env::var("FLOTILLA_TEST_OPENSTACK") {
        Ok(path) if !path.is_empty() => Some(path),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but FLOTILLA_TEST_OPENSTACK is not set: run scripts/test.sh")
        }
        _ => None,
    }
}

/// One user's view of a Flotilla identity: who they are and where its Keystone is.
pub struct Cloud {
    pub cli: String,
    /// `http://H/identity/v3`
    pub auth_url: String,
    pub user: String,
    pub password: String,
    pub project: String,
    /// `OS_REGION_NAME`, when one is picked.
    pub region: Option<String>,
    /// The HOME of the runs (no `clouds.yaml`, a cache of its own).
    pub home: PathBuf,
}

impl Cloud {
    /// The bootstrapped admin in project `admin` at the Keystone of the server at `url`.
    pub fn admin(cli: String, url: &str, home: PathBuf) -> Cloud {
        Cloud {
            cli,
            auth_url: format!("{url}/identity/v3"),
            user: "admin".into(),
            password: super::ADMIN_PASSWORD.into(),
            project: "admin".into(),
            region: None,
            home,
        }
    }

    /// `openstack args…`: its exit code, stdout and stderr.
    pub fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut command = Command::new(&self.cli);
        command.args(args).stdin(Stdio::null());
        for (name, _) in std::env::vars() {
            if name.starts_with("OS_") {
                command.env_remove(name);
            }
        }
        command
            .env("HOME", &self.home)
            .env("OS_AUTH_URL", &self.auth_url)
            .env("OS_IDENTITY_API_VERSION", "3")
            .env("OS_USERNAME", &self.user)
            .env("OS_PASSWORD", &self.password)
            .env("OS_PROJECT_NAME", &self.project)
            .env("OS_USER_DOMAIN_NAME", "Default")
            .env("OS_PROJECT_DOMAIN_NAME", "Default");
        if let Some(region) = &self.region {
            command.env("OS_REGION_NAME", region);
        }
        let out = command.output().expect("run openstack");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// `openstack args… -f json`, which must succeed, read as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let (code, stdout, stderr) = self.run(&all);
        assert_eq!(code, Some(0), "`openstack {}` failed:\n{stderr}\n{stdout}", all.join(" "));
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("`openstack {}` printed no JSON ({e}): {stdout}", all.join(" ")))
    }

    /// `openstack args…` without output format, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, Some(0), "`openstack {}` failed:\n{stderr}\n{stdout}", args.join(" "));
        stdout
    }
}

/// Asserts the server's log shows no answer with a 5xx status and no panic.
pub fn assert_no_server_errors(log: &str) {
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("status=5")).collect();
    assert!(errors.is_empty(), "the server answered 5xx:\n{}", errors.join("\n"));
}

/// The keys of a JSON object.
pub fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

/// `names` as a set, to compare with [`keys`].
pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A standalone region: `flotilla server` on SQLite and an agent simulating two hosts.
pub fn sim_region(sandbox: &Sandbox) -> (Running, Running) {
    let server = start_server_on(sandbox, None);
    log_in_as_admin(sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agents = sim_agent(sandbox, &server, &token, "sim", &["--simulate-hosts", "2"], "simulated hosts joined");
    (server, agents)
}
