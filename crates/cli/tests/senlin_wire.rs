//! The Senlin clustering API at `/clustering` as OpenStack's clients see it, against the real
//! `flotilla server` and a simulated host: status codes, `Location` of actions, key sets, date
//! formats, single-key lists paged to an empty page, names and short ids in paths, counts as
//! strings, query booleans and Senlin's error bodies. No Python: a drift fails here.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::openstack::sim_region;
use support::{ADMIN_PASSWORD, Running, Sandbox};

const DATE: &str = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$";

/// One answer: status, headers and JSON body (null when empty).
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    /// The action id of a `Location` that must end in `/clustering/v1/actions/<uuid>`.
    fn action(&self) -> String {
        let location = self.header("location");
        let pattern = matcher(r"^http://127\.0\.0\.1:\d+/clustering/v1/actions/[0-9a-f-]{36}$");
        assert!(pattern(&location), "Location {location:?} ({:?}: {})", self.status, self.body);
        location.rsplit('/').next().unwrap().to_owned()
    }

    /// A Senlin error body with this status, whose message contains `text`.
    fn senlin_error(&self, status: u16, text: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(keys(&self.body), set(&["code", "title", "explanation", "error"]), "{}", self.body);
        assert_eq!(keys(&self.body["error"]), set(&["code", "message", "type"]), "{}", self.body);
        assert_eq!(self.body["code"], json!(status));
        assert_eq!(self.body["error"]["code"], json!(status));
        let message = self.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(text), "{message:?} lacks {text:?}");
    }
}

