//! The operator's maintenance of a region's state through the real binary: `flotilla server
//! migrate [--check]` on SQLite and PostgreSQL, and `flotilla server backup` / `restore` of a
//! live SQLite region into a fresh data dir a new server then runs on.

mod support;

use support::{Sandbox, log_in_as_admin, start_named_server, start_server_on};

/// `server migrate` lines: `applied|pending NNNN description`.
fn listed(stdout: &str, verb: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_prefix(verb).map(|rest| rest.trim().to_owned())).collect()
}

/// Checks an empty database (every migration pending, exit 1, nothing applied), migrates it
/// (each applied once), checks again (exit 0), and a server runs on it.
fn migrate_then_check(sandbox: &Sandbox, location: &[&str], server_database: Option<&str>) {
    let with = |args: &[&'static str]| [&["server", "migrate"], args, location].concat();
    let check = sandbox.run(&with(&["--check"]), &[]);
    let pending = listed(&check.stdout, "pending ");
    assert!(pending.len() >= 20 && pending[0].starts_with("0001 "), "every migration pending: {check:?}");
    let error = check.fails_with(1);
    assert!(error.contains(&format!("{} migration(s) pending", pending.len())) && error.contains("flotilla server migrate"), "{error}");
    assert_eq!(listed(&sandbox.run(&with(&["--check"]), &[]).stdout, "pending "), pending, "a check applies nothing");

    let stdout = sandbox.run(&with(&[]), &[]).ok();
    assert_eq!(listed(&stdout, "applied "), pending, "{stdout}");
    assert!(stdout.ends_with("the schema is current\n"), "{stdout}");
    let stdout = sandbox.run(&with(&["--check"]), &[]).ok();
    assert_eq!(stdout, "the schema is current\n", "nothing pending after the migration");
    assert_eq!(sandbox.run(&with(&[]), &[]).ok(), "the schema is current\n", "migrating again applies nothing");

    let server = start_server_on(sandbox, server_database);
    log_in_as_admin(sandbox, &server);
    assert_eq!(sandbox.run(&["whoami", "-o", "json"], &[]).json()["user"], "admin");
    server.stop();
}

#[test]
fn migrate_applies_pending_migrations_and_check_lists_them_on_sqlite() {
    let sandbox = Sandbox::new();
    let data = sandbox.path("data");
    let data = data.to_str().unwrap();
    let missing = sandbox.run(&["server", "migrate", "--check", "--data-dir", data], &[]).fails_with(1);
    assert!(missing.contains("flotilla.db"), "{missing}");
    assert!(!sandbox.path("data").exists(), "a check makes no file");
    // An empty file is an empty SQLite database.
    std::fs::create_dir(sandbox.path("data")).unwrap();
    std::fs::write(sandbox.path("data/flotilla.db"), b"").unwrap();
    migrate_then_check(&sandbox, &["--data-dir", data], None);

    let config = sandbox.path("server.toml");
    std::fs::write(&config, format!("data_dir = {data:?}\n")).unwrap();
    let stdout = sandbox.run(&["server", "migrate", "--check", "--config", config.to_str().unwrap()], &[]).ok();
    assert_eq!(stdout, "the schema is current\n", "the config file's data_dir is the one checked");
    let mixed = sandbox.run(&["server", "--listen", "127.0.0.1:0", "migrate"], &[]);
    assert_eq!(mixed.code, Some(2), "{mixed:?}");
    assert!(mixed.stderr.contains("'migrate' cannot be used with '--listen"), "the server's flags are not the migration's: {mixed:?}");
}

#[test]
fn migrate_applies_pending_migrations_and_check_lists_them_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sandbox = Sandbox::new();
    let Some(url) = rt.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path())) else {
        return;
    };
    migrate_then_check(&sandbox, &["--database", &url, "--data-dir", sandbox.path("data").to_str().unwrap()], Some(&url));
}

