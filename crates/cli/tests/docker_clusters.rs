//! Clusters end to end on the real Docker Engine: a real `flotilla server`, two real `flotilla agent`
//! processes sharing the engine, the workload image built offline and uploaded, and the cluster API
//! through `flotilla_client`. One cluster lives through create, scale out and in with a deletion
//! policy, a health policy recovering a killed container and the members of a stopped agent (and
//! the fence when it returns), rolling updates (one that succeeds, one that fails and rolls back), a
//! webhook, CPU autoscaling on real CPU use, and delete; every step is checked against Docker.

mod support;

use flotilla_api::{
    Action, ActionFilter, ClusterActionRequest, ClusterCreate, ClusterUpdate, ContainerFilter, ListQuery, Node, NodeFilter, PolicyCreate,
    PolicyParams, ProfileCreate, ReceiverCreate, ResizeParams, ScaleParams,
};
use flotilla_client::{Client, Updated, Waited};
use flotilla_core::policy::PolicySpec;
use flotilla_core::profile::ProfileSpec;
use flotilla_core::resize::AdjustmentType;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use support::{ADMIN_PASSWORD, Running, Sandbox};

/// Host grace period of the test region, in seconds.
/// Default networks of this test's projects come from here: Docker tests share one engine, each keeps to its own addresses.
const NETWORK_POOL: &str = "10.202.0.0/16";
const GRACE_SECS: u64 = 3;
/// How long any one action or convergence may take.
const CONVERGE: Duration = Duration::from_secs(90);

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

/// Docker containers carrying `flotilla.container=ID`, running or not.
fn docker_all(container: impl Display) -> Vec<String> {
    lines(&docker(&["ps", "-aq", "--no-trunc", "--filter", &format!("label=flotilla.container={container}")]))
}

/// Running Docker containers carrying `flotilla.container=ID`.
fn docker_running(container: impl Display) -> Vec<String> {
    lines(&docker(&["ps", "-q", "--no-trunc", "--filter", &format!("label=flotilla.container={container}"), "--filter", "status=running"]))
}

/// Docker containers (running or not) an agent made for host `host`.
fn docker_on_host(host: impl Display) -> Vec<String> {
    lines(&docker(&["ps", "-aq", "--no-trunc", "--filter", &format!("label=flotilla.host={host}")]))
}

fn docker_exists(runtime_id: &str) -> bool {
    Command::new("docker").args(["inspect", "--type", "container", runtime_id]).output().is_ok_and(|o| o.status.success())
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

/// `POST http://ip:8080{path}` without a body; answers the status line and the body.
fn post_workload(ip: &str, path: &str) -> String {
    let address = SocketAddr::new(ip.parse().expect("an IP address"), 8080);
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "POST {path} HTTP/1.1\r\nHost: {ip}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap_or_else(|e| panic!("read from {address}: {e}"));
    answer
}

/// A `container.docker` profile of the workload: half a core, 128 MiB, a health check on
/// `/healthz`, no restart policy (so that Docker never restarts a killed container by itself), and
/// `RELEASE` in its environment when given.
fn profile_spec(image: &str, release: Option<&str>) -> ProfileSpec {
    let mut yaml = format!(
        "type: container.docker\nversion: '1.0'\nproperties:\n  image: {image}\n  command: [/flotilla, workload, serve, --port, '8080']\n  \
         cpu: 0.5\n  memory: 128\n  restart_policy: 'no'\n  \
         healthcheck: {{http: {{port: 8080, path: /healthz}}, interval: 2, timeout: 1, retries: 3}}\n"
    );
    if let Some(release) = release {
        yaml.push_str(&format!("  environment: {{RELEASE: {release}}}\n"));
    }
    serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("profile YAML: {e}\n{yaml}"))
}

fn policy(name: &str, yaml: &str) -> PolicyCreate {
    let spec: PolicySpec = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("policy YAML: {e}\n{yaml}"));
    PolicyCreate { name: name.into(), spec, metadata: Default::default() }
}

struct Region {
    sandbox: Sandbox,
    /// Agents by short name (`a`, `b`); `None` while stopped.
    agents: BTreeMap<&'static str, Option<Running>>,
    server: Running,
    join_token: String,
    suffix: String,
    project: String,
    rt: tokio::runtime::Runtime,
    api: Client,
}

