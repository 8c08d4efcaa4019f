//! The tenant-isolation matrix, over every route of `/v1/openapi.json`: project A makes one object
//! of every kind; then a member of project B and a reader of B name each of them on every route
//! (by id, by name, in request bodies, and as a list `marker`) and get exactly what an object that
//! never existed gets — never the object, never a 403 where an unknown key gets a 404 —; A's reader
//! reads them all and is refused (403) every write; and nothing of A changed. A route that takes
//! none of A's objects must be exercised as a list or listed below with the reason it is exempt, so
//! a new route cannot escape the matrix.

use flotilla_api::{
    ClusterCreate, ContainerCreate, ImageUploadQuery, NetworkCreate, PolicyCreate, PortCreate, ProfileCreate, ReceiverCreate, RouterCreate,
    SubnetCreate, VolumeCreate,
};
use flotilla_client::Client;
use flotilla_core::Role;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use flotilla_testkit::{SimHost, TestRegion, wait_for_container, wait_until};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Routes that name none of a project's objects, with why the matrix does not walk them.
const EXEMPT: &[(&str, &str, &str)] = &[
    ("get", "/v1", "the version document: public"),
    ("get", "/v1/auth/tokens", "the caller's own token"),
    ("post", "/v1/auth/tokens", "logging in: names a user and a password, tested in identity_api"),
    ("delete", "/v1/auth/tokens", "revokes the caller's own token"),
    ("post", "/v1/dashboard/links", "a sign-in link for the caller's own token, naming nothing (tested in dashboard_api)"),
    ("get", "/v1/events/stream", "a stream over the events list, whose scoping (and markers) this matrix walks"),
    (
        "get",
        "/v1/containers/{container}/archive",
        "needs ?path= and a Docker host (the sim runtime holds no files); its container lookup is exec's",
    ),
    ("put", "/v1/containers/{container}/archive", "needs ?path=, a tar body and a Docker host; its container lookup is exec's"),
    (
        "get",
        "/v1/containers/{container}/exec",
        "the interactive exec, a WebSocket upgrade a reader may not make; its lookup and rights are exec's (docker_exec tests them)",
    ),
    ("get", "/v1/hosts/{host}", "hosts are the region's, not a project's: every signed-in user sees them"),
    ("delete", "/v1/hosts/{host}", "hosts are the region's: admins only, whoever asks"),
    ("post", "/v1/hosts/{host}/disable", "hosts are the region's: admins only"),
    ("post", "/v1/hosts/{host}/drain", "hosts are the region's: admins only"),
    ("post", "/v1/hosts/{host}/enable", "hosts are the region's: admins only"),
    ("post", "/v1/hosts/join-tokens", "admins only; names no project object"),
    ("get", "/v1/policy-types", "the region's catalogue"),
    ("get", "/v1/profile-types", "the region's catalogue"),
    ("get", "/v1/services", "the region's engines: admins only"),
    ("post", "/v1/policies/validate", "checks a spec, names no object"),
    ("post", "/v1/profiles/validate", "checks a spec, names no object"),
    ("post", "/v1/images", "an upload into the caller's own project"),
    ("post", "/v1/networks", "a create in the caller's own project; overlaps are tested in tenancy_api"),
    ("post", "/v1/policies", "a create in the caller's own project, naming nothing else"),
    ("post", "/v1/profiles", "a create in the caller's own project; its image reference is walked by POST /v1/containers"),
    ("post", "/v1/volumes", "a create in the caller's own project, naming nothing else"),
    ("post", "/v1/routers", "a create in the caller's own project, naming nothing else; interfaces are walked"),
    ("post", "/v1/projects", "admins only: identity"),
    ("post", "/v1/users", "admins only: identity"),
    ("post", "/v1/role_assignments", "admins only: identity"),
    ("post", "/v1/webhooks/{secret}", "no token: the 256-bit secret is the credential (tested in clusters_sim)"),
    ("post", "/v1/regions/join-tokens", "the central's: admins only; names no project object"),
    ("get", "/v1/regions/{region}", "regions are the federation's, not a project's: every signed-in user sees them"),
    ("delete", "/v1/regions/{region}", "regions are the federation's: admins only"),
    ("post", "/v1/federation/join", "regions call it with a region join token or credential; names no project object"),
    ("post", "/v1/federation/heartbeat", "regions call it with their credential; names no project object"),
    ("post", "/v1/federation/tokens/validate", "regions call it with their credential (tests/federation.rs)"),
    ("post", "/v1/federation/routings", "regions call it with their credential for their own rows (tests/routing.rs)"),
    ("get", "/v1/jobs/{job}", "jobs are the server's background work, not a project's: admins only (jobs_api)"),
    ("post", "/v1/jobs/{job}/redo", "jobs are the server's: admins only (jobs_api)"),
    ("get", "/v1/routings/{id}", "the central's table, empty here; an id of another project is a 404 (jobs_api)"),
    ("post", "/v1/federation/networks", "a region's credential, not a token: only a central answers (tested in cli global_networks)"),
    ("get", "/v1/federation/networks/{network}", "a region's credential, not a token: only a central answers"),
    ("post", "/v1/federation/routers", "a region's credential, not a token: only a central answers (tested in cli router_regions_testbed)"),
    ("post", "/v1/federation/networks/{network}/blocks", "a region's credential, not a token: only a central answers"),
    ("post", "/v1/federation/networks/{network}/fixed-ips", "a region's credential, not a token: only a central answers"),
    ("delete", "/v1/federation/networks/{network}/fixed-ips/{address}", "a region's credential, not a token: only a central answers"),
    ("post", "/v1/federation/endpoints", "a region's credential, not a token: its own endpoints, only a central answers"),
    ("post", "/v1/federation/endpoints/watch", "a region's credential, not a token: only a central answers"),
    ("post", "/v1/federation/regions/verify", "a region's credential, not a token: only a central answers; names no project object"),
    (
        "put",
        "/v1/federation/members/{id}",
        "another region's credential, not a token: only a federated region answers (cli regions_clusters)",
    ),
    ("delete", "/v1/federation/members/{id}", "another region's credential, not a token: only its own members (cli regions_clusters)"),
];

