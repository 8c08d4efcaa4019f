//! Networks and volumes end to end on the real Docker Engine: a real `flotilla server` and two real
//! `flotilla agent`s sharing the engine (one in host pool `storage`), a busybox image imported
//! offline. Members of a cluster reach each other over HTTP by address and by the cluster's name; a
//! container on another network cannot, until it is connected live; a pool volume exists on its
//! host before any container mounts it, and what one container writes there another reads;
//! deleting everything leaves no Docker network or volume behind.

mod support;

use flotilla_api::{
    ClusterCreate, ContainerCreate, DeleteQuery, NetworkConnect, NetworkCreate, Node, NodeFilter, ProfileCreate, SubnetCreate, VolumeCreate,
};
use flotilla_client::{Client, ClientError, Waited};
use flotilla_core::profile::{ContainerProperties, NetworkRef, ProfileSpec, VolumeMount};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{ADMIN_PASSWORD, Running, Sandbox};

const NETWORK_POOL: &str = "10.203.0.0/16";
const CONVERGE: Duration = Duration::from_secs(90);
const APPLETS: &[&str] = &["sh", "httpd", "nc", "printf", "cat", "echo", "sleep", "mkdir", "hostname", "timeout"];

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim()))
}

fn docker_ok(args: &[&str]) -> String {
    let (ok, out) = docker(args);
    assert!(ok, "docker {args:?}: {out}");
    out
}

/// Polls `check` every 250 ms until it answers something, for at most `CONVERGE`.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Imports a busybox root filesystem (Debian's busybox-static) as `tag`.
fn import_busybox(tag: &str) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.path().join("bin/busybox")).expect("/bin/busybox (busybox-static) must be installed");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", root.path().join("bin").join(applet)).unwrap();
    }
    let mut tar = Command::new("tar").args(["-C", root.path().to_str().unwrap(), "-c", "."]).stdout(Stdio::piped()).spawn().unwrap();
    let imported = Command::new("docker").args(["import", "-", tag]).stdin(tar.stdout.take().unwrap()).output().unwrap();
    assert!(tar.wait().unwrap().success(), "tar of the root filesystem");
    assert!(imported.status.success(), "docker import: {}", String::from_utf8_lossy(&imported.stderr));
}

struct Region {
    sandbox: Sandbox,
    agents: Vec<Running>,
    /// Ids of the agents' hosts: what they make in Docker carries `flotilla.host=ID`.
    hosts: Vec<String>,
    _server: Running,
    image: String,
    rt: tokio::runtime::Runtime,
    api: Client,
}

impl Drop for Region {
    /// Whatever happened, what this region's agents made in Docker goes, and the image.
    fn drop(&mut self) {
        self.agents.clear();
        for host in &self.hosts {
            let label = format!("label=flotilla.host={host}");
            for (list, remove) in [
                (&["ps", "-aq"][..], &["rm", "-f"][..]),
                (&["volume", "ls", "-q"], &["volume", "rm", "-f"]),
                (&["network", "ls", "-q"], &["network", "rm"]),
            ] {
                let (_, ids) = docker(&[list, &["--filter", &label]].concat());
                for id in ids.lines() {
                    let _ = docker(&[remove, &[id]].concat());
                }
            }
        }
        let _ = docker(&["image", "rm", "-f", &self.image]);
    }
}

impl Region {
    fn start() -> Self {
        let sandbox = Sandbox::new();
        let server = support::start_named_server(&sandbox, "server", None, &["--host-grace-period", "3", "--network-pool", NETWORK_POOL]);
        support::log_in_as_admin(&sandbox, &server);
        let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().expect("a join token").to_owned();
        let suffix = format!("{:x}", std::process::id());
        let image = format!("flotilla-e2e/busybox:{suffix}");
        import_busybox(&image);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let api = rt.block_on(flotilla_testkit::login(&server.url, "admin", ADMIN_PASSWORD, Some("admin"))).expect("login");
        let (mut agents, mut hosts) = (Vec::new(), Vec::new());
        for (name, pool) in [("storage", "storage"), ("plain", "")] {
            let name = format!("{name}-{suffix}");
            let args =
                ["agent", "--server", &server.url, "--join-token", &token, "--name", &name, "--listen", "127.0.0.1:0", "--pool", pool];
            agents.push(sandbox.spawn(&format!("agent-{name}"), &args, &[], "joined"));
            hosts.push(rt.block_on(api.host(&name)).expect("the host joined").id.to_string());
        }
        Region { sandbox, agents, hosts, _server: server, image, rt, api }
    }