/// What a region holds, by name: users, networks, volumes, images.
fn names(sandbox: &Sandbox) -> Vec<(String, Vec<String>)> {
    ["user", "network", "volume", "image"]
        .iter()
        .map(|kind| {
            let mut names = sandbox.run(&[kind, "list", "-o", "name"], &[]).ok().lines().map(str::to_owned).collect::<Vec<_>>();
            names.sort();
            (kind.to_string(), names)
        })
        .collect()
}

#[test]
fn a_backup_of_a_running_region_restores_into_a_fresh_dir_a_new_server_runs_on() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    log_in_as_admin(&sandbox, &server);
    sandbox.run(&["user", "create", "operator-one", "--password", "operator-pass-1234"], &[]).ok();
    sandbox.run(&["network", "create", "backed-net", "--subnet", "10.77.0.0/24"], &[]).ok();
    sandbox.run(&["volume", "create", "backed-vol"], &[]).ok();
    let archive = sandbox.path("workload.tar");
    sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", "backed/workload:1"], &[]).ok();
    let image = sandbox.run(&["image", "upload", archive.to_str().unwrap(), "-o", "json"], &[]).json();
    let stored = format!("images/{}.tar", image["sha256"].as_str().unwrap());
    let before = names(&sandbox);
    assert!(before.iter().all(|(_, names)| !names.is_empty()), "{before:?}");

    let backup = sandbox.path("region-backup.tar");
    let data = sandbox.path("data");
    let stdout = sandbox.run(&["server", "backup", backup.to_str().unwrap(), "--data-dir", data.to_str().unwrap()], &[]).ok();
    assert!(stdout.contains("backed up the database and") && stdout.contains("region-backup.tar"), "{stdout}");
    assert!(std::fs::read_dir(sandbox.dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".flotilla")));
    // A write after the backup is not in it.
    sandbox.run(&["volume", "create", "after-backup"], &[]).ok();

    let restore = |dir: &std::path::Path, extra: &[&str]| {
        sandbox.run(&[&["server", "restore", backup.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()], extra].concat(), &[])
    };
    let refused = restore(&data, &[]).fails_with(1);
    assert!(refused.contains("is not empty") && refused.contains("--force"), "{refused}");
    let other =
        sandbox.run(&["server", "restore", archive.to_str().unwrap(), "--data-dir", sandbox.path("other-data").to_str().unwrap()], &[]);
    let error = other.fails_with(1);
    assert!(error.contains("is not a flotilla backup") && error.contains("workload.tar"), "{error}");
    assert!(!sandbox.path("other-data").exists(), "nothing half-made");
    let restored = sandbox.path("restored-data");
    assert!(restore(&restored, &[]).ok().contains(restored.to_str().unwrap()));
    assert_eq!(std::fs::read(restored.join(&stored)).unwrap(), std::fs::read(data.join(&stored)).unwrap(), "the image archive");
    assert!(restored.join("callback-identity").is_dir(), "the callback identity agents pinned");
    server.stop();

    let second = start_named_server(&sandbox, "restored", None, &[]);
    log_in_as_admin(&sandbox, &second);
    assert_eq!(names(&sandbox), before, "the objects made before the backup, and only those");
    let shown = sandbox.run(&["image", "show", "backed/workload:1", "-o", "json"], &[]).json();
    assert_eq!(shown["sha256"], image["sha256"]);
    second.stop();

    // Over the restored dir (its server stopped): the backup replaces what it had since.
    std::fs::write(restored.join("images/stray.tar"), b"x").unwrap();
    assert!(restore(&restored, &["--force"]).ok().contains("restored"));
    assert_eq!(std::fs::read(restored.join(&stored)).unwrap(), std::fs::read(data.join(&stored)).unwrap());
    assert!(!restored.join("images/stray.tar").exists(), "the backup's images directory replaces the one there");
}

#[test]
fn postgres_regions_are_pointed_to_pg_dump() {
    let sandbox = Sandbox::new();
    let url = "postgres://flotilla:secret@127.0.0.1:1/flotilla";
    for args in [["server", "backup", "b.tar", "--database", url], ["server", "restore", "b.tar", "--database", url]] {
        let error = sandbox.run(&args, &[]).fails_with(1);
        assert!(error.contains("pg_dump") && !error.contains("secret"), "{error}");
    }
}