/// A request's answer: status and body.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// The error message with `key` (and the request id) taken out, to compare two answers.
    fn said(&self, key: &str) -> (u16, String) {
        let message = self.body["error"]["message"].as_str().unwrap_or_default().replace(key, "KEY");
        (self.status, message)
    }
}

struct Caller {
    who: &'static str,
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Caller {
    fn new(who: &'static str, url: &str, client: &Client) -> Self {
        Self { who, http: reqwest::Client::new(), url: url.to_owned(), token: client.token().expect("logged in").to_owned() }
    }

    async fn call(&self, method: &Method, path: &str, body: Option<&Value>) -> Answer {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }
}

/// One of A's objects, as a path parameter names it.
#[derive(Debug, Clone)]
struct Object {
    id: String,
    name: Option<String>,
    /// Where A's member reads it, for the before/after comparison.
    show: String,
}

/// A body a write route accepts, so that it reaches its rights and lookups (or none).
fn body_for(method: &str, path: &str, a: &BTreeMap<&str, Object>) -> Option<Value> {
    let renamed = json!({"name": "renamed"});
    Some(match (method, path) {
        ("patch", "/v1/projects/{project}") => json!({"description": "changed"}),
        ("patch", "/v1/users/{user}") => json!({"email": "changed@example.org"}),
        ("patch", _) => renamed,
        ("put", "/v1/quotas/{project}") => json!({"containers": 0}),
        ("post", "/v1/clusters/{cluster}/actions") | ("post", "/v1/nodes/{node}/actions") => json!({"check": {}}),
        ("post", "/v1/containers/{container}/exec") => json!({"command": ["true"]}),
        ("post", "/v1/containers/{container}/rename") => renamed,
        ("post", "/v1/containers/{container}/networks") => json!({"network": a["network"].name}),
        ("post", "/v1/networks/{network}/subnets") => json!({"cidr": "192.168.250.0/24"}),
        ("post", "/v1/routers/{router}/interfaces") => json!({"network": a["network"].name}),
        _ => return None,
    })
}

/// Creates that name an existing object in their body: the route, the kind named, and the body
/// naming it by `key`.
fn referencing_creates(a: &BTreeMap<&str, Object>, key: &dyn Fn(&Object) -> String) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("/v1/clusters", "profile", json!({"name": "x", "profile": key(&a["profile"]), "desired_capacity": 0})),
        ("/v1/nodes", "profile", json!({"name": "x", "profile": key(&a["profile"])})),
        ("/v1/nodes", "cluster", json!({"name": "x", "profile": "none", "cluster": key(&a["cluster"])})),
        ("/v1/nodes/adopt", "container", json!({"container": key(&a["container"])})),
        ("/v1/ports", "network", json!({"network": key(&a["network"])})),
        ("/v1/receivers", "cluster", json!({"name": "x", "cluster": key(&a["cluster"]), "action": "scale_out"})),
        ("/v1/containers", "network", json!({"name": "x", "spec": {"image": "busybox", "networks": [{"network": key(&a["network"])}]}})),
        (
            "/v1/containers",
            "volume",
            json!({"name": "x", "spec": {"image": "busybox", "volumes": [{"volume": key(&a["volume"]), "target": "/v"}]}}),
        ),
    ]
}