    fn on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn spec(&self, command: &str, networks: &[&str], volumes: &[(&str, &str, bool)]) -> ContainerProperties {
        ContainerProperties {
            image: self.image.clone(),
            command: vec!["sh".into(), "-c".into(), command.into()],
            networks: networks.iter().map(|n| NetworkRef { network: (*n).into() }).collect(),
            volumes: volumes.iter().map(|(v, t, ro)| VolumeMount { volume: (*v).into(), target: (*t).into(), read_only: *ro }).collect(),
            restart_policy: Some(flotilla_core::profile::RestartPolicy::No),
            ..Default::default()
        }
    }

    /// Runs a standalone container; waits until it runs; answers its Docker id.
    fn run(&self, name: &str, spec: ContainerProperties) -> String {
        let body = ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() };
        self.on(self.api.create_container(&body)).unwrap_or_else(|e| panic!("container {name}: {e}"));
        wait_for(&format!("{name} runs"), || {
            let c = self.on(self.api.container(name)).ok()?;
            assert_ne!(c.status, "ERROR", "{name}: {}", c.status_reason);
            (c.status == "RUNNING").then_some(c.runtime_id?)
        })
    }

    fn members(&self) -> Vec<Node> {
        let filter = NodeFilter { cluster: Some("web".into()), status: None };
        self.on(self.api.all_nodes(&filter)).expect("nodes")
    }

    fn wait_action(&self, id: &str) {
        match self.on(self.api.wait_action(id, Duration::from_millis(250), CONVERGE, |_| {})).expect("action") {
            Waited::Ended(a) => assert_eq!(a.status, "SUCCEEDED", "{} ({}): {}", a.name, a.action, a.status_reason),
            Waited::TimedOut(a) => panic!("action {} still {}", a.name, a.status),
        }
    }
}

/// `GET http://{host}:8080/` from inside Docker container `from` (busybox `nc`): the page, or why not.
fn fetch(from: &str, host: &str) -> Result<String, String> {
    // busybox's `-w` bounds the connect only: a connection whose interface goes (a disconnect
    // racing the fetch) left `nc` waiting for an answer for ever.
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 6 nc -w 3 {host} 8080");
    match docker(&["exec", from, "sh", "-c", &script]) {
        (true, answer) if answer.contains(" 200 ") => Ok(answer.rsplit("\r\n\r\n").next().unwrap_or_default().trim().to_owned()),
        (_, why) => Err(why),
    }
}

/// The Docker network names a container is connected to.
fn docker_networks_of(runtime_id: &str) -> String {
    docker_ok(&["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}", runtime_id])
}