impl Drop for Region {
    /// Whatever happened, the Docker containers and images of this region go (a failed run too).
    /// The agents stop first, so that none of them recreates what is removed.
    fn drop(&mut self) {
        self.agents.clear();
        let label = format!("label=flotilla.project={}", self.project);
        let listed = Command::new("docker").args(["ps", "-aq", "--filter", &label]).output();
        for id in listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().lines() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        let _ = Command::new("docker").args(["image", "rm", "-f", &self.tag()]).output();
    }
}

impl Region {
    fn start() -> Self {
        let sandbox = Sandbox::new();
        let grace = GRACE_SECS.to_string();
        let server =
            support::start_named_server(&sandbox, "server", None, &["--host-grace-period", &grace, "--network-pool", NETWORK_POOL]);
        support::log_in_as_admin(&sandbox, &server);
        let join_token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().expect("a join token").to_owned();
        let project = sandbox.run(&["project", "show", "admin", "-o", "json"], &[]).json()["id"].as_str().expect("an id").to_owned();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let suffix = format!("{:x}{:x}", std::process::id(), nanos);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let api = rt.block_on(flotilla_testkit::login(&server.url, "admin", ADMIN_PASSWORD, Some("admin"))).expect("login");
        Region { sandbox, agents: BTreeMap::new(), server, join_token, suffix, project, rt, api }
    }

    fn tag(&self) -> String {
        format!("flotilla-e2e/workload:{}", self.suffix)
    }

    fn host_name(&self, short: &str) -> String {
        format!("{short}-{}", self.suffix)
    }

    /// Starts (or restarts, under the same name) agent `short`, reporting CPU use every 2 s.
    fn start_agent(&mut self, short: &'static str) {
        let name = self.host_name(short);
        let args = [
            "agent",
            "--server",
            &self.server.url,
            "--join-token",
            &self.join_token,
            "--name",
            &name,
            "--listen",
            "127.0.0.1:0",
            "--cpus",
            "2",
            "--report-interval",
            "2",
        ];
        let running = self.sandbox.spawn(&format!("agent-{name}"), &args, &[], "joined");
        self.agents.insert(short, Some(running));
    }

    fn stop_agent(&mut self, short: &'static str) {
        let mut agent = self.agents.get_mut(short).and_then(Option::take).expect("the agent runs");
        assert!(agent.terminate().is_some_and(|s| s.success()), "agent {short} stops gracefully: {}", agent.stderr());
    }

    fn on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    fn host_id(&self, short: &str) -> String {
        self.on(self.api.host(&self.host_name(short))).expect("host").id.to_string()
    }

    /// Waits for action `id` to end; answers it.
    fn wait_action(&self, id: &str) -> Action {
        match self.on(self.api.wait_action(id, Duration::from_millis(250), CONVERGE, |_| {})).expect("action") {
            Waited::Ended(action) => action,
            Waited::TimedOut(a) => panic!("action {} ({}) still {} after {CONVERGE:?}: {}", a.name, a.action, a.status, a.status_reason),
        }
    }

    /// Waits for action `id` and asserts it SUCCEEDED.
    fn succeeded(&self, id: &str) -> Action {
        let action = self.wait_action(id);
        assert_eq!(action.status, "SUCCEEDED", "{} ({}): {}", action.name, action.action, action.status_reason);
        action
    }

    /// Runs a cluster action on `web` to its end, asserting it SUCCEEDED.
    fn act(&self, request: ClusterActionRequest) -> Action {
        let name = request.name();
        let accepted = self.on(self.api.cluster_action("web", &request)).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.succeeded(&accepted.action.to_string())
    }

    fn attach(&self, policy: &str) {
        self.act(ClusterActionRequest::PolicyAttach(PolicyParams { policy: policy.into(), enabled: None }));
    }

    /// The cluster's members, by index.
    fn nodes(&self) -> Vec<Node> {
        let filter = NodeFilter { cluster: Some("web".into()), status: None };
        let mut nodes = self.on(self.api.all_nodes(&filter)).expect("nodes");
        nodes.sort_by_key(|n| n.index);
        nodes
    }