/// A's objects as A's member sees them, without what moves by itself (heartbeats, measurements).
async fn snapshot(owner: &Caller, a: &BTreeMap<&str, Object>) -> BTreeMap<String, Value> {
    fn strip(v: &mut Value) {
        if let Value::Object(map) = v {
            for volatile in ["updated_at", "cpu_percent", "observed_at", "health", "health_reason", "last_heartbeat", "utilisation"] {
                map.remove(volatile);
            }
            map.values_mut().for_each(strip);
        } else if let Value::Array(items) = v {
            items.iter_mut().for_each(strip);
        }
    }
    let mut all = BTreeMap::new();
    for (kind, object) in a {
        let mut answer = owner.call(&Method::GET, &object.show, None).await;
        assert_eq!(answer.status, 200, "A reads its {kind}: {:?}", answer.body);
        strip(&mut answer.body);
        all.insert((*kind).to_owned(), answer.body);
    }
    all
}

/// Project A's objects, one of every kind, keyed by the path parameter that names them.
async fn populate(region: &TestRegion, owner: &Client, owner_name: &str) -> BTreeMap<&'static str, Object> {
    let named = |id: String, name: &str, show: String| Object { id, name: Some(name.to_owned()), show };
    let mut a = BTreeMap::new();
    let spec = ContainerProperties { image: "alpha/app:1".into(), cpu: Some(0.1), memory: Some(16), ..Default::default() };
    let dir = tempfile::tempdir().unwrap();
    let image = owner
        .upload_image(&flotilla_testkit::image_archive(dir.path(), "alpha/app:1", 0).0, &ImageUploadQuery::default(), |_| {})
        .await
        .unwrap();
    a.insert("image", named(image.id.to_string(), "alpha/app:1", format!("/v1/images/{}", image.id)));
    let profile_spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties: spec.clone() };
    let profile =
        owner.create_profile(&ProfileCreate { name: "a-prof".into(), spec: profile_spec, metadata: Default::default() }).await.unwrap();
    a.insert("profile", named(profile.id.to_string(), "a-prof", format!("/v1/profiles/{}", profile.id)));
    let create = ClusterCreate {
        name: "a-clu".into(),
        profile: "a-prof".into(),
        desired_capacity: 1,
        min_size: 0,
        max_size: 3,
        timeout: None,
        config: Default::default(),
        metadata: Default::default(),
    };
    let cluster = owner.create_cluster(&create).await.unwrap();
    let action = cluster.action.clone().expect("the create's action");
    a.insert("cluster", named(cluster.body.id.to_string(), "a-clu", format!("/v1/clusters/{}", cluster.body.id)));
    wait_until("A's cluster has its node", || async { owner.cluster("a-clu").await.is_ok_and(|c| c.status == "ACTIVE") }).await;
    let nodes = owner.all_nodes(&Default::default()).await.unwrap();
    let node = &nodes[0];
    a.insert("node", named(node.id.to_string(), &node.name, format!("/v1/nodes/{}", node.id)));
    a.insert("action", Object { id: action.clone(), name: None, show: format!("/v1/actions/{action}") });
    let policy = json!({"name": "a-pol", "spec": {"type": "scaling", "version": "1.0", "properties": {"event": "SCALE_OUT"}}});
    let policy: PolicyCreate = serde_json::from_value(policy).unwrap();
    let policy = owner.create_policy(&policy).await.unwrap();
    a.insert("policy", named(policy.id.to_string(), "a-pol", format!("/v1/policies/{}", policy.id)));
    let receiver = ReceiverCreate {
        name: "a-rec".into(),
        type_name: "webhook".into(),
        cluster: "a-clu".into(),
        action: "scale_out".into(),
        params: Default::default(),
        overridable: Vec::new(),
        metadata: Default::default(),
    };
    let receiver = owner.create_receiver(&receiver).await.unwrap();
    a.insert("receiver", named(receiver.id.to_string(), "a-rec", format!("/v1/receivers/{}", receiver.id)));
    let subnet = SubnetCreate { name: None, cidr: "192.168.40.0/24".into(), gateway: None, allocation_pools: vec![], reserved: vec![] };
    let network = NetworkCreate { name: "a-net".into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() };
    let network = owner.create_network(&network).await.unwrap();
    a.insert("network", named(network.id.to_string(), "a-net", format!("/v1/networks/{}", network.id)));
    let subnet = network.subnets[0].id.to_string();
    a.insert("subnet", Object { id: subnet.clone(), name: None, show: format!("/v1/subnets/{subnet}") });
    let port = owner.create_port(&PortCreate { network: "a-net".into(), name: Some("a-port".into()), ip_address: None }).await.unwrap();
    a.insert("port", Object { id: port.id.to_string(), name: None, show: format!("/v1/ports/{}", port.id) });
    let router = owner.create_router(&RouterCreate { name: "a-rtr".into(), global: false }).await.unwrap();
    owner.add_router_interface("a-rtr", "a-net").await.unwrap();
    a.insert("router", named(router.id.to_string(), "a-rtr", format!("/v1/routers/{}", router.id)));
    let volume = VolumeCreate {
        name: "a-vol".into(),
        driver: None,
        driver_opts: Default::default(),
        size_mib: None,
        pool: None,
        metadata: Default::default(),
    };
    let volume = owner.create_volume(&volume).await.unwrap();
    a.insert("volume", named(volume.id.to_string(), "a-vol", format!("/v1/volumes/{}", volume.id)));
    let container = owner.create_container(&ContainerCreate { name: "a-box".into(), spec, run: true, metadata: Default::default() }).await;
    let container = container.unwrap();
    wait_for_container(owner, "a-box", "RUNNING").await;
    a.insert("container", named(container.id.to_string(), "a-box", format!("/v1/containers/{}", container.id)));
    let me = owner.current_token().await.unwrap();
    a.insert("project", named(me.project.id.to_string(), me.project.name.as_str(), format!("/v1/projects/{}", me.project.id)));
    a.insert("user", named(me.user.id.to_string(), owner_name, format!("/v1/users/{}", me.user.id)));
    let roles = region.admin.list_role_assignments(None, Some("alpha"), &Default::default()).await.unwrap();
    let role = roles.role_assignments[0].id.to_string();
    a.insert("id", Object { id: role.clone(), name: None, show: format!("/v1/role_assignments?project={}", me.project.id) });
    a.insert("path", Object { id: "status".into(), name: None, show: format!("/v1/clusters/{}", cluster.body.id) });
    a
}