#[test]
fn members_reach_each_other_other_networks_do_not_pool_volumes_are_shared_and_nothing_is_left() {
    let region = Region::start();
    let api = &region.api;
    let subnet = |cidr: &str| SubnetCreate { cidr: cidr.into(), ..Default::default() };
    let backend = region
        .on(api.create_network(&NetworkCreate {
            name: "backend".into(),
            shared: false,
            global: false,
            subnet: Some(subnet("10.203.100.0/24")),
            metadata: Default::default(),
        }))
        .expect("network backend");
    let other = region
        .on(api.create_network(&NetworkCreate {
            name: "other".into(),
            shared: false,
            global: false,
            subnet: Some(subnet("10.203.101.0/24")),
            metadata: Default::default(),
        }))
        .expect("network other");

    // 1. A cluster of two on `backend`: each member has an address of its subnet, the one Docker shows.
    let serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www";
    let spec =
        ProfileSpec { type_name: "container.docker".into(), version: "1.0".into(), properties: region.spec(serve, &["backend"], &[]) };
    region.on(api.create_profile(&ProfileCreate { name: "web".into(), spec, metadata: Default::default() })).expect("profile");
    let body = ClusterCreate {
        name: "web".into(),
        profile: "web".into(),
        desired_capacity: 2,
        min_size: 0,
        max_size: -1,
        timeout: None,
        config: Default::default(),
        metadata: Default::default(),
    };
    let accepted = region.on(api.create_cluster(&body)).expect("cluster");
    region.wait_action(accepted.action.as_deref().expect("an action"));
    let members = region.members();
    assert_eq!(members.len(), 2);
    let mut runtime = Vec::new();
    for node in &members {
        assert_eq!(node.addresses.len(), 1, "{}: {:?}", node.name, node.addresses);
        let address = &node.addresses[0];
        assert_eq!((address.network.as_str(), address.network_id), ("backend", backend.id));
        assert!(address.ip_address.starts_with("10.203.100."), "{address:?}");
        let c = region.on(api.container(&node.physical_id.unwrap().to_string())).unwrap();
        let id = c.runtime_id.clone().expect("a Docker container");
        let shown = docker_networks_of(&id);
        assert!(
            shown.contains(&format!("={}", address.ip_address)) && shown.contains("backend"),
            "Docker shows {shown}, Flotilla {address:?}"
        );
        runtime.push((id, address.ip_address.clone()));
    }
    let (first, second) = (&runtime[0], &runtime[1]);
    let second_host = docker_ok(&["exec", &second.0, "hostname"]);

    // 2. By address, and by the cluster's name.
    let page = wait_for("member 1 reaches member 2 by address", || fetch(&first.0, &second.1).ok());
    assert_eq!(page, second_host);
    let hosts: Vec<String> = runtime.iter().map(|(id, _)| docker_ok(&["exec", id, "hostname"])).collect();
    let by_alias = wait_for("member 2 reaches the cluster by name", || fetch(&second.0, "web").ok());
    assert!(hosts.contains(&by_alias), "`web` answers as a member: {by_alias} not in {hosts:?}");

    // 3. Another network cannot reach them, until connected live; disconnected, it cannot again.
    let outsider = region.run("outsider", region.spec("exec sleep 3600", &["other"], &[]));
    assert!(docker_networks_of(&outsider).contains("=10.203.101."), "{}", docker_networks_of(&outsider));
    let refused = fetch(&outsider, &first.1);
    assert!(refused.is_err(), "a container on network other reaches backend: {refused:?}");
    assert!(fetch(&outsider, "web").is_err(), "the cluster's name resolves from another network");
    let connect = NetworkConnect { network: "backend".into(), ip_address: Some("10.203.100.200".into()) };
    let connected = region.on(api.connect_network("outsider", &connect)).expect("connect");
    assert!(connected.addresses.iter().any(|a| a.ip_address == "10.203.100.200"), "{:?}", connected.addresses);
    wait_for("the connected outsider reaches member 1", || fetch(&outsider, &first.1).ok());
    assert!(docker_networks_of(&outsider).contains("=10.203.100.200"), "connected live, with its fixed address");
    region.on(api.disconnect_network("outsider", "backend")).expect("disconnect");
    wait_for("the disconnected outsider no longer reaches member 1", || fetch(&outsider, &first.1).err());

    // 4. A pool volume: on the storage host before any container; shared by two containers there.
    let volume = region
        .on(api.create_volume(&VolumeCreate {
            name: "shared".into(),
            driver: None,
            driver_opts: Default::default(),
            size_mib: None,
            pool: Some("storage".into()),
            metadata: Default::default(),
        }))
        .expect("volume");
    let label = format!("label=flotilla.volume={}", volume.id);
    wait_for("the pool volume exists before any container", || {
        (!docker_ok(&["volume", "ls", "-q", "--filter", &label]).is_empty()).then_some(())
    });
    let writer =
        region.run("writer", region.spec("echo hello-from-writer > /data/greeting && exec sleep 3600", &[], &[("shared", "/data", false)]));
    let reader = region.run("reader", region.spec("exec sleep 3600", &[], &[("shared", "/data", true)]));
    let greeting = wait_for("the reader sees the writer's file", || {
        docker(&["exec", &reader, "cat", "/data/greeting"]).0.then(|| docker_ok(&["exec", &reader, "cat", "/data/greeting"]))
    });
    assert_eq!(greeting, "hello-from-writer");
    let (ok, why) = docker(&["exec", &reader, "sh", "-c", "echo no > /data/other"]);
    assert!(!ok, "a read-only mount refuses writes: {why}");
    let writer_c = region.on(api.container("writer")).unwrap();
    let storage = region.on(api.host(&format!("storage-{:x}", std::process::id()))).unwrap();
    assert_eq!(writer_c.host_id, Some(storage.id), "a container mounting a pool volume runs in the pool");
    assert_eq!(writer_c.addresses[0].network, "default", "a container naming no network joins its project's default one");
    let refused = region.on(api.delete_volume("shared"));
    assert!(matches!(&refused, Err(ClientError::Api { status: 409, .. })), "a mounted volume is not deleted: {refused:?}");
    let _ = writer;

    // 5. Deleting everything leaves no Docker network or volume of ours.
    let accepted = region.on(api.delete_cluster("web", false)).expect("delete cluster");
    region.wait_action(&accepted.action.to_string());
    for name in ["outsider", "writer", "reader"] {
        region.on(api.delete_container(name, &DeleteQuery { force: Some(true), ..Default::default() })).expect("delete container");
        wait_for(&format!("{name} is gone"), || region.on(api.container(name)).is_err().then_some(()));
    }
    region.on(api.delete_volume("shared")).expect("delete volume");
    for network in ["backend", "other", "default"] {
        region.on(api.delete_network(network)).unwrap_or_else(|e| panic!("delete network {network}: {e}"));
    }
    for (id, kind) in [(backend.id.to_string(), "network"), (other.id.to_string(), "network"), (volume.id.to_string(), "volume")] {
        let filter = format!("label=flotilla.{kind}={id}");
        wait_for(&format!("Docker {kind} {id} is removed"), || {
            docker_ok(&[kind, "ls", "-q", "--filter", &filter]).is_empty().then_some(())
        });
    }
    let _ = &region.sandbox;
}
