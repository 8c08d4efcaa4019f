//! Copying files into and out of a container on the real Docker Engine: a real `flotilla server`,
//! one real `flotilla agent`, the workload image built offline; `flotilla container cp` both ways
//! (a file in, read back with exec; a directory in and out again, compared), the errors of a bad
//! or missing path, `-` as a tar on stdout and from stdin, and `openstack appcontainer cp` both
//! ways with the real OpenStack CLI.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use support::Sandbox;
use support::docker::docker_region;
use support::openstack::{Cloud, assert_no_server_errors, cli};

/// Default networks of this test's projects come from here: Docker tests share one engine, each
/// keeps to its own addresses.
const NETWORK_POOL: &str = "10.206.0.0/16";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn files_copy_into_and_out_of_a_container_on_docker() {
    let sandbox = Sandbox::new();
    let region = docker_region(&sandbox, NETWORK_POOL, "copy");
    let (server, tag) = (&region.server, &region.tag);
    sandbox.run(&["container", "run", "--name", "web", "--image", tag, "--wait", "-o", "json"], &[]).json();

    // A file in, read back inside the container.
    let note = sandbox.path("note.txt");
    std::fs::write(&note, "copied in\n").unwrap();
    sandbox.run(&["container", "cp", note.to_str().unwrap(), "web:/tmp"], &[]).ok();
    let shown = sandbox.run(&["container", "exec", "web", "--", "/flotilla", "workload", "cat", "/tmp/note.txt"], &[]).ok();
    assert_eq!(shown, "copied in\n");

    // A directory in, then out again under a new name and into an existing directory.
    let conf = sandbox.path("conf");
    std::fs::create_dir_all(conf.join("sub")).unwrap();
    std::fs::write(conf.join("a.txt"), "alpha").unwrap();
    std::fs::write(conf.join("sub/b.txt"), "beta").unwrap();
    sandbox.run(&["container", "cp", conf.to_str().unwrap(), "web:/tmp"], &[]).ok();
    let inside = sandbox.run(&["container", "exec", "web", "--", "/flotilla", "workload", "cat", "/tmp/conf/sub/b.txt"], &[]).ok();
    assert_eq!(inside, "beta");
    let out = sandbox.path("out");
    sandbox.run(&["container", "cp", "web:/tmp/conf", out.to_str().unwrap()], &[]).ok();
    assert_eq!((read(&out.join("a.txt")), read(&out.join("sub/b.txt"))), ("alpha".to_owned(), "beta".to_owned()));
    sandbox.run(&["container", "cp", "web:/tmp/conf", out.to_str().unwrap()], &[]).ok();
    assert_eq!(read(&out.join("conf/sub/b.txt")), "beta", "an existing directory receives the copy under its own name");

    // `-`: the tar itself, written to stdout and read from stdin.
    let streamed = sandbox.command(&["container", "cp", "web:/tmp/conf", "-"], &[]).output().unwrap();
    assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
    let mut names: Vec<String> = tar::Archive::new(&streamed.stdout[..])
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap().path().unwrap().display().to_string().trim_end_matches('/').to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["conf", "conf/a.txt", "conf/sub", "conf/sub/b.txt"]);
    let mut piped = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o644);
    piped.append_data(&mut header, "piped.txt", &b"piped\n"[..]).unwrap();
    let mut child = sandbox.command(&["container", "cp", "-", "web:/tmp"], &[]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&piped.into_inner().unwrap()).unwrap();
    assert!(child.wait().unwrap().success(), "a tar on stdin goes in");
    let shown = sandbox.run(&["container", "exec", "web", "--", "/flotilla", "workload", "cat", "/tmp/piped.txt"], &[]).ok();
    assert_eq!(shown, "piped\n");

    // Bad and missing paths.
    let missing = sandbox.run(&["container", "cp", "web:/no/such/file", out.to_str().unwrap()], &[]).fails_with(1);
    assert!(missing.contains("/no/such/file"), "{missing}");
    let nowhere = sandbox.run(&["container", "cp", note.to_str().unwrap(), "web:/no/such/dir"], &[]).fails_with(1);
    assert!(nowhere.contains("/no/such/dir"), "{nowhere}");
    let relative = sandbox.run(&["container", "cp", "web:tmp/note.txt", out.to_str().unwrap()], &[]).fails_with(1);
    assert!(relative.contains("absolute"), "{relative}");
    let sides = sandbox.run(&["container", "cp", note.to_str().unwrap(), out.to_str().unwrap()], &[]).fails_with(1);
    assert!(sides.contains("CONTAINER:PATH"), "{sides}");

    // The OpenStack CLI: `appcontainer cp` both ways.
    if let Some(cli) = cli() {
        let cloud = Cloud::admin(cli, &server.url, sandbox.path("home"));
        let zun_in = sandbox.path("zun.txt");
        std::fs::write(&zun_in, "from openstack").unwrap();
        cloud.ok(&["appcontainer", "cp", zun_in.to_str().unwrap(), "web:/tmp"]);
        let shown = sandbox.run(&["container", "exec", "web", "--", "/flotilla", "workload", "cat", "/tmp/zun.txt"], &[]).ok();
        assert_eq!(shown, "from openstack");
        let zun_out = sandbox.path("zun-out");
        std::fs::create_dir(&zun_out).unwrap();
        cloud.ok(&["appcontainer", "cp", "web:/tmp/conf", zun_out.to_str().unwrap()]);
        assert_eq!(read(&zun_out.join("conf/sub/b.txt")), "beta");
        let (code, _, stderr) = cloud.run(&["appcontainer", "cp", "web:/no/such/file", zun_out.to_str().unwrap()]);
        assert_ne!(code, Some(0), "a missing path fails: {stderr}");
        // (The client prints the error's title and status, not its detail.)
        assert!(stderr.contains("HTTP 404"), "{stderr}");
    } else {
        eprintln!("openstack part skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
    }

    // A stopped container still copies.
    sandbox.run(&["container", "stop", "web", "--wait"], &[]).ok();
    sandbox.run(&["container", "cp", "web:/tmp/note.txt", sandbox.path("stopped.txt").to_str().unwrap()], &[]).ok();
    assert_eq!(read(&sandbox.path("stopped.txt")), "copied in\n");
    sandbox.run(&["container", "delete", "web", "--wait"], &[]).ok();
    assert_no_server_errors(&server.stderr());
}
