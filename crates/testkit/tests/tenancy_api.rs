//! No tenant reaches another or the host, through the real HTTP API with simulated hosts: volume
//! options that reach the host's files, adopting a privileged container or building on an admin's
//! privileged profile, special and pooled
//! address space, overlaps and list markers that would confirm another project's objects,
//! another project's private image (also once cached on a host), the images an agent may fetch,
//! and the quotas of networks and ports (exact under concurrent creates on PostgreSQL).

use flotilla_api::{
    ClusterCreate, ClusterFilter, ContainerCreate, ContainerFilter, ImageUploadQuery, ListQuery, NetworkCreate, NodeAdopt, NodeCreate,
    NodeFilter, PortCreate, ProfileCreate, QuotaLimits, SubnetCreate, VolumeCreate,
};
use flotilla_client::ClientError;
use flotilla_core::Role;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec, VolumeMount};
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container};

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("the call must fail");
    (error.status().expect("an HTTP answer"), error.to_string())
}

fn spec(image: &str) -> ContainerProperties {
    ContainerProperties { image: image.into(), cpu: Some(0.1), memory: Some(16), ..Default::default() }
}

fn create(name: &str, spec: ContainerProperties) -> ContainerCreate {
    ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }
}

fn volume(name: &str, driver: Option<&str>, options: &[(&str, &str)]) -> VolumeCreate {
    VolumeCreate {
        name: name.into(),
        driver: driver.map(str::to_owned),
        driver_opts: options.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        size_mib: None,
        pool: None,
        metadata: Default::default(),
    }
}