/// Identity routes answer admin-only writes with 403 whoever is named; that answer must then be
/// the same for an unknown key, which the matrix checks.
fn identity(path: &str) -> bool {
    ["/v1/projects", "/v1/users", "/v1/quotas", "/v1/role_assignments"].iter().any(|p| path.starts_with(p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_reads_changes_or_confirms_another_projects_objects() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("h").cpus(8.0).memory_mib(8192)).await;
    let owner = region.add_user("ann", "alpha", Role::Member).await;
    let a = populate(&region, &owner, "ann").await;
    let url = region.url.clone();
    let owner = Caller::new("A's member", &url, &owner);
    let a_reader = Caller::new("A's reader", &url, &region.add_user("ari", "alpha", Role::Reader).await);
    let b_member = Caller::new("B's member", &url, &region.add_user("bob", "beta", Role::Member).await);
    let b_reader = Caller::new("B's reader", &url, &region.add_user("bri", "beta", Role::Reader).await);
    let before = snapshot(&owner, &a).await;

    let document: Value = reqwest::get(format!("{url}/v1/openapi.json")).await.unwrap().json().await.unwrap();
    let exempt: BTreeSet<(&str, &str)> = EXEMPT.iter().map(|(m, p, _)| (*m, *p)).collect();
    let mut walked = BTreeSet::new();
    let mut failures = Vec::new();
    let unknown_id = uuid::Uuid::now_v7().to_string();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().unwrap().keys() {
            let route = (method.as_str(), path.as_str());
            if exempt.contains(&route) {
                continue;
            }
            let verb = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let params: Vec<&str> = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
            if params.is_empty() {
                if method == "get" {
                    walk_list(&[&b_member, &b_reader], path, &a, &unknown_id, &mut failures).await;
                } else if method == "post" {
                    walk_creates(&b_member, path, &a, &unknown_id, &mut failures).await;
                } else {
                    failures.push(format!("{method} {path}: neither walked nor exempt"));
                }
                walked.insert(format!("{method} {path}"));
                continue;
            }
            let Some(objects) = params.iter().map(|p| a.get(p).cloned()).collect::<Option<Vec<Object>>>() else {
                failures.push(format!("{method} {path}: a parameter the matrix cannot fill: {params:?}"));
                continue;
            };
            let body = body_for(method, path, &a);
            // The first parameter is the key walked; any other names A's object by id.
            let fill = |first: &str| {
                let mut filled = path.replacen(&format!("{{{}}}", params[0]), &first.replace('/', "%2F"), 1);
                for (param, object) in params.iter().zip(&objects).skip(1) {
                    filled = filled.replace(&format!("{{{param}}}"), &object.id);
                }
                filled
            };
            let first = &objects[0];
            let keys: Vec<(String, String)> =
                [Some((first.id.clone(), unknown_id.clone())), first.name.clone().map(|n| (n, "no-such-name".to_owned()))]
                    .into_iter()
                    .flatten()
                    .collect();
            for (key, unknown) in &keys {
                let (theirs, never) = (fill(key), fill(unknown));
                for caller in [&b_member, &b_reader] {
                    let got = caller.call(&verb, &theirs, body.as_ref()).await;
                    let none = caller.call(&verb, &never, body.as_ref()).await;
                    if got.said(key) != none.said(unknown) {
                        failures.push(format!(
                            "{} {method} {theirs}: {:?}, but for an unknown key {:?}",
                            caller.who,
                            got.said(key),
                            none.said(unknown)
                        ));
                    }
                    // A 403 is right only where the unknown key gets it too (a role check before any
                    // lookup: readers' writes, admin-only identity routes), which the line above checks.
                    let refused_first = caller.who == "B's reader" || identity(path);
                    if (200..300).contains(&got.status) || (got.status == 403 && !refused_first) {
                        failures.push(format!("{} {method} {theirs}: {} {:?}", caller.who, got.status, got.body));
                    }
                }
            }
            let own = fill(&first.id);
            let read = a_reader.call(&verb, &own, body.as_ref()).await;
            let fine = if method == "get" { (200..300).contains(&read.status) } else { read.status == 403 };
            if !fine {
                failures.push(format!("A's reader {method} {own}: {} {:?}", read.status, read.body));
            }
            walked.insert(format!("{method} {path}"));
        }
    }
    for (method, path, _) in EXEMPT {
        assert!(document["paths"][path][method].is_object(), "exempt route {method} {path} is not in the document any more");
    }
    assert!(walked.len() > 60, "the matrix walked {} routes: {walked:?}", walked.len());
    assert!(failures.is_empty(), "{} isolation failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(snapshot(&owner, &a).await, before, "nothing of A changed");
    agent.shutdown().await;
    region.stop().await;
}

/// A list with `marker` = each of A's ids answers as with an unknown marker, and lists none of A's objects.
async fn walk_list(callers: &[&Caller], path: &str, a: &BTreeMap<&str, Object>, unknown: &str, failures: &mut Vec<String>) {
    for caller in callers {
        let plain = caller.call(&Method::GET, path, None).await;
        for object in a.values().filter(|o| uuid::Uuid::parse_str(&o.id).is_ok()) {
            if plain.status == 200 && plain.body.to_string().contains(&object.id) && !matches!(path, "/v1/hosts" | "/v1/policy-types") {
                failures.push(format!("{} GET {path} lists A's {}", caller.who, object.id));
            }
            let theirs = caller.call(&Method::GET, &format!("{path}?marker={}", object.id), None).await;
            let none = caller.call(&Method::GET, &format!("{path}?marker={unknown}"), None).await;
            if theirs.said(&object.id) != none.said(unknown) {
                failures.push(format!(
                    "{} GET {path}?marker={}: {:?}, unknown: {:?}",
                    caller.who,
                    object.id,
                    theirs.said(&object.id),
                    none.said(unknown)
                ));
            }
        }
    }
}

/// Creates naming A's objects in their body answer as when naming unknown ones, and make nothing.
async fn walk_creates(caller: &Caller, path: &str, a: &BTreeMap<&str, Object>, unknown: &str, failures: &mut Vec<String>) {
    let mut seen = false;
    for by_name in [false, true] {
        let key = |o: &Object| if by_name { o.name.clone().unwrap_or_else(|| o.id.clone()) } else { o.id.clone() };
        let never = if by_name { "no-such-name" } else { unknown };
        let theirs = referencing_creates(a, &key);
        let nothing = referencing_creates(a, &|_| never.to_owned());
        for ((route, kind, body), (_, _, none_body)) in theirs.iter().zip(&nothing).filter(|((route, ..), _)| *route == path) {
            seen = true;
            let named = key(&a[kind]);
            let got = caller.call(&Method::POST, route, Some(body)).await;
            let none = caller.call(&Method::POST, route, Some(none_body)).await;
            if (200..300).contains(&got.status) || got.said(&named) != none.said(never) {
                failures.push(format!(
                    "{} POST {route} naming A's {kind} {named}: {:?}, unknown: {:?}",
                    caller.who,
                    got.said(&named),
                    none.said(never)
                ));
            }
        }
    }
    if path == "/v1/containers" {
        // A's private image by its name: not found, and nothing made (a reference no project
        // holds is a registry pull instead, so this one is held to the 404 alone).
        let body = json!({"name": "pirate", "spec": {"image": a["image"].name}});
        let got = caller.call(&Method::POST, path, Some(&body)).await;
        if got.status != 404 {
            failures.push(format!("{} POST {path} naming A's private image: {} {:?}", caller.who, got.status, got.body));
        }
    }
    if !seen {
        failures.push(format!("post {path}: no body naming A's objects and not exempt"));
    }
}
