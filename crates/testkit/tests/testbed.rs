//! The testbed for real (root, the machine's Docker binaries, real namespaces and links): hosts
//! get engines of their own, reach each other and the root namespace over the underlay only, a
//! range that overlaps a route of the machine is refused, crashed runs are swept, and nothing of a
//! run remains after it stopped.

use flotilla_testkit::testbed::{DATA_ROOT, HOST_LINK, NETNS_DIR, RUN_ROOT, Testbed, TestbedError, TestbedSpec};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

const UNDERLAY: &str = "198.51.100.0/24";

/// Names under `dir` starting with `start`.
fn names_in(dir: &str, start: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|read| {
            read.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(start)).collect()
        })
        .unwrap_or_default()
}

/// Everything of run `run` still on the machine: namespaces, links, processes, mounts, directories, cgroups.
fn remains_of(run: &str) -> Vec<String> {
    let mut left: Vec<String> = names_in(NETNS_DIR, run).into_iter().map(|n| format!("namespace {n}")).collect();
    left.extend(names_in("/sys/class/net", run).into_iter().map(|n| format!("link {n}")));
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(run) {
            left.push(format!("process {}: {}", entry.file_name().to_string_lossy(), String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    left.extend(mounts.lines().filter(|l| l.contains(run)).map(|l| format!("mount {l}")));
    for dir in [RUN_ROOT, DATA_ROOT] {
        if Path::new(dir).join(run).exists() {
            left.push(format!("directory {dir}/{run}"));
        }
    }
    for controller in std::fs::read_dir("/sys/fs/cgroup").unwrap().filter_map(Result::ok) {
        left.extend(names_in(&controller.path().to_string_lossy(), run).into_iter().map(|n| format!("cgroup {n}")));
    }
    left
}

/// Connects from the current namespace to `to`, sends `hello`, answers what came back.
fn exchange(to: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"hello")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// Answers `count` connections on `listener` with the address each came from.
fn serve_peer_addresses(listener: TcpListener, count: usize) -> std::thread::JoinHandle<Vec<IpAddr>> {
    std::thread::spawn(move || {
        let mut peers = Vec::new();
        for _ in 0..count {
            let (mut stream, peer) = listener.accept().unwrap();
            let mut hello = String::new();
            stream.read_to_string(&mut hello).unwrap();
            assert_eq!(hello, "hello");
            stream.write_all(peer.ip().to_string().as_bytes()).unwrap();
            peers.push(peer.ip());
        }
        peers
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_have_own_engines_reach_each_other_over_the_underlay_and_leave_nothing() {
    let bed = Testbed::start(TestbedSpec { hosts: 2, prefix: "tbt", underlay: UNDERLAY }).await.expect("the testbed starts");
    let run = bed.run_name().to_owned();
    let range: flotilla_core::ipam::Cidr = flotilla_core::ipam::Cidr::parse("underlay", UNDERLAY).unwrap();
    assert!(range.contains(bed.server_ip()));
    let main_root = std::process::Command::new("docker").args(["info", "--format", "{{.DockerRootDir}}"]).output().unwrap();
    let main_root = String::from_utf8_lossy(&main_root.stdout).trim().to_owned();
    for host in bed.hosts() {
        assert!(bed.underlay().contains(host.underlay_ip()), "{} in {}", host.underlay_ip(), bed.underlay());
        assert!(host.netns_path().exists(), "{}", host.netns_path().display());
        let info = host.docker().info().await.expect("the host's engine answers");
        assert_eq!(info.docker_root_dir.as_deref(), Some(host.data_root().to_str().unwrap()));
        assert_eq!(info.driver.as_deref(), Some("fuse-overlayfs"));
        assert_ne!(info.docker_root_dir.as_deref(), Some(main_root.as_str()), "not the machine's main engine");
        // The CLI inside the namespace finds the host's engine through DOCKER_HOST.
        let out = host.exec(&["docker", "info", "--format", "{{.DockerRootDir}}"]).await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), host.data_root().to_str().unwrap());
        // The host's only way out is its underlay link: nothing routes to the machine's network.
        let out = host.exec(&["ip", "-o", "-4", "addr", "show", "dev", HOST_LINK]).await.unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{}/", host.underlay_ip())));
        let outside = host.inside(|| TcpStream::connect_timeout(&"192.0.2.1:80".parse().unwrap(), Duration::from_secs(2)));
        assert_eq!(outside.unwrap_err().raw_os_error(), Some(101), "ENETUNREACH: no route leaves the host");
    }

    // Host 1 listens on its underlay address; host 0 and the root namespace connect to it.
    let (h0, h1) = (bed.host(0).underlay_ip(), bed.host(1).underlay_ip());
    let listener = bed.host(1).inside(|| TcpListener::bind((h1, 0))).unwrap();
    let to = listener.local_addr().unwrap();
    let server = serve_peer_addresses(listener, 2);
    let from_host0 = bed.host(0).inside(|| exchange(to)).expect("host 0 reaches host 1");
    assert_eq!(from_host0, h0.to_string(), "host 1 saw host 0's underlay address");
    let from_root = exchange(to).expect("the root namespace reaches host 1");
    assert_eq!(from_root, bed.server_ip().to_string());
    assert_eq!(server.join().unwrap(), vec![IpAddr::V4(h0), IpAddr::V4(bed.server_ip())]);

    // Host 0 reaches a server in the root namespace listening on the server address.
    let listener = TcpListener::bind((bed.server_ip(), 0)).unwrap();
    let to = listener.local_addr().unwrap();
    let server = serve_peer_addresses(listener, 1);
    assert_eq!(bed.host(0).inside(|| exchange(to)).expect("host 0 reaches the root namespace"), h0.to_string());
    server.join().unwrap();

    // A container on host 0's engine (mounts, a shim, its own processes) goes with the testbed.
    let rootfs = tempfile::tempdir().unwrap();
    std::fs::create_dir(rootfs.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.path().join("bin/busybox")).expect("/bin/busybox (busybox-static) is installed");
    std::os::unix::fs::symlink("busybox", rootfs.path().join("bin/sleep")).unwrap();
    let import = format!("tar -C {} -c . | docker import - testbed/busybox:latest", rootfs.path().display());
    let out = bed.host(0).exec(&["sh", "-c", &import]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bed.host(0).exec(&["docker", "run", "-d", "--name", "sleeper", "testbed/busybox:latest", "/bin/sleep", "600"]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sleeper = bed.host(0).docker().inspect_container("sleeper", None).await.unwrap();
    assert_eq!(sleeper.state.and_then(|s| s.running), Some(true));
    assert!(bed.host(1).docker().inspect_container("sleeper", None).await.is_err(), "only on host 0's engine");
    let main = std::process::Command::new("docker").args(["inspect", "sleeper"]).output().unwrap();
    assert!(!main.status.success(), "not on the machine's main engine");

    let remains = remains_of(&run);
    for kind in ["namespace", "link", "process", "mount", "directory", "cgroup"] {
        assert!(remains.iter().any(|r| r.starts_with(kind)), "the run has a {kind}: {remains:?}");
    }
    bed.stop().await.expect("the testbed stops cleanly");
    assert_eq!(remains_of(&run), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_underlay_overlapping_a_route_of_the_machine_is_refused_and_leaves_nothing() {
    // A network the machine routes (eth0's here), read from the kernel's table.
    let table = std::fs::read_to_string("/proc/net/route").unwrap();
    let (device, network) = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let destination = Ipv4Addr::from(u32::from_str_radix(fields[1], 16).ok()?.swap_bytes());
            let prefix = u32::from_str_radix(fields[7], 16).ok()?.count_ones();
            (8..=30).contains(&prefix).then(|| (fields[0].to_owned(), format!("{destination}/{prefix}")))
        })
        .find(|(device, _)| !device.starts_with("docker") && !device.starts_with("br-"))
        .expect("the machine routes some network");
    let before = names_in(NETNS_DIR, "tbr");
    let refused = Testbed::start(TestbedSpec { hosts: 1, prefix: "tbr", underlay: &network }).await.unwrap_err();
    match &refused {
        TestbedError::Overlap { underlay, device: on, .. } => {
            assert_eq!(underlay, &network);
            assert_eq!(on, &device);
        }
        other => panic!("expected an overlap refusal, got {other}"),
    }
    assert!(refused.to_string().contains("test traffic could leave the machine"), "{refused}");
    assert_eq!(names_in(NETNS_DIR, "tbr"), before, "no namespace is left of the refused start");
    assert!(names_in("/sys/class/net", "tbr").is_empty());

    // Bad specs name the field and the value.
    let bad = Testbed::start(TestbedSpec { hosts: 1, prefix: "Tb", underlay: UNDERLAY }).await.unwrap_err();
    assert!(matches!(&bad, TestbedError::Spec { field: "prefix", value, .. } if value == "Tb"), "{bad}");
    let bad = Testbed::start(TestbedSpec { hosts: 0, prefix: "tbr", underlay: UNDERLAY }).await.unwrap_err();
    assert!(matches!(&bad, TestbedError::Spec { field: "hosts", value, .. } if value == "0"), "{bad}");
    let bad = Testbed::start(TestbedSpec { hosts: 1, prefix: "tbr", underlay: "198.51.100.7/24" }).await.unwrap_err();
    assert!(matches!(&bad, TestbedError::Spec { field: "underlay", value, .. } if value == "198.51.100.7/24"), "{bad}");
}

/// On a current-thread runtime: the testbed needs no second worker.
#[tokio::test]
async fn a_start_sweeps_the_leftovers_of_a_run_whose_process_died() {
    // A run of a process that exited: its namespace and directories stay behind, as after a crash.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let crashed = format!("tbc{dead}-0");
    let status = std::process::Command::new("ip").args(["netns", "add", &format!("{crashed}-h0")]).status().unwrap();
    assert!(status.success());
    for dir in [RUN_ROOT, DATA_ROOT] {
        std::fs::create_dir_all(Path::new(dir).join(&crashed).join("h0")).unwrap();
    }
    assert!(!remains_of(&crashed).is_empty());

    let bed = Testbed::start(TestbedSpec { hosts: 1, prefix: "tbc", underlay: UNDERLAY }).await.expect("the testbed starts");
    assert_eq!(remains_of(&crashed), Vec::<String>::new(), "the dead run was swept");
    let live = bed.run_name().to_owned();
    assert!(!remains_of(&live).is_empty(), "this run's own things are there");
    let panicked = tokio::spawn(async move {
        let _bed = bed;
        panic!("a test fails while its testbed runs");
    })
    .await
    .unwrap_err();
    assert!(panicked.is_panic());
    assert_eq!(remains_of(&live), Vec::<String>::new(), "a panic removes everything too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_testbeds_take_separate_blocks_and_cannot_reach_each_other() {
    let spec = TestbedSpec { hosts: 1, prefix: "tbp", underlay: UNDERLAY };
    let (a, b) = tokio::join!(Testbed::start(spec), Testbed::start(spec));
    let (a, b) = (a.expect("testbed a starts"), b.expect("testbed b starts"));
    assert_ne!(a.run_name(), b.run_name());
    assert!(!a.underlay().overlaps(b.underlay()), "{} and {}", a.underlay(), b.underlay());
    // Each host reaches its own root address but not the other testbed's host: no route joins them.
    let listener = b.host(0).inside(|| TcpListener::bind((b.host(0).underlay_ip(), 0))).unwrap();
    let to = listener.local_addr().unwrap();
    let across = a.host(0).inside(|| TcpStream::connect_timeout(&to, Duration::from_secs(2)));
    assert_eq!(across.unwrap_err().raw_os_error(), Some(101), "ENETUNREACH from the other testbed");
    let server = serve_peer_addresses(listener, 1);
    assert_eq!(exchange(to).unwrap(), b.server_ip().to_string(), "the root namespace reaches both");
    server.join().unwrap();
    let (ra, rb) = (a.run_name().to_owned(), b.run_name().to_owned());
    let (stopped_a, stopped_b) = tokio::join!(a.stop(), b.stop());
    stopped_a.unwrap();
    stopped_b.unwrap();
    assert_eq!(remains_of(&ra), Vec::<String>::new());
    assert_eq!(remains_of(&rb), Vec::<String>::new());
}