fn network(name: &str, cidr: &str) -> NetworkCreate {
    let subnet = SubnetCreate { name: None, cidr: cidr.into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    NetworkCreate { name: name.into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_options_that_reach_the_host_are_for_admins() {
    let region = TestRegion::sqlite().await;
    let member = region.add_user("mia", "team", Role::Member).await;
    let boss = region.add_user("boss", "team", Role::Admin).await;
    let host_files = [
        ("etc", None, vec![("type", "none"), ("o", "bind"), ("device", "/etc")], "driver_opts.device=\"/etc\""),
        ("dev", None, vec![("type", "ext4"), ("device", "/dev/sda1")], "driver_opts.device=\"/dev/sda1\""),
        ("nfs", None, vec![("type", "nfs"), ("o", "addr=10.0.0.1"), ("device", ":/export")], "driver_opts.device"),
        ("bound", None, vec![("type", "tmpfs"), ("device", "tmpfs"), ("o", "bind")], "driver_opts.o=\"bind\""),
        ("plugin", Some("local-persist"), vec![("mountpoint", "/etc")], "driver=\"local-persist\""),
    ];
    for (name, driver, options, named) in &host_files {
        let (code, message) = status(member.create_volume(&volume(name, *driver, options)).await);
        assert_eq!(code, 403, "{message}");
        assert!(message.contains(named) && message.contains("admins only"), "{message}");
    }
    assert!(member.list_volumes(&ListQuery::default()).await.unwrap().volumes.is_empty(), "a refusal writes nothing");
    member.create_volume(&volume("plain", None, &[])).await.expect("a plain local volume is open to members");
    member
        .create_volume(&volume("mem", None, &[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=8m,mode=1777")]))
        .await
        .expect("a tmpfs");
    boss.create_volume(&volume("etc", None, &[("type", "none"), ("o", "bind"), ("device", "/etc")])).await.expect("admins may");

    // A member may not mount the admin's host volume either (a bind by another route).
    let mut mounting = spec("busybox");
    mounting.volumes = vec![VolumeMount { volume: "etc".into(), target: "/host".into(), read_only: true }];
    let (code, message) = status(member.create_container(&create("peek", mounting.clone())).await);
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("spec.volumes[0].volume") && message.contains("/etc"), "{message}");
    mounting.volumes[0].volume = "plain".into();
    let agent = region.sim_agent(SimHost::new("h")).await;
    member.create_container(&create("fine", mounting)).await.expect("its own plain volume");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopting_needs_the_rights_of_the_containers_settings() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("h")).await;
    let member = region.add_user("mo", "team", Role::Member).await;
    let boss = region.add_user("bo", "team", Role::Admin).await;
    let other = region.add_user("oz", "other", Role::Member).await;
    for (name, change) in [
        ("priv", Box::new(|s: &mut ContainerProperties| s.privileged = true) as Box<dyn Fn(&mut ContainerProperties)>),
        ("binds", Box::new(|s: &mut ContainerProperties| s.binds = vec!["/etc:/host".into()])),
        ("hostnet", Box::new(|s: &mut ContainerProperties| s.host_network = true)),
    ] {
        let mut s = spec("busybox");
        change(&mut s);
        boss.create_container(&create(name, s)).await.expect("admins run it");
        let adopt = NodeAdopt { container: name.into(), name: None, role: String::new(), metadata: Default::default() };
        let (code, message) = status(member.adopt_node(&adopt).await);
        assert_eq!(code, 403, "{message}");
        assert!(message.contains("container: its spec."), "{message}");
        let theirs = status(other.adopt_node(&adopt).await);
        let unknown = NodeAdopt { container: "nothing".into(), ..adopt.clone() };
        let none = status(other.adopt_node(&unknown).await);
        assert_eq!(theirs.0, none.0, "another project's container answers as an unknown one: {}", theirs.1);
        assert_eq!(theirs.1.replace(name, "X").split(", request").next(), none.1.replace("nothing", "X").split(", request").next());
    }
    assert!(member.list_profiles(None, &ListQuery::default()).await.unwrap().profiles.is_empty(), "no profile left behind");
    let adopt = NodeAdopt { container: "priv".into(), name: None, role: String::new(), metadata: Default::default() };
    boss.adopt_node(&adopt).await.expect("an admin adopts it");
    member.create_container(&create("plain", spec("busybox"))).await.unwrap();
    let adopt = NodeAdopt { container: "plain".into(), name: None, role: String::new(), metadata: Default::default() };
    member.adopt_node(&adopt).await.expect("a plain container is the member's to adopt");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_privileged_profile_runs_only_for_admins() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("h")).await;
    let member = region.add_user("mo", "team", Role::Member).await;
    let boss = region.add_user("bo", "team", Role::Admin).await;
    let properties = ContainerProperties { privileged: true, ..spec("busybox") };
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    boss.create_profile(&ProfileCreate { name: "privp".into(), spec, metadata: Default::default() }).await.expect("admins make it");
    let cluster = ClusterCreate {
        name: "c".into(),
        profile: "privp".into(),
        desired_capacity: 1,
        min_size: 0,
        max_size: 3,
        timeout: Some(30),
        config: Default::default(),
        metadata: Default::default(),
    };
    let (code, message) = status(member.create_cluster(&cluster).await);
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("profile privp: spec.properties.privileged"), "{message}");
    let node = NodeCreate { name: "n".into(), profile: "privp".into(), cluster: None, role: String::new(), metadata: Default::default() };
    let (code, message) = status(member.create_node(&node).await);
    assert_eq!(code, 403, "{message}");
    assert!(member.list_clusters(&ListQuery::default(), &ClusterFilter::default()).await.unwrap().clusters.is_empty(), "nothing made");
    assert!(member.list_nodes(&ListQuery::default(), &NodeFilter::default()).await.unwrap().nodes.is_empty(), "nothing made");
    boss.create_cluster(&cluster).await.expect("an admin builds it");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_space_is_guarded_and_overlaps_name_nothing_of_others() {
    let region = TestRegion::sqlite().await;
    let alice = region.add_user("al", "alpha", Role::Member).await;
    let bob = region.add_user("bb", "beta", Role::Member).await;
    for (cidr, range) in [
        ("127.0.0.0/8", "loopback"),
        ("0.0.0.0/8", "this network"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/8", "multicast"),
        ("240.0.0.0/8", "broadcast"),
    ] {
        let (code, message) = status(alice.create_network(&network("n", cidr)).await);
        assert_eq!(code, 400, "{message}");
        assert!(message.contains("subnet.cidr") && message.contains(cidr) && message.contains(range), "{message}");
    }
    // The region's pool (10.128.0.0/9 by default) keeps projects' default networks: members stay out.
    let (code, message) = status(alice.create_network(&network("wide", "10.0.0.0/8")).await);
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("subnet.cidr=10.0.0.0/8") && message.contains("10.128.0.0/9"), "{message}");
    assert!(alice.list_networks(&ListQuery::default()).await.unwrap().networks.is_empty(), "a refusal writes nothing");
    region.admin.create_network(&network("admins-may", "10.200.0.0/24")).await.expect("admins may take pool space");

    let secret = alice.create_network(&network("secret", "192.168.7.0/24")).await.unwrap();
    let subnet_id = secret.subnets[0].id.to_string();
    let (code, message) = status(bob.create_network(&network("mine", "192.168.7.128/25")).await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("a subnet you cannot see"), "{message}");
    for leak in ["192.168.7.0/24", subnet_id.as_str(), "secret", &secret.id.to_string()] {
        assert!(!message.contains(leak), "the refusal names {leak}: {message}");
    }
    let (code, message) = status(alice.create_network(&network("again", "192.168.7.0/25")).await);
    assert_eq!(code, 409);
    assert!(message.contains("192.168.7.0/24"), "the project's own subnet is named: {message}");

    // A list marker that is another project's id answers as an unknown one.
    let unknown = uuid::Uuid::now_v7().to_string();
    let query = |marker: &str| ListQuery { marker: Some(marker.to_owned()), ..Default::default() };
    let (theirs, none) =
        (status(bob.list_networks(&query(&secret.id.to_string())).await), status(bob.list_networks(&query(&unknown)).await));
    assert_eq!((theirs.0, none.0), (400, 400));
    let said = |(_, message): &(u16, String), id: &str| message.replace(id, "ID").split(", request").next().map(str::to_owned);
    assert_eq!(said(&theirs, &secret.id.to_string()), said(&none, &unknown));
    assert!(alice.list_networks(&query(&secret.id.to_string())).await.is_ok(), "the owner pages on");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_image_runs_only_in_its_project_and_by_its_id() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("h")).await;
    let alice = region.add_user("al", "alpha", Role::Member).await;
    let bob = region.add_user("bb", "beta", Role::Member).await;
    let dir = tempfile::tempdir().unwrap();
    let (path, docker_id) = flotilla_testkit::image_archive(dir.path(), "alpha/secret:1", 0);
    let image = alice.upload_image(&path, &ImageUploadQuery::default(), |_| {}).await.expect("upload");
    let ran = alice.create_container(&create("mine", spec("alpha/secret:1"))).await.expect("its own image");
    wait_for_container(&alice, "mine", "RUNNING").await;
    assert_eq!(ran.status, "CREATING");

    // Now the host holds it; the other project names it every way it could.
    let by_digest = format!("alpha/secret@sha256:{}", "0123456789abcdef".repeat(4));
    for reference in ["alpha/secret:1", by_digest.as_str(), docker_id.as_str()] {
        let (code, message) = status(bob.create_container(&create("theirs", spec(reference))).await);
        assert_eq!(code, 404, "{reference}: {message}");
        assert!(message.contains("not found"), "{message}");
    }
    assert!(bob.list_containers(&ListQuery::default(), &ContainerFilter::default()).await.unwrap().containers.is_empty());
    bob.create_container(&create("pulled", spec("registry.example/app:2"))).await.expect("a reference Flotilla does not hold is a pull");

    // The agent is handed the image by its Docker id, and may fetch only images of its host.
    let token = region.join_token().await;
    let snoop = flotilla_tls::Identity::self_signed(&["127.0.0.1".into()]).unwrap();
    let http = reqwest::Client::new();
    let joined: serde_json::Value = http
        .post(format!("{}/v1/agent/join", region.url))
        .json(&serde_json::json!({"join_token": token, "name": "snoop", "advertise": "https://127.0.0.1:9", "runtime": "sim",
            "capacity": {"cpus": 1.0, "memory_mib": 1024, "disk_mib": 1024}, "certificate": snoop.cert_pem}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = joined["credential"].as_str().expect("a credential").to_owned();
    let fetch = http.get(format!("{}/v1/agent/images/{}", region.url, image.id)).bearer_auth(&credential).send().await.unwrap();
    assert_eq!(fetch.status(), 404, "an image no container of the host runs is not the agent's to fetch");
    let store = region.store().await;
    let host = store.host("h").await.unwrap();
    let assigned = store.assignments(host.id).await.unwrap();
    let mine = assigned.containers.iter().find(|a| a.container.name.as_str() == "mine").expect("assigned");
    assert_eq!(mine.image_digest.as_deref(), Some(docker_id.as_str()));
    agent.shutdown().await;
    region.stop().await;
}

async fn network_and_port_quotas_hold_under_concurrent_creates(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let member = region.add_user("qq", "quota", Role::Member).await;
    let quota = member.quota("quota").await.unwrap();
    assert_eq!((quota.limits.networks, quota.limits.ports), (100, 10_000), "generous defaults");
    let limits = QuotaLimits { containers: -1, cpu_millis: -1, memory_mib: -1, image_bytes: -1, networks: 3, ports: 5 };
    region.admin.set_quota("quota", &limits).await.unwrap();
    let networks = (0..8).map(|i| {
        let member = member.clone();
        async move { member.create_network(&network(&format!("n{i}"), &format!("192.168.{i}.0/24"))).await }
    });
    let made = futures::future::join_all(networks).await;
    assert_eq!(made.iter().filter(|r| r.is_ok()).count(), 3, "exactly the quota of networks");
    for refused in made.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(refused.status(), Some(403));
        assert!(refused.to_string().contains("quota exceeded for networks: limit 3"), "{refused}");
    }
    let on = made.iter().find_map(|r| r.as_ref().ok()).unwrap().name.clone();
    let ports = (0..12).map(|i| {
        let member = member.clone();
        let on = on.clone();
        async move { member.create_port(&PortCreate { network: on, name: Some(format!("p{i}")), ip_address: None }).await }
    });
    let made = futures::future::join_all(ports).await;
    assert_eq!(made.iter().filter(|r| r.is_ok()).count(), 5, "exactly the quota of ports");
    let used = member.quota("quota").await.unwrap().usage;
    assert_eq!((used.networks, used.ports), (3, 5));
    // A container's address is a port too: placements count them.
    let agent = region.sim_agent(SimHost::new("h")).await;
    let mut on_network = spec("busybox");
    on_network.networks = vec![flotilla_core::profile::NetworkRef { network: on.clone() }];
    let (code, message) = status(member.create_container(&create("addressed", on_network)).await);
    assert_eq!(code, 403, "{message}");
    assert!(message.contains("quota exceeded for ports: limit 5"), "{message}");
    agent.shutdown().await;
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_and_port_quotas_are_exact_on_sqlite() {
    network_and_port_quotas_hold_under_concurrent_creates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_and_port_quotas_are_exact_on_postgres() {
    network_and_port_quotas_hold_under_concurrent_creates(Backend::Postgres).await;
}
