//! Global networks over a central and three regions, each a real `flotilla server` process (SQLite;
//! the third region on PostgreSQL when `FLOTILLA_TEST_POSTGRES_URL` is set, required under CI):
//! a global network created through a region exists everywhere under one id (each region copies it
//! on first use); 1,000 concurrent port creates spread over the three regions get 1,000 distinct
//! addresses of its subnet, and a container there one more; a profile naming one copies it; a fixed address taken in one region (or inside another region's
//! block) is refused in another with a 409 naming it, and is free again once its port goes (or its
//! container disconnects); with
//! the central stopped a region still hands out the addresses of the blocks it holds, then answers
//! 503 naming the central.

mod support;

use flotilla_api::region::RegionJoinTokenCreate;
use flotilla_api::{
    ContainerCreate, DeleteQuery, JoinTokenCreate, NetworkConnect, NetworkCreate, PortCreate, ProfileCreate, SubnetCreate, TokenCreate,
};
use flotilla_client::{Client, ClientError};
use flotilla_core::profile::{ContainerProperties, NetworkRef, ProfileSpec};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use support::{ADMIN_PASSWORD, Running, Sandbox};

const GLOBAL_POOL: &str = "172.30.0.0/16";
/// 2,045 addresses in 32 blocks of /26: room for 1,000 ports and each region's partly used blocks.
const SUBNET: &str = "172.30.0.0/21";
const PORTS: usize = 1000;

struct Federation {
    central: Running,
    regions: Vec<Running>,
    rt: tokio::runtime::Runtime,
    /// The admin's token, made at the central and honoured by every region.
    token: String,
    /// Last: the processes stop before their files go.
    sandbox: Sandbox,
}

impl Federation {
    fn start() -> Federation {
        let sandbox = Sandbox::new();
        let data = sandbox.path("central-data");
        let central = sandbox.spawn(
            "central",
            &[
                "server",
                "--central",
                "--global-pool",
                GLOBAL_POOL,
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
                "--bootstrap-password",
                ADMIN_PASSWORD,
            ],
            &[],
            "listening on ",
        );
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let body = TokenCreate { user: "admin".into(), password: ADMIN_PASSWORD.into(), project: Some("admin".into()), expires_in: None };
        let token = rt.block_on(Client::new(&central.url).unwrap().create_token(&body)).expect("login at the central").token.unwrap();
        let admin = Client::new(&central.url).unwrap().with_token(token.clone());
        // The CI-required check lives in the testkit: under CI a missing PostgreSQL fails here.
        let postgres = rt.block_on(flotilla_testkit::database_url(flotilla_testkit::Backend::Postgres, sandbox.dir.path()));
        let mut regions = Vec::new();
        for i in 0..3 {
            let join = rt.block_on(admin.create_region_join_token(&RegionJoinTokenCreate::default())).expect("a region join token").token;
            let data = sandbox.path(&format!("r{i}-data"));
            let name = format!("r{i}");
            let listen = support::free_address();
            let mut args = vec![
                "server",
                "--region",
                &name,
                "--central-url",
                &central.url,
                "--region-join-token",
                &join,
                "--listen",
                &listen,
                "--data-dir",
                data.to_str().unwrap(),
            ];
            if let (2, Some(url)) = (i, postgres.as_deref()) {
                args.extend(["--database", url]);
            }
            regions.push(sandbox.spawn(&name, &args, &[], "listening on "));
        }
        let federation = Federation { central, regions, rt, token, sandbox };
        federation.wait_registered();
        federation
    }

    fn on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn region(&self, i: usize) -> Client {
        Client::new(&self.regions[i].url).unwrap().with_token(self.token.clone())
    }

