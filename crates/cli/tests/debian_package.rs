//! The Debian package, installed on this machine as an operator would: `scripts/package-deb.sh`
//! packs the binary already built (with its units, config files, completions and man pages),
//! `dpkg -i` installs it, the units' ExecStart commands run (systemd is not PID 1 here: each is
//! read from the installed unit file and run as its User=, with its EnvironmentFile= applied),
//! the region answers (`/readyz`, a login), the agent's host joins it, and `dpkg --purge` removes
//! it. Needs root and cargo-deb: skipped without them unless `CI=true` (scripts/test.sh installs
//! cargo-deb).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{BIN, Running, Sandbox, free_address, http};

const PASSWORD: &str = "deb-admin-pass-1234";
/// What the package and its maintainer scripts make outside of dpkg's own records.
const STATE: &str = "/var/lib/flotilla";

fn succeeds(command: &mut Command) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether this machine can run the test: root and cargo-deb.
fn can_run() -> bool {
    let root = succeeds(Command::new("id").arg("-u")).trim() == "0";
    let cargo_deb =
        Command::new("cargo").args(["deb", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    match (root, cargo_deb) {
        (true, true) => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but root {root}, cargo-deb {cargo_deb}: run scripts/test.sh as root")
        }
        _ => {
            eprintln!("skipped: needs root ({root}) and cargo-deb ({cargo_deb}; scripts/test.sh installs it)");
            false
        }
    }
}

/// The package installed by this test: purged, and its state and user removed, when dropped.
struct Installed;

impl Installed {
    fn purge(&self) {
        let _ = Command::new("dpkg").args(["--purge", "flotilla"]).stdout(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(STATE);
        let _ = Command::new("userdel").arg("flotilla").stderr(Stdio::null()).status();
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        self.purge();
    }
}

/// What the test reads of an installed unit file: `User=`, `EnvironmentFile=` and `ExecStart=`.
struct Unit {
    user: String,
    environment_file: PathBuf,
    exec_start: Vec<String>,
}

fn unit(name: &str) -> Unit {
    let text = std::fs::read_to_string(format!("/lib/systemd/system/{name}.service")).unwrap();
    let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("{name}: no {key}"));
    Unit {
        user: value("User=").to_owned(),
        environment_file: PathBuf::from(value("EnvironmentFile=").trim_start_matches('-')),
        exec_start: value("ExecStart=").split_whitespace().map(str::to_owned).collect(),
    }
}

/// Writes the unit's environment file as an operator would.
fn configure(unit: &Unit, lines: &[String]) {
    std::fs::write(&unit.environment_file, lines.join("\n") + "\n").unwrap();
}

/// Runs the unit's ExecStart as its User=, with only its EnvironmentFile's variables (and PATH),
/// as systemd would; waits for `ready` on stdout.
fn start(sandbox: &Sandbox, name: &str, ready: &str) -> Running {
    let unit = unit(name);
    let mut command = Command::new("setpriv");
    if unit.user != "root" {
        command.args(["--reuid", &unit.user, "--regid", &unit.user, "--init-groups"]);
    }
    command.arg("--").args(&unit.exec_start).env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").current_dir("/").stdin(Stdio::null());
    let text = std::fs::read_to_string(&unit.environment_file).unwrap();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (key, value) = line.split_once('=').unwrap();
        command.env(key, value);
    }
    sandbox.spawn_command(name, command, ready)
}

#[test]
fn the_debian_package_installs_and_its_units_run_a_region_and_an_agent() {
    if !can_run() {
        return;
    }
    let installed_before = Command::new("dpkg").args(["-s", "flotilla"]).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(!installed_before.success() && !Path::new(STATE).exists(), "flotilla is installed on this machine: the test would change it");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = Path::new(BIN).parent().unwrap().parent().unwrap();
    let out = succeeds(Command::new(root.join("scripts/package-deb.sh")).env("CARGO_TARGET_DIR", target).env("PROFILE", "dev"));
    let deb = root.join(out.lines().last().unwrap());
    let contents = succeeds(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for path in [
        "usr/bin/flotilla",
        "lib/systemd/system/flotilla-server.service",
        "lib/systemd/system/flotilla-agent.service",
        "etc/flotilla/server.toml",
        "etc/default/flotilla-agent",
        "usr/share/bash-completion/completions/flotilla",
        "usr/share/zsh/vendor-completions/_flotilla",
        "usr/share/fish/vendor_completions.d/flotilla.fish",
        "usr/share/man/man1/flotilla-server.1.gz",
    ] {
        assert!(contents.lines().any(|l| l.ends_with(&format!(" {path}"))), "{path} not in the package: {contents}");
    }

    let installed = Installed;
    succeeds(Command::new("dpkg").arg("-i").arg(&deb));
    let version = succeeds(Command::new("/usr/bin/flotilla").arg("--version"));
    assert_eq!(version.trim(), format!("flotilla {}", env!("CARGO_PKG_VERSION")));
    let bash = std::fs::read_to_string("/usr/share/bash-completion/completions/flotilla").unwrap();
    assert!(bash.contains("complete") && bash.contains("flotilla"), "{bash}");
    let uid = succeeds(Command::new("id").args(["-u", "flotilla"])).trim().parse::<u32>().unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(format!("{STATE}/server")).unwrap()), uid);

    let sandbox = Sandbox::new();
    let listen = free_address();
    let server_unit = unit("flotilla-server");
    assert_eq!(server_unit.user, "flotilla");
    configure(&server_unit, &[format!("FLOTILLA_LISTEN={listen}"), format!("FLOTILLA_BOOTSTRAP_PASSWORD={PASSWORD}")]);
    let server = start(&sandbox, "flotilla-server", "listening on ");
    assert_eq!(server.url, format!("http://{listen}"), "the environment file's listen beats server.toml's");
    let (status, body) = http(&server.url, "GET", "/readyz", "", "");
    assert_eq!(status, 200, "{body}");
    assert!(Path::new(&format!("{STATE}/server/flotilla.db")).exists(), "server.toml's data dir");

    let cli = |args: &[&str], env: &[(&str, &str)]| sandbox.run_command(args, sandbox.command_of("/usr/bin/flotilla", args, env));
    cli(&["login", "--url", &server.url, "--user", "admin", "--project", "admin"], &[("FLOTILLA_PASSWORD", PASSWORD)]).ok();
    let token = cli(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agent_unit = unit("flotilla-agent");
    configure(
        &agent_unit,
        &[
            format!("FLOTILLA_SERVER={}", server.url),
            format!("FLOTILLA_JOIN_TOKEN={token}"),
            "FLOTILLA_AGENT_NAME=deb-host".to_owned(),
            "FLOTILLA_AGENT_LISTEN=127.0.0.1:0".to_owned(),
        ],
    );
    let agent = start(&sandbox, "flotilla-agent", "joined");
    let host = cli(&["host", "show", "deb-host", "-o", "json"], &[]).json();
    assert_eq!((host["state"].as_str(), host["runtime"].as_str()), (Some("UP"), Some("docker")), "{host}");
    assert_eq!(host["agent_version"], env!("CARGO_PKG_VERSION"));
    assert!(Path::new(&format!("{STATE}/agent")).read_dir().unwrap().next().is_some(), "agent.toml's state dir keeps the credential");
    agent.stop();
    server.stop();

    installed.purge();
    assert!(!Path::new("/usr/bin/flotilla").exists() && !Path::new("/etc/flotilla/server.toml").exists(), "purged");
    assert!(!Path::new("/lib/systemd/system/flotilla-server.service").exists());
}