/// A matcher of a whole string.
fn matcher(pattern: &'static str) -> impl Fn(&str) -> bool {
    let re = regex::Regex::new(pattern).unwrap();
    move |text: &str| re.is_match(text)
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

struct Senlin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Senlin {
    async fn send(&self, method: Method, path: &str, token: bool, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("OpenStack-API-Version", "clustering 1.14");
        if token {
            request = request.header("X-Auth-Token", &self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path}: {e}")) };
        Reply { status, headers, body }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, true, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, true, Some(body)).await
    }

    /// Polls an action until it ends; answers its final status.
    async fn wait(&self, action: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let shown = self.get(&format!("/v1/actions/{action}")).await;
            assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
            let status = shown.body["action"]["status"].as_str().unwrap().to_owned();
            if ["SUCCEEDED", "FAILED", "CANCELLED"].contains(&status.as_str()) {
                return status;
            }
            assert!(Instant::now() < deadline, "action {action} still {status}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every item of a list paged with `limit` until the empty page, each page holding one key.
    async fn paged(&self, path: &str, key: &str, limit: usize) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let marker_q = marker.as_ref().map(|m| format!("&marker={m}")).unwrap_or_default();
            let page = self.get(&format!("{path}{sep}limit={limit}{marker_q}")).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert_eq!(keys(&page.body), set(&[key]), "{}", page.body);
            let items = page.body[key].as_array().unwrap().clone();
            assert!(items.len() <= limit);
            let Some(last) = items.last() else { return all };
            marker = Some(last["id"].as_str().unwrap().to_owned());
            all.extend(items);
        }
    }
}

const CLUSTER_KEYS: &[&str] = &[
    "id",
    "name",
    "profile_id",
    "profile_name",
    "user",
    "project",
    "domain",
    "init_at",
    "created_at",
    "updated_at",
    "min_size",
    "max_size",
    "desired_capacity",
    "timeout",
    "status",
    "status_reason",
    "metadata",
    "data",
    "config",
    "dependents",
    "nodes",
    "policies",
];

/// A sim region and the Senlin API of its server, with a token from Flotilla's own login (the
/// token Keystone issues too).
async fn start(sandbox: &Sandbox) -> (Running, Running, Senlin) {
    let (server, agents) = sim_region(sandbox);
    let http = reqwest::Client::new();
    let login = json!({"user": "admin", "password": ADMIN_PASSWORD, "project": "admin"});
    let answer: Value = http.post(format!("{}/v1/auth/tokens", server.url)).json(&login).send().await.unwrap().json().await.unwrap();
    let token = answer["token"].as_str().unwrap_or_else(|| panic!("no token in {answer}")).to_owned();
    let base = format!("{}/clustering", server.url);
    (server, agents, Senlin { http, base, token })
}

#[tokio::test(flavor = "multi_thread")]
async fn senlin_wire_shapes_from_discovery_to_delete() {
    let sandbox = Sandbox::new();
    let (server, _agents, s) = start(&sandbox).await;
    let date = matcher(DATE);

    // Discovery: no token, 300 at the root, the microversion echoed, an unknown one refused.
    let root = s.send(Method::GET, "", false, None).await;
    assert_eq!(root.status, StatusCode::MULTIPLE_CHOICES);
    let versions = root.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["id"], "1.0");
    assert_eq!(versions[0]["max_version"], "1.14");
    assert_eq!(root.header("openstack-api-version"), "clustering 1.14");
    assert_eq!(root.header("vary"), "OpenStack-API-Version");
    let slash = s.send(Method::GET, "/", false, None).await;
    assert_eq!((slash.status, slash.body.clone()), (root.status, root.body.clone()));
    let v1 = s.send(Method::GET, "/v1", false, None).await;
    assert_eq!((v1.status, v1.body["version"]["id"].clone()), (StatusCode::OK, json!("1.0")));
    let too_new = s.http.get(format!("{}/v1/clusters", s.base)).header("OpenStack-API-Version", "clustering 1.99").send().await.unwrap();
    let too_new = Reply { status: too_new.status(), headers: too_new.headers().clone(), body: too_new.json().await.unwrap() };
    too_new.senlin_error(406, "1.99");
    s.send(Method::GET, "/v1/clusters", false, None).await.senlin_error(401, "");
    let info = s.get("/v1/build-info").await;
    assert_eq!(keys(&info.body["build_info"]), set(&["api", "engine"]));

    // Profile types: Senlin's name of the Docker profile, its schema and operations.
    let types = s.get("/v1/profile-types").await;
    assert_eq!(types.body["profile_types"][0]["name"], "container.dockerinc.docker-1.0");
    let shown = s.get("/v1/profile-types/container.dockerinc.docker-1.0").await;
    assert_eq!(shown.body["profile_type"]["schema"]["properties"]["schema"]["image"]["required"], true, "{}", shown.body);
    let ops = s.get("/v1/profile-types/container.docker-1.0/ops").await;
    assert!(ops.body["operations"]["restart"].is_object(), "{}", ops.body);
    s.get("/v1/profile-types/os.nova.server-1.0").await.senlin_error(400, "not supported");

    // Profiles: Senlin's type name (YAML's `version: 1.0` arrives as a number), Flotilla's still taken.
    let spec = json!({"type": "container.dockerinc.docker", "version": 1.0, "properties": {"image": "any/image:1", "command": "sleep 1000", "memory": 64}});
    let made = s.post("/v1/profiles", json!({"profile": {"name": "web", "spec": spec, "metadata": {}}})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let profile = &made.body["profile"];
    let profile_keys = ["id", "name", "type", "spec", "metadata", "user", "project", "domain", "created_at", "updated_at"];
    assert_eq!(keys(profile), set(&profile_keys));
    assert_eq!(profile["type"], "container.dockerinc.docker-1.0");
    assert_eq!(profile["spec"]["properties"]["command"], json!(["sleep", "1000"]));
    assert!(date(profile["created_at"].as_str().unwrap()), "{}", profile["created_at"]);
    let flotilla_spec = json!({"type": "container.docker", "version": "1.0", "properties": {"image": "any/image:2"}});
    let second = s.post("/v1/profiles", json!({"profile": {"name": "web2", "spec": flotilla_spec}})).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let nova = json!({"type": "os.nova.server", "version": 1.0, "properties": {"flavor": "m1.small"}});
    s.post("/v1/profiles", json!({"profile": {"name": "vm", "spec": nova}}))
        .await
        .senlin_error(400, "The profile type 'os.nova.server-1.0' is not supported");
    s.post("/v1/profiles", json!({"name": "bare"})).await.senlin_error(400, "missing 'profile' key");
    let validated = s.post("/v1/profiles/validate", json!({"profile": {"spec": spec}})).await;
    assert_eq!(validated.status, StatusCode::OK, "{}", validated.body);
    let profiles = s.paged("/v1/profiles", "profiles", 1).await;
    assert_eq!(profiles.len(), 2);
    let renamed = s.send(Method::PATCH, "/v1/profiles/web2", true, Some(json!({"profile": {"name": "web-two"}}))).await;
    assert_eq!((renamed.status, renamed.body["profile"]["name"].clone()), (StatusCode::OK, json!("web-two")));
    assert_eq!(s.send(Method::DELETE, "/v1/profiles/web-two", true, None).await.status, StatusCode::NO_CONTENT);
    s.get("/v1/profiles/web-two").await.senlin_error(404, "The profile 'web-two' could not be found.");

    // Policy types and a policy under Senlin's type name.
    let policy_types = s.get("/v1/policy-types").await;
    let names: Vec<&str> = policy_types.body["policy_types"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"senlin.policy.deletion-1.0") && names.contains(&"senlin.policy.scaling-1.0"), "{names:?}");
    let deletion = json!({"type": "senlin.policy.deletion", "version": 1.0, "properties": {"criteria": "OLDEST_FIRST"}});
    let policy = s.post("/v1/policies", json!({"policy": {"name": "oldest", "spec": deletion}})).await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.body);
    assert_eq!(policy.body["policy"]["type"], "senlin.policy.deletion-1.0");
    let lb = json!({"type": "senlin.policy.loadbalance", "version": 1.0, "properties": {}});
    s.post("/v1/policies", json!({"policy": {"name": "lb", "spec": lb}})).await.senlin_error(400, "senlin.policy.loadbalance");

    // A cluster: 202 + Location, sizes as strings, the profile by name; then ACTIVE.
    let create = json!({"cluster": {"name": "c1", "profile_id": "web", "min_size": "1", "max_size": 5, "desired_capacity": "2", "metadata": {}, "timeout": null, "config": {}}});
    let created = s.post("/v1/clusters", create).await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
    assert_eq!(keys(&created.body), set(&["cluster"]));
    assert_eq!(keys(&created.body["cluster"]), set(CLUSTER_KEYS));
    assert_eq!(created.body["cluster"]["profile_name"], "web");
    assert_eq!(s.wait(&created.action()).await, "SUCCEEDED");
    let cluster = s.get("/v1/clusters/c1").await.body["cluster"].clone();
    assert_eq!((cluster["status"].clone(), cluster["desired_capacity"].clone()), (json!("ACTIVE"), json!(2)));
    assert_eq!(cluster["nodes"].as_array().unwrap().len(), 2);
    for field in ["init_at", "created_at", "updated_at"] {
        assert!(date(cluster[field].as_str().unwrap()), "{field}: {}", cluster[field]);
    }
    let id = cluster["id"].as_str().unwrap().to_owned();
    let by_short_id = s.get(&format!("/v1/clusters/{}", &id[..8])).await;
    assert_eq!(by_short_id.body["cluster"]["id"], json!(id));
    s.get("/v1/clusters/nope").await.senlin_error(404, "The cluster 'nope' could not be found.");
    s.get("/v1/clusters?colour=red").await.senlin_error(400, "Invalid parameter colour");
    let listed = s.get("/v1/clusters?global_project=False").await;
    assert_eq!(keys(&listed.body), set(&["clusters"]));
    assert_eq!(listed.body["clusters"].as_array().unwrap().len(), 1);

    // Actions: one key, counts as strings, Senlin's refusals.
    let out = s.post("/v1/clusters/c1/actions", json!({"scale_out": {"count": "1"}})).await;
    assert_eq!((out.status, keys(&out.body)), (StatusCode::ACCEPTED, set(&["action"])), "{}", out.body);
    assert_eq!(out.body["action"], json!(out.action()));
    assert_eq!(s.wait(&out.action()).await, "SUCCEEDED");
    s.post("/v1/clusters/c1/actions", json!({})).await.senlin_error(400, "No action specified");
    s.post("/v1/clusters/c1/actions", json!({"scale_in": {}, "scale_out": {}})).await.senlin_error(400, "Multiple actions specified");
    s.post("/v1/clusters/c1/actions", json!({"scale_out": {"count": "many"}})).await.senlin_error(400, "count");
    s.post("/v1/clusters/c1/actions", json!({"fly": {}})).await.senlin_error(400, "Unrecognized action 'fly'");
    let resize = json!({"resize": {"adjustment_type": "EXACT_CAPACITY", "number": 2, "min_size": null, "max_size": null, "min_step": null, "strict": false}});
    let resized = s.post(&format!("/v1/clusters/{}/actions", &id[..8]), resize).await;
    assert_eq!(s.wait(&resized.action()).await, "SUCCEEDED");
    let too_big = json!({"resize": {"adjustment_type": "EXACT_CAPACITY", "number": 9, "strict": true}});
    s.post("/v1/clusters/c1/actions", too_big).await.senlin_error(400, "");

    // Members, with the cluster named.
    let members = s.get("/v1/nodes?cluster_id=c1").await;
    let nodes = members.body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{}", members.body);
    assert_eq!(nodes[0]["cluster_id"], json!(id));
    assert_eq!(nodes[0]["profile_name"], "web");
    assert_eq!(s.paged("/v1/nodes?cluster_id=c1", "nodes", 1).await.len(), 2);
    let node_name = nodes[0]["name"].as_str().unwrap().to_owned();
    assert_eq!(s.get(&format!("/v1/nodes/{node_name}")).await.body["node"]["status"], "ACTIVE");

    // Policies attached by name and listed as cluster policies.
    let attach = s.post("/v1/clusters/c1/actions", json!({"policy_attach": {"policy_id": "oldest", "enabled": true}})).await;
    assert_eq!(s.wait(&attach.action()).await, "SUCCEEDED");
    let bound = s.get("/v1/clusters/c1/policies").await;
    let bindings = bound.body["cluster_policies"].as_array().unwrap();
    assert_eq!(bindings.len(), 1, "{}", bound.body);
    assert_eq!(bindings[0]["policy_type"], "senlin.policy.deletion-1.0");
    assert_eq!(bindings[0]["cluster_name"], "c1");
    assert_eq!(s.get("/v1/clusters/c1/policies?enabled=False").await.body["cluster_policies"], json!([]));
    let detach = s.post("/v1/clusters/c1/actions", json!({"policy_detach": {"policy_id": "oldest"}})).await;
    assert_eq!(s.wait(&detach.action()).await, "SUCCEEDED");

    // Collect: one attribute of every member.
    let attrs = s.get("/v1/clusters/c1/attrs/status").await;
    assert_eq!(attrs.body["cluster_attributes"].as_array().unwrap().len(), 2, "{}", attrs.body);

    // A webhook receiver, triggered without a token.
    let receiver =
        json!({"receiver": {"name": "r1", "type": "webhook", "cluster_id": "c1", "action": "CLUSTER_SCALE_OUT", "params": {"count": "1"}}});
    let made = s.post("/v1/receivers", receiver).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["receiver"]["action"], "CLUSTER_SCALE_OUT");
    assert_eq!(made.body["receiver"]["params"], json!({"count": 1}));
    let alarm_url = made.body["receiver"]["channel"]["alarm_url"].as_str().unwrap().to_owned();
    assert!(alarm_url.starts_with(&format!("{}/v1/webhooks/", s.base)) && alarm_url.ends_with("/trigger?V=2"), "{alarm_url}");
    assert_eq!(s.get("/v1/receivers/r1").await.body["receiver"]["channel"]["alarm_url"], json!(alarm_url));
    let triggered = s.http.post(&alarm_url).send().await.unwrap();
    let triggered = Reply { status: triggered.status(), headers: triggered.headers().clone(), body: triggered.json().await.unwrap() };
    assert_eq!(triggered.status, StatusCode::ACCEPTED, "{}", triggered.body);
    assert_eq!(s.wait(&triggered.action()).await, "SUCCEEDED");
    assert_eq!(s.get("/v1/clusters/c1").await.body["cluster"]["desired_capacity"], 3);

    // The action log and the events, Senlin's shapes.
    let actions = s.get("/v1/actions?global_project=False&cluster_id=c1").await;
    let first = &actions.body["actions"][0];
    assert!(first["start_time"].is_f64(), "{first}");
    assert_eq!(first["cluster_id"], json!(id));
    assert!(s.paged("/v1/actions", "actions", 3).await.len() >= 6);
    let events = s.get("/v1/events?global_project=False").await;
    let event = &events.body["events"][0];
    let event_keys = [
        "id",
        "timestamp",
        "oid",
        "oname",
        "otype",
        "cluster_id",
        "level",
        "user",
        "project",
        "action",
        "status",
        "status_reason",
        "meta_data",
    ];
    assert_eq!(keys(event), set(&event_keys));
    assert!(event["level"].is_string() && date(event["timestamp"].as_str().unwrap()), "{event}");
    s.get("/v1/events?level=LOUD").await.senlin_error(400, "level");

    // What Flotilla's Senlin does not have: Senlin's error body still.
    s.send(Method::PATCH, "/v1/receivers/r1", true, Some(json!({"receiver": {"name": "r2"}}))).await.senlin_error(405, "not supported");
    s.get("/v1/no-such-thing").await.senlin_error(404, "could not be found");

    // Delete: 202 + Location and no body; then the cluster is gone.
    s.send(Method::DELETE, "/v1/profiles/web", true, None).await.senlin_error(409, "");
    let deleted = s.send(Method::DELETE, "/v1/clusters/c1", true, None).await;
    assert_eq!((deleted.status, deleted.body.clone()), (StatusCode::ACCEPTED, Value::Null));
    assert_eq!(s.wait(&deleted.action()).await, "SUCCEEDED");
    s.get(&format!("/v1/clusters/{id}")).await.senlin_error(404, "could not be found");
    support::openstack::assert_no_server_errors(&server.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn senlin_nodes_and_the_node_actions_of_clusters() {
    let sandbox = Sandbox::new();
    let (server, _agents, s) = start(&sandbox).await;
    let spec = json!({"type": "container.dockerinc.docker", "version": "1.0", "properties": {"image": "any/image:1"}});
    assert_eq!(s.post("/v1/profiles", json!({"profile": {"name": "p", "spec": spec}})).await.status, StatusCode::CREATED);
    let created = s.post("/v1/clusters", json!({"cluster": {"name": "c2", "profile_id": "p", "desired_capacity": 1}})).await;
    assert_eq!(s.wait(&created.action()).await, "SUCCEEDED");

    // An orphan node: 202 + Location, Senlin's empty cluster_id.
    let made = s.post("/v1/nodes", json!({"node": {"name": "orphan", "profile_id": "p", "role": "spare"}})).await;
    assert_eq!(made.status, StatusCode::ACCEPTED, "{}", made.body);
    assert_eq!(made.body["node"]["cluster_id"], "");
    assert_eq!(s.wait(&made.action()).await, "SUCCEEDED");
    let orphan = s.get("/v1/nodes/orphan").await.body["node"].clone();
    let orphan_id = orphan["id"].as_str().unwrap().to_owned();

    // add_nodes by name, del_nodes by short id (kept as an orphan, as Senlin does).
    let added = s.post("/v1/clusters/c2/actions", json!({"add_nodes": {"nodes": ["orphan"]}})).await;
    assert_eq!(s.wait(&added.action()).await, "SUCCEEDED");
    assert_eq!(s.get("/v1/nodes?cluster_id=c2").await.body["nodes"].as_array().unwrap().len(), 2);
    let removed = s.post("/v1/clusters/c2/actions", json!({"del_nodes": {"nodes": [&orphan_id[..13]]}})).await;
    assert_eq!(s.wait(&removed.action()).await, "SUCCEEDED");
    assert_eq!(s.get("/v1/nodes/orphan").await.body["node"]["cluster_id"], "");
    s.post("/v1/clusters/c2/actions", json!({"add_nodes": {"nodes": ["ghost"]}}))
        .await
        .senlin_error(404, "The node 'ghost' could not be found.");

    // Check, recover (Senlin's REBOOT), an operation on the members, and on one node.
    let checked = s.post("/v1/clusters/c2/actions", json!({"check": {}})).await;
    assert_eq!(s.wait(&checked.action()).await, "SUCCEEDED");
    let recovered = s.post("/v1/clusters/c2/actions", json!({"recover": {"operation": "REBOOT"}})).await;
    assert_eq!(s.wait(&recovered.action()).await, "SUCCEEDED");
    let op = s.post("/v1/clusters/c2/ops", json!({"restart": {"params": {}, "filters": {}}})).await;
    assert_eq!(s.wait(&op.action()).await, "SUCCEEDED");
    let node_op = s.post("/v1/nodes/orphan/ops", json!({"stop": {}})).await;
    assert_eq!(s.wait(&node_op.action()).await, "SUCCEEDED");
    let node_check = s.post("/v1/nodes/orphan/actions", json!({"check": {}})).await;
    assert_eq!(s.wait(&node_check.action()).await, "SUCCEEDED");
    s.post("/v1/nodes/orphan/actions", json!({"recover": {"check": true}})).await.senlin_error(400, "check");

    // A finished action cannot be cancelled; an action only becomes CANCELLED.
    let path = format!("/v1/actions/{}", node_check.action());
    s.send(Method::PATCH, &path, true, Some(json!({"action": {"status": "SUCCEEDED"}}))).await.senlin_error(400, "CANCELLED");
    let cancel = s.send(Method::PATCH, &path, true, Some(json!({"action": {"status": "CANCELLED"}}))).await;
    cancel.senlin_error(409, "");

    // Rename, then delete: 202 + Location.
    let renamed = s.send(Method::PATCH, "/v1/nodes/orphan", true, Some(json!({"node": {"name": "spare-1"}}))).await;
    assert_eq!((renamed.status, renamed.body["node"]["name"].clone()), (StatusCode::OK, json!("spare-1")));
    let deleted = s.send(Method::DELETE, "/v1/nodes/spare-1", true, None).await;
    assert_eq!(s.wait(&deleted.action()).await, "SUCCEEDED");
    s.get(&format!("/v1/nodes/{orphan_id}")).await.senlin_error(404, "could not be found");

    // Adopt: a container made through /v1 becomes an orphan node; Nova servers are refused.
    let container = json!({"name": "loner", "spec": {"image": "any/image:1"}, "run": true});
    let made =
        s.http.post(format!("{}/v1/containers", s.base.trim_end_matches("/clustering"))).header("X-Auth-Token", &s.token).json(&container);
    assert!(made.send().await.unwrap().status().is_success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let adopted = loop {
        let adopt = json!({"identity": "loner", "type": "container.dockerinc.docker-1.0", "name": "adopted"});
        let answer = s.post("/v1/nodes/adopt", adopt).await;
        if answer.status == StatusCode::OK || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(adopted.status, StatusCode::OK, "{}", adopted.body);
    assert_eq!((adopted.body["node"]["name"].clone(), adopted.body["node"]["cluster_id"].clone()), (json!("adopted"), json!("")));
    let nova = json!({"identity": "loner", "type": "os.nova.server-1.0"});
    s.post("/v1/nodes/adopt", nova).await.senlin_error(400, "os.nova.server-1.0");

    // The region's engines, as Senlin's services.
    let services = s.get("/v1/services").await;
    let first = &services.body["services"][0];
    assert_eq!(first["binary"], "flotilla-engine", "{}", services.body);
    assert!(matcher(DATE)(first["updated_at"].as_str().unwrap()));
    support::openstack::assert_no_server_errors(&server.stderr());
}