    /// Waits until every region is registered: each honours the central's token.
    fn wait_registered(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        for region in &self.regions {
            loop {
                let status = self.on(http.get(format!("{}/v1/networks", region.url)).header("x-auth-token", &self.token).send());
                match status.map(|r| r.status().as_u16()) {
                    Ok(200) => break,
                    other => assert!(Instant::now() < deadline, "region {} registered within 30 s: {other:?}", region.url),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn global(name: &str, cidr: &str) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        shared: false,
        global: true,
        subnet: Some(SubnetCreate { cidr: cidr.into(), ..Default::default() }),
        metadata: Default::default(),
    }
}

fn spec_of(image: &str) -> ContainerProperties {
    ContainerProperties { image: image.into(), ..Default::default() }
}

fn port(network: &str, ip: Option<Ipv4Addr>) -> PortCreate {
    PortCreate { network: network.into(), name: None, ip_address: ip.map(|ip| ip.to_string()) }
}

fn refused(result: Result<flotilla_api::Port, ClientError>, status: u16) -> String {
    match result {
        Err(ClientError::Api { status: got, message, .. }) if got == status => message,
        other => panic!("expected a {status}, got {other:?}"),
    }
}

#[test]
fn one_address_space_over_three_regions() {
    let mut f = Federation::start();
    let regions: Vec<Client> = (0..3).map(|i| f.region(i)).collect();

    // Created through region 0 (forwarded to the central), refused outside the global pool.
    let outside = f.on(regions[0].create_network(&global("elsewhere", "10.9.0.0/24")));
    assert!(
        matches!(&outside, Err(ClientError::Api { status: 400, message, .. }) if message.contains("subnet.cidr") && message.contains(GLOBAL_POOL)),
        "{outside:?}"
    );
    let created = f.on(regions[0].create_network(&global("everywhere", SUBNET))).expect("a global network through a region");
    assert!(created.global);
    let central = Client::new(&f.central.url).unwrap().with_token(f.token.clone());
    assert_eq!(f.on(central.network("everywhere")).expect("the central has it").id, created.id);
    let overlapping = f.on(regions[1].create_network(&global("over", "172.30.4.0/24")));
    assert!(matches!(&overlapping, Err(ClientError::Api { status: 409, .. })), "global subnets never overlap: {overlapping:?}");

    // 1,000 port creates at once over the three regions, by name: regions 1 and 2 copy the network on first use.
    let started = Instant::now();
    let tasks: Vec<_> = (0..PORTS)
        .map(|i| {
            let client = regions[i % 3].clone();
            f.rt.spawn(async move { client.create_port(&port("everywhere", None)).await.map(|p| (i % 3, p.ip_address)) })
        })
        .collect();
    let mut addresses: Vec<(usize, Ipv4Addr)> = Vec::with_capacity(PORTS);
    for task in tasks {
        let (region, ip) = f.on(task).unwrap().expect("every port create succeeds");
        addresses.push((region, ip.parse().unwrap()));
    }
    eprintln!("{PORTS} global port creates over 3 regions in {:?}", started.elapsed());
    let distinct: BTreeSet<Ipv4Addr> = addresses.iter().map(|(_, ip)| *ip).collect();
    assert_eq!(distinct.len(), PORTS, "all {PORTS} addresses are distinct across the regions");
    let (low, high): (Ipv4Addr, Ipv4Addr) = ("172.30.0.2".parse().unwrap(), "172.30.7.254".parse().unwrap());
    assert!(distinct.iter().all(|ip| (low..=high).contains(ip)), "every address is of {SUBNET}, never its gateway");
    for client in &regions {
        let copy = f.on(client.network("everywhere")).expect("each region has its copy");
        assert!(copy.global && copy.id == created.id, "the same id everywhere");
    }

    // A container in region 2 (a simulated host) on the global network gets its address the same way.
    let join = f.on(regions[2].create_join_token(&JoinTokenCreate::default())).expect("a host join token").token;
    let state = f.sandbox.path("agent-state-h2");
    let _agent = support::sim_agent(&f.sandbox, &f.regions[2], &join, "h2", &["--state-dir", state.to_str().unwrap()], "joined");
    let spec = ContainerProperties { networks: vec![NetworkRef { network: "everywhere".into() }], ..spec_of("any/image:1") };
    let body = ContainerCreate { name: "web".into(), spec, run: true, metadata: Default::default() };
    let container = f.on(regions[2].create_container(&body)).expect("a container on the global network");
    let address: Ipv4Addr = container.addresses[0].ip_address.parse().unwrap();
    assert_eq!(container.addresses[0].network_id, created.id);
    assert!((low..=high).contains(&address) && !distinct.contains(&address), "a new address of {SUBNET}: {address}");

    // A profile naming a global network copies it at once (the engine's nodes do not call the central).
    let late = f.on(regions[0].create_network(&global("late", "172.30.8.0/24"))).unwrap();
    let spec = ProfileSpec {
        type_name: flotilla_core::profile::CONTAINER_DOCKER.into(),
        version: "1.0".into(),
        properties: ContainerProperties { networks: vec![NetworkRef { network: "late".into() }], ..spec_of("any/image:1") },
    };
    f.on(regions[1].create_profile(&ProfileCreate { name: "on-late".into(), spec, metadata: Default::default() })).unwrap();
    assert_eq!(f.on(regions[1].network("late")).expect("copied with the profile").id, late.id);

    // A container's fixed address on a global network is held across regions until it disconnects.
    let at = || NetworkConnect { network: "late".into(), ip_address: Some("172.30.8.50".into()) };
    f.on(regions[2].connect_network("web", &at())).expect("a fixed address at region 2");
    let taken = f.on(regions[0].create_port(&port("late", Some("172.30.8.50".parse().unwrap()))));
    assert!(refused(taken, 409).contains("172.30.8.50"));
    f.on(regions[2].disconnect_network("web", "late")).expect("disconnected");
    f.on(regions[0].create_port(&port("late", Some("172.30.8.50".parse().unwrap())))).expect("freed at the central with the disconnect");
    // ... or until the container goes: its region's next endpoint report frees it at the central.
    let at = || NetworkConnect { network: "late".into(), ip_address: Some("172.30.8.60".into()) };
    f.on(regions[2].connect_network("web", &at())).expect("another fixed address at region 2");
    assert!(refused(f.on(regions[0].create_port(&port("late", Some("172.30.8.60".parse().unwrap())))), 409).contains("172.30.8.60"));
    f.on(regions[2].delete_container("web", &DeleteQuery { stop: None, force: Some(true) }))
        .expect("the container goes, fixed address and all");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match f.on(regions[0].create_port(&port("late", Some("172.30.8.60".parse().unwrap())))) {
            Ok(_) => break,
            Err(ClientError::Api { status: 409, .. }) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
            Err(e) => panic!("the deleted container's fixed address is freed at the central within a minute: {e:?}"),
        }
    }

    // A fixed address outside every block: taken in region 0, refused in region 1, free again once its port goes.
    let fixed: Ipv4Addr = "172.30.7.200".parse().unwrap();
    let held = f.on(regions[0].create_port(&port("everywhere", Some(fixed)))).expect("a fixed address at region 0");
    let message = refused(f.on(regions[1].create_port(&port("everywhere", Some(fixed)))), 409);
    assert!(message.contains("172.30.7.200"), "{message}");
    // An address of region 0's blocks is refused as a fixed address in region 2.
    let of_region_0 = addresses.iter().find(|(r, _)| *r == 0).unwrap().1;
    let message = refused(f.on(regions[2].create_port(&port("everywhere", Some(of_region_0)))), 409);
    assert!(message.contains(&of_region_0.to_string()), "{message}");
    f.on(regions[0].delete_port(&held.id.to_string())).expect("the fixed port goes");
    f.on(regions[1].create_port(&port("everywhere", Some(fixed)))).expect("freed at the central with its port");

    // The central stopped: region 0 hands out what its blocks of `spare` hold, then a 503 naming the central.
    f.on(regions[0].create_network(&global("spare", "172.30.16.0/24"))).unwrap();
    // The first port brings the first block (172.30.16.0/26 less the gateway: 62 addresses); with
    // less than a block left, the region may already have asked for the next one (62 + 64).
    let first = f.on(regions[0].create_port(&port("spare", None))).unwrap();
    assert!(f.central.terminate().is_some(), "the central stops");
    let mut served: BTreeSet<Ipv4Addr> = [first.ip_address.parse().unwrap()].into();
    let message = loop {
        match f.on(regions[0].create_port(&port("spare", None))) {
            Ok(p) => assert!(served.insert(p.ip_address.parse().unwrap()), "never twice: {}", p.ip_address),
            Err(e) => break refused(Err(e), 503),
        }
        assert!(served.len() <= 126, "two blocks at the most were held");
    };
    assert!(served.len() == 62 || served.len() == 126, "every held address served with the central down: {}", served.len());
    let spare: (Ipv4Addr, Ipv4Addr) = ("172.30.16.2".parse().unwrap(), "172.30.16.127".parse().unwrap());
    assert!(served.iter().all(|ip| (spare.0..=spare.1).contains(ip)), "from the held blocks of spare: {served:?}");
    assert!(message.contains(&f.central.url) && message.contains("cannot be reached"), "{message}");
    // A global network never used in region 1 cannot be copied there now: a 503 naming the central too.
    let message = refused(f.on(regions[1].create_port(&port("spare", None))), 503);
    assert!(message.contains(&f.central.url), "{message}");
}