    /// Polls the members for at most `limit` until `check` holds; answers them, or `None`.
    fn poll_nodes(&self, limit: Duration, check: impl Fn(&[Node]) -> bool) -> Option<Vec<Node>> {
        let deadline = Instant::now() + limit;
        loop {
            let nodes = self.nodes();
            if check(&nodes) {
                return Some(nodes);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Polls the members until `check` holds; answers them.
    fn wait_nodes(&self, what: &str, check: impl Fn(&[Node]) -> bool) -> Vec<Node> {
        let deadline = Instant::now() + CONVERGE;
        loop {
            let nodes = self.nodes();
            if check(&nodes) {
                return nodes;
            }
            let seen: Vec<String> =
                nodes.iter().map(|n| format!("{} {} on {:?}: {}", n.name, n.status, n.host_name, n.status_reason)).collect();
            assert!(Instant::now() < deadline, "timed out waiting until {what}; members {seen:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Actions of the cluster and its nodes (`kind`: e.g. `NODE_RECOVER`), oldest first.
    fn actions(&self, kind: &str) -> Vec<Action> {
        let query = ListQuery { limit: Some(1000), ..ListQuery::default() };
        let filter = ActionFilter { action: Some(kind.into()), cluster: Some("web".into()), ..ActionFilter::default() };
        self.on(self.api.list_actions(&query, &filter)).expect("actions").actions
    }

    /// Asserts every member is ACTIVE with exactly one Docker container, running; answers its runtime id by node.
    fn assert_members_run(&self, nodes: &[Node]) -> BTreeMap<String, String> {
        nodes
            .iter()
            .map(|n| {
                assert_eq!(n.status, "ACTIVE", "{}: {}", n.name, n.status_reason);
                let container = n.physical_id.unwrap_or_else(|| panic!("{} has a container", n.name));
                let host = n.host_id.unwrap_or_else(|| panic!("{} has a host", n.name));
                // A DOWN host's copy may still exist until its agent returns (the fence): only the node's host counts.
                let running: Vec<String> = docker_running(container).into_iter().filter(|id| docker_on_host(host).contains(id)).collect();
                assert_eq!(running.len(), 1, "{}'s container {container} runs in Docker on its host: {running:?}", n.name);
                let all: Vec<String> = docker_all(container).into_iter().filter(|id| docker_on_host(host).contains(id)).collect();
                assert_eq!(all, running, "{}'s container has no other Docker container on its host", n.name);
                (n.id.to_string(), running[0].clone())
            })
            .collect()
    }

    /// The address of a member's Docker container on its bridge network.
    fn ip_of(&self, node: &Node) -> String {
        let runtime_id = docker_running(node.physical_id.expect("a container")).pop().expect("a running Docker container");
        let ips = docker(&["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", &runtime_id]);
        ips.split_whitespace().next().unwrap_or_else(|| panic!("{} has an IP address", node.name)).to_owned()
    }

    /// Creates a profile; answers its id.
    fn create_profile(&self, name: &str, spec: ProfileSpec) -> String {
        self.on(self.api.create_profile(&ProfileCreate { name: name.into(), spec, metadata: Default::default() }))
            .unwrap_or_else(|e| panic!("profile {name}: {e}"))
            .id
            .to_string()
    }

    fn create_policy(&self, name: &str, yaml: &str) {
        self.on(self.api.create_policy(&policy(name, yaml))).unwrap_or_else(|e| panic!("policy {name}: {e}"));
    }

    /// `PATCH /v1/clusters/web {profile}`: answers the CLUSTER_UPDATE action as it ended.
    fn roll_out(&self, profile: &str) -> Action {
        let body = ClusterUpdate { profile: Some(profile.into()), ..ClusterUpdate::default() };
        match self.on(self.api.update_cluster("web", &body)).expect("update") {
            Updated::Started(accepted) => self.wait_action(&accepted.action.to_string()),
            Updated::Done(cluster) => panic!("a profile change is an action, got {cluster:?}"),
        }
    }
}

/// The NODE_UPDATE actions that moved a node to `profile`.
fn updates_to<'a>(actions: &'a [Action], profile: &str) -> Vec<&'a Action> {
    actions.iter().filter(|a| a.inputs.to_string().contains(profile)).collect()
}

#[test]
fn a_cluster_on_two_docker_agents_scales_heals_rolls_out_autoscales_and_goes() {
    let started = Instant::now();
    let mut region = Region::start();
    region.start_agent("a");
    region.start_agent("b");
    let (host_a, host_b) = (region.host_name("a"), region.host_name("b"));

    // The workload image, built offline from this very binary, uploaded to the region.
    let tag = region.tag();
    let archive = region.sandbox.path("workload.tar");
    region.sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
    let image = region.sandbox.run(&["image", "upload", archive.to_str().unwrap(), "-o", "json"], &[]).json();
    assert_eq!(image["name"], tag.as_str());

    // 1. A cluster of 3 from the uploaded image: CLUSTER_CREATE succeeds, 3 ACTIVE members over both
    //    hosts, each a running Docker container.
    let v1 = region.create_profile("web-v1", profile_spec(&tag, None));
    let body = ClusterCreate {
        name: "web".into(),
        profile: "web-v1".into(),
        desired_capacity: 3,
        min_size: 1,
        max_size: 8,
        timeout: Some(120),
        config: Default::default(),
        metadata: Default::default(),
    };
    let created = region.on(region.api.create_cluster(&body)).expect("create");
    let action = created.action.expect("the 202 names its action (Location)");
    assert_eq!(region.succeeded(&action).action, "CLUSTER_CREATE");
    let nodes = region.nodes();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert!(nodes.iter().all(|n| n.profile_id.to_string() == v1));
    region.assert_members_run(&nodes);
    let hosts: BTreeSet<_> = nodes.iter().filter_map(|n| n.host_name.clone()).collect();
    assert_eq!(hosts, BTreeSet::from([host_a.clone(), host_b.clone()]), "spread over both hosts");
    let cluster = region.on(region.api.cluster("web")).expect("cluster");
    assert_eq!((cluster.status.as_str(), cluster.desired_capacity), ("ACTIVE", 3), "{}", cluster.status_reason);
    eprintln!("[{:>5.1?}] 1. created 3 members", started.elapsed());

    // 2. Scale out to 5; with a deletion policy OLDEST_FIRST, resize to 2: the two youngest stay,
    //    the others' Docker containers are gone.
    region.act(ClusterActionRequest::ScaleOut(ScaleParams { count: Some(2) }));
    let five = region.nodes();
    assert_eq!(five.iter().map(|n| n.index).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    region.assert_members_run(&five);
    region.create_policy("oldest-first", "type: deletion\nversion: '1.0'\nproperties:\n  criteria: OLDEST_FIRST\n");
    region.attach("oldest-first");
    let exact = ResizeParams {
        adjustment_type: Some(AdjustmentType::ExactCapacity.to_string()),
        number: Some(2.0),
        strict: true,
        ..Default::default()
    };
    region.act(ClusterActionRequest::Resize(exact));
    let two = region.nodes();
    assert_eq!(two.iter().map(|n| n.index).collect::<Vec<_>>(), [4, 5], "the two youngest stay");
    region.assert_members_run(&two);
    for gone in five.iter().filter(|n| n.index <= 3) {
        let container = gone.physical_id.unwrap();
        assert!(docker_all(container).is_empty(), "{}'s Docker container is removed", gone.name);
    }
    assert_eq!(region.on(region.api.cluster("web")).expect("cluster").desired_capacity, 2);
    eprintln!("[{:>5.1?}] 2. scaled out to 5 and in to 2", started.elapsed());

    // 3. A health policy: a member's Docker container killed behind Flotilla's back is recreated
    //    (NODE_RECOVER caused by the health policy) and runs again in Docker.
    region.create_policy(
        "health",
        "type: health\nversion: '1.0'\nproperties:\n  detection:\n    type: container_status\n    interval: 1\n  recovery:\n    action: RECREATE\n",
    );
    region.attach("health");
    let victim = two[0].clone();
    let before = region.assert_members_run(&two);
    let killed = before[&victim.id.to_string()].clone();
    docker(&["kill", &killed]);
    let recovery = wait_for("the health policy recovers the killed member", || {
        region.actions("NODE_RECOVER").into_iter().find(|a| a.target == victim.id && a.status == "SUCCEEDED")
    });
    assert_eq!(recovery.cause, "Health Policy");
    let healed = region.wait_nodes("the recovered member is ACTIVE", |nodes| nodes.iter().all(|n| n.status == "ACTIVE"));
    wait_for("the killed Docker container is removed", || (!docker_exists(&killed)).then_some(()));
    let after = region.assert_members_run(&healed);
    assert_ne!(after[&victim.id.to_string()], killed, "a new Docker container");
    // RECREATE: on the other host, at the first try.
    let moved = healed.iter().find(|n| n.id == victim.id).unwrap();
    assert_ne!(moved.host_name, victim.host_name, "RECREATE places the killed member on the other host");
    let recoveries = region.actions("NODE_RECOVER");
    let reasons: Vec<&str> = recoveries.iter().map(|a| a.status_reason.as_str()).collect();
    assert_eq!(recoveries.len(), 1, "one recovery of the killed member succeeds at once: {reasons:?}");
    eprintln!("[{:>5.1?}] 3. a killed container was recreated", started.elapsed());

    // 4. The agent holding the members stops: its host goes DOWN and its members are recreated on
    //    the other host. When it returns under the same name, it removes the moved-away containers.
    let (doomed, survivor) = if healed.iter().filter(|n| n.host_name.as_deref() == Some(host_a.as_str())).count() * 2 >= healed.len() {
        ("a", "b")
    } else {
        ("b", "a")
    };
    let (doomed_name, doomed_id, survivor_name) = (region.host_name(doomed), region.host_id(doomed), region.host_name(survivor));
    let stranded: Vec<Node> = healed.iter().filter(|n| n.host_name.as_deref() == Some(doomed_name.as_str())).cloned().collect();
    assert!(!stranded.is_empty(), "agent {doomed} holds a member");
    let left_behind = docker_on_host(&doomed_id);
    assert_eq!(left_behind.len(), stranded.len(), "one Docker container per member on {doomed}");
    region.stop_agent(doomed);
    wait_for("the stopped agent's host is DOWN", || {
        (region.on(region.api.host(&doomed_name)).expect("host").state == "DOWN").then_some(())
    });
    let moved_in_time = region.poll_nodes(Duration::from_secs(20), |nodes| {
        nodes.len() == 2 && nodes.iter().all(|n| n.status == "ACTIVE" && n.host_name.as_deref() == Some(survivor_name.as_str()))
    });
    let recreated = moved_in_time.expect("the stopped host's members are recreated on the other host within 20 s");
    region.assert_members_run(&recreated);
    for node in &stranded {
        let recovered = region
            .actions("NODE_RECOVER")
            .into_iter()
            .any(|a| a.target == node.id && a.status == "SUCCEEDED" && a.cause == "Health Policy");
        assert!(recovered, "{} was recovered by the health policy", node.name);
    }
    assert!(left_behind.iter().all(|id| docker_exists(id)), "a stopped agent's containers stay until it returns");
    region.start_agent(doomed);
    wait_for("the returning agent removes its moved-away containers (the fence)", || {
        left_behind.iter().all(|id| !docker_exists(id)).then_some(())
    });
    assert_eq!(region.on(region.api.host(&doomed_name)).expect("host").state, "UP");
    let settled = region.wait_nodes("every member is ACTIVE", |nodes| nodes.len() == 2 && nodes.iter().all(|n| n.status == "ACTIVE"));
    region.assert_members_run(&settled);
    eprintln!("[{:>5.1?}] 4. a stopped agent's members moved, and the fence removed its containers", started.elapsed());

    // 5. A rolling update, one node at a time (batch policy), to a profile with a new environment
    //    variable; then one to an image nobody uploaded fails at its first batch and rolls back.
    region.create_policy(
        "one-by-one",
        "type: batch\nversion: '1.0'\nproperties:\n  max_batch_size: 1\n  min_in_service: 1\n  pause_time: 1\n",
    );
    region.attach("one-by-one");
    let v2 = region.create_profile("web-v2", profile_spec(&tag, Some("v2")));
    let update = region.roll_out("web-v2");
    assert_eq!((update.action.as_str(), update.status.as_str()), ("CLUSTER_UPDATE", "SUCCEEDED"), "{}", update.status_reason);
    let on_v2 = region.nodes();
    assert!(on_v2.iter().all(|n| n.profile_id.to_string() == v2), "every member on v2");
    for runtime_id in region.assert_members_run(&on_v2).values() {
        let env = docker(&["inspect", "-f", "{{json .Config.Env}}", runtime_id]);
        assert!(env.contains("\"RELEASE=v2\""), "the new environment reaches Docker: {env}");
    }
    let node_updates = region.actions("NODE_UPDATE");
    let mut batches = updates_to(&node_updates, &v2);
    assert_eq!(batches.len(), on_v2.len(), "one NODE_UPDATE per member");
    batches.sort_by_key(|a| a.started_at);
    for pair in batches.windows(2) {
        let (ended, next) = (pair[0].ended_at.expect("ended"), pair[1].started_at.expect("started"));
        assert!(next >= ended + chrono::Duration::milliseconds(900), "batches of one, a pause apart: {ended} then {next}");
    }
    assert_eq!(region.on(region.api.cluster("web")).expect("cluster").profile_id.to_string(), v2);

    let missing = format!("flotilla-e2e/missing:{}", region.suffix);
    let v3 = region.create_profile("web-v3", profile_spec(&missing, Some("v3")));
    let broken = region.roll_out("web-v3");
    assert_eq!(broken.status, "FAILED", "an image nobody has fails the update: {}", broken.status_reason);
    assert!(
        broken.status_reason.contains("batch 1 of") && broken.status_reason.contains("rolled back"),
        "the reason says the batch failed and it rolled back: {}",
        broken.status_reason
    );
    let back = region.wait_nodes("every member is back on v2 and ACTIVE", |nodes| nodes.iter().all(|n| n.status == "ACTIVE"));
    assert!(back.iter().all(|n| n.profile_id.to_string() == v2), "{back:?}");
    region.assert_members_run(&back);
    assert_eq!(region.on(region.api.cluster("web")).expect("cluster").profile_id.to_string(), v2, "the cluster is back on v2");
    let tried = region.actions("NODE_UPDATE");
    let tried = updates_to(&tried, &v3);
    assert_eq!(tried.len(), 1, "only the first batch was tried: {:?}", tried.iter().map(|a| (&a.name, &a.status)).collect::<Vec<_>>());
    assert_eq!(tried[0].status, "FAILED");
    eprintln!("[{:>5.1?}] 5. rolled out v2; v3 failed and rolled back: {}", started.elapsed(), broken.status_reason);

    // 6. A webhook scales out by one, triggered without a token.
    let receiver = ReceiverCreate {
        name: "grow".into(),
        type_name: "webhook".into(),
        cluster: "web".into(),
        action: "scale_out".into(),
        params: serde_json::Map::from_iter([("count".to_owned(), serde_json::json!(1))]),
        overridable: vec![],
        metadata: Default::default(),
    };
    let url = region.on(region.api.create_receiver(&receiver)).expect("receiver").url.expect("the trigger URL");
    let anonymous = Client::new(&region.server.url).unwrap();
    let fired = region.on(anonymous.trigger_receiver(&url, &serde_json::Map::new())).expect("trigger without a token");
    assert_eq!(region.succeeded(&fired.action.to_string()).action, "CLUSTER_SCALE_OUT");
    let three = region.nodes();
    assert_eq!(three.len(), 3);
    region.assert_members_run(&three);
    eprintln!("[{:>5.1?}] 6. the webhook added a member", started.elapsed());

    // 7. Autoscaling on real CPU use: every member burns CPU → the cluster grows by one; the burn
    //    ends → it shrinks back. Both resizes are caused by the policy. The target (percent of the
    //    members' 0.5-core request) is low, 20%: a member burning a core under its limit uses up to
    //    100% of its request, but on a busy 2-core CI machine only about 40%; an idle one under 2%.
    let base = three.len();
    region.create_policy(
        "cpu",
        &format!(
            "type: autoscaling\nversion: '1.0'\nproperties:\n  target_cpu_percent: 20\n  min_size: {base}\n  max_size: {}\n  \
             scale_out_cooldown: 2\n  scale_in_cooldown: 2\n  stabilization_window: 4\n",
            base + 1
        ),
    );
    region.attach("cpu");
    let autoscaled = |region: &Region| -> Vec<Action> {
        region.actions("CLUSTER_RESIZE").into_iter().filter(|a| a.cause == "Autoscaling Policy").collect()
    };
    let burners: Vec<String> = three.iter().map(|n| region.ip_of(n)).collect();
    let mut burned_at: Option<Instant> = None;
    let grown = wait_for("busy members make the autoscaler add one", || {
        if burned_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(4)) {
            for ip in &burners {
                let answer = post_workload(ip, "/burn?seconds=6&cores=1");
                assert!(answer.starts_with("HTTP/1.1 202"), "{ip} burns: {answer}");
            }
            burned_at = Some(Instant::now());
        }
        let nodes = region.nodes();
        (nodes.len() == base + 1 && nodes.iter().all(|n| n.status == "ACTIVE")).then_some(nodes)
    });
    let out = autoscaled(&region);
    assert_eq!(out.len(), 1, "one scale-out: {:?}", out.iter().map(|a| (&a.status, &a.inputs)).collect::<Vec<_>>());
    region.succeeded(&out[0].id.to_string());
    region.assert_members_run(&grown);
    eprintln!("[{:>5.1?}] 7. busy members grew the cluster to {}", started.elapsed(), base + 1);
    let shrunk = region.wait_nodes("idle members make the autoscaler remove one", |nodes| {
        nodes.len() == base && nodes.iter().all(|n| n.status == "ACTIVE")
    });
    let resizes = autoscaled(&region);
    assert_eq!(resizes.len(), 2, "one scale-out, one scale-in: {:?}", resizes.iter().map(|a| &a.inputs).collect::<Vec<_>>());
    region.succeeded(&resizes[1].id.to_string());
    assert_eq!(region.on(region.api.cluster("web")).expect("cluster").desired_capacity, i64::try_from(base).unwrap());
    region.assert_members_run(&shrunk);
    eprintln!("[{:>5.1?}] 7. idle members shrank it back to {base}", started.elapsed());

    // 8. Delete: no node, no container, no Docker container or network of the project left.
    let deleted = region.on(region.api.delete_cluster("web", false)).expect("delete");
    assert_eq!(region.succeeded(&deleted.action.to_string()).action, "CLUSTER_DELETE");
    assert_eq!(region.on(region.api.cluster("web")).expect_err("gone").status(), Some(404));
    let nodes = region.on(region.api.all_nodes(&NodeFilter::default())).expect("nodes");
    assert!(nodes.is_empty(), "no node left: {nodes:?}");
    let containers = region.on(region.api.list_containers(&ListQuery::default(), &ContainerFilter::default())).expect("containers");
    assert!(containers.containers.is_empty(), "no container left: {:?}", containers.containers);
    let labelled = docker(&["ps", "-aq", "--filter", &format!("label=flotilla.project={}", region.project)]);
    assert!(labelled.is_empty(), "no Docker container of the project left: {labelled}");
    // The agents remove the bridges nothing needs any more at their next pass.
    let pool_prefix = NETWORK_POOL.split_once(".0.0/").expect("a /16 pool").0.to_owned() + ".";
    wait_for("the agents remove the project's Docker networks", || {
        let networks = lines(&docker(&["network", "ls", "-q", "--filter", "label=flotilla.network"]));
        // A network removed between the list and its inspect is gone, as this waits for: no subnet.
        let subnet = |id: &String| {
            let inspect =
                Command::new("docker").args(["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", id]).output();
            String::from_utf8_lossy(&inspect.expect("the docker CLI runs").stdout).trim().to_owned()
        };
        networks.iter().all(|id| !subnet(id).starts_with(&pool_prefix)).then_some(())
    });
    eprintln!("[{:>5.1?}] 8. deleted, nothing left", started.elapsed());
}
