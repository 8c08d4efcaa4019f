//! Zun v1 at `/container` on the real `flotilla server` with a simulated host: the wire shapes
//! replayed in Rust (versions, microversion headers, container fields and statuses, Zun's error
//! body, 401 on a bad token, pagination to an empty page), then the real `openstack appcontainer`
//! commands with `-f json`, and a central with two regions behind its one Keystone.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::openstack::{Cloud, assert_no_server_errors, cli, keys, set};
use support::regions::east_and_west;
use support::{ADMIN_PASSWORD, Running, Sandbox, log_in_as_admin, sim_agent, start_server_on, wait_until};

/// The fields of a Zun container (zun/api/controllers/v1/views/containers_view.py).
const CONTAINER_FIELDS: &[&str] = &[
    "uuid",
    "links",
    "name",
    "image",
    "command",
    "status",
    "status_reason",
    "status_detail",
    "task_state",
    "cpu",
    "memory",
    "environment",
    "workdir",
    "ports",
    "hostname",
    "labels",
    "addresses",
    "image_pull_policy",
    "host",
    "restart_policy",
    "interactive",
    "tty",
    "image_driver",
    "security_groups",
    "auto_remove",
    "runtime",
    "disk",
    "auto_heal",
    "privileged",
    "healthcheck",
    "cpu_policy",
    "registry_id",
    "entrypoint",
    "user_id",
    "project_id",
    "created_at",
    "updated_at",
];

/// A standalone server with one simulated host.
fn region_with_a_sim_host(sandbox: &Sandbox) -> (Running, Running) {
    let server = start_server_on(sandbox, None);
    log_in_as_admin(sandbox, &server);
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().unwrap().to_owned();
    let agent = sim_agent(sandbox, &server, &token, "sim", &["--simulate-hosts", "1"], "simulated hosts joined");
    (server, agent)
}

struct Zun {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Zun {
    async fn new(url: &str) -> Zun {
        Zun::as_user(url, "admin", ADMIN_PASSWORD, "admin").await
    }

    async fn as_user(url: &str, user: &str, password: &str, project: &str) -> Zun {
        let http = reqwest::Client::new();
        let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password, "domain": {"id": "default"}}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
        let issued = http.post(format!("{url}/identity/v3/auth/tokens?nocatalog")).json(&auth).send().await.unwrap();
        assert_eq!(issued.status(), StatusCode::CREATED);
        let token = issued.headers()["x-subject-token"].to_str().unwrap().to_owned();
        Zun { http, url: url.to_owned(), token }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}/container/v1{path}", self.url))
            .header("x-auth-token", &self.token)
            .header("openstack-api-version", "container 1.40")
    }

    async fn json(&self, method: reqwest::Method, path: &str, expected: StatusCode) -> Value {
        let answer = self.request(method.clone(), path).send().await.unwrap();
        assert_eq!(answer.status(), expected, "{method} {path}");
        answer.json().await.unwrap()
    }

    async fn wait_for_status(&self, name: &str, status: &str) {
        for _ in 0..150 {
            if self.json(reqwest::Method::GET, &format!("/containers/{name}"), StatusCode::OK).await["status"] == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{name} never became {status}");
    }
}

fn assert_zun_error(body: &Value, status: u16) -> String {
    let errors = body["errors"].as_array().unwrap_or_else(|| panic!("Zun's error body: {body}"));
    assert_eq!(errors.len(), 1);
    assert_eq!(keys(&errors[0]), set(&["request_id", "code", "status", "title", "detail", "links"]));
    assert_eq!(errors[0]["status"], status);
    errors[0]["detail"].as_str().unwrap().to_owned()
}

async fn replay(url: &str) {
    use reqwest::Method;
    let zun = Zun::new(url).await;

    // Versions without a token; /v1 with the microversion headers.
    let root = zun.http.get(format!("{url}/container")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let root: Value = root.json().await.unwrap();
    assert_eq!(root["versions"][0]["id"], "v1");
    assert_eq!(root["versions"][0]["status"], "CURRENT");
    assert_eq!((root["versions"][0]["min_version"].as_str(), root["versions"][0]["max_version"].as_str()), (Some("1.1"), Some("1.40")));
    assert_eq!(root["versions"][0]["links"][0]["href"], format!("{url}/container/v1/").as_str());
    let listed = zun
        .http
        .get(format!("{url}/container/v1/containers"))
        .header("x-auth-token", &zun.token)
        .header("openstack-api-version", "container 1.12");
    let listed = listed.send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.headers()["openstack-api-version"], "container 1.12");
    assert_eq!(listed.headers()["openstack-api-minimum-version"], "container 1.1");
    assert_eq!(listed.headers()["openstack-api-maximum-version"], "container 1.40");
    assert_eq!(listed.json::<Value>().await.unwrap(), json!({"containers": [], "next": null}));
    let plain = zun.http.get(format!("{url}/container/v1/containers")).header("x-auth-token", &zun.token).send().await.unwrap();
    assert_eq!(plain.headers()["openstack-api-version"], "container 1.1");
    let too_new = zun
        .http
        .get(format!("{url}/container/v1/containers"))
        .header("x-auth-token", &zun.token)
        .header("openstack-api-version", "container 1.41");
    let too_new = too_new.send().await.unwrap();
    assert_eq!(too_new.status(), StatusCode::NOT_ACCEPTABLE);
    assert!(assert_zun_error(&too_new.json().await.unwrap(), 406).contains("1.41"));
    let bad_token = zun.http.get(format!("{url}/container/v1/containers")).header("x-auth-token", "nope").send().await.unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    assert_zun_error(&bad_token.json().await.unwrap(), 401);

    // Run: 202, Location, Zun's fields.
    let body = json!({"name": "web", "image": "any/image:1", "command": ["sleep", "1000"], "environment": {"A": "1"}, "labels": {},
        "hints": {}, "nets": [], "mounts": [], "auto_remove": false, "memory": "64", "cpu": 0.5});
    let ran = zun.request(Method::POST, "/containers?run=true").json(&body).send().await.unwrap();
    assert_eq!(ran.status(), StatusCode::ACCEPTED);
    let location = ran.headers()["location"].to_str().unwrap().to_owned();
    let web: Value = ran.json().await.unwrap();
    assert_eq!(keys(&web), set(CONTAINER_FIELDS));
    assert_eq!(location, format!("{url}/container/v1/containers/{}", web["uuid"].as_str().unwrap()));
    assert_eq!((web["memory"].as_str(), web["cpu"].as_f64()), (Some("64M"), Some(0.5)));
    assert_eq!(web["command"], json!(["sleep", "1000"]));
    zun.wait_for_status("web", "Running").await;
    let shown = zun.json(Method::GET, &format!("/containers/{}", web["uuid"].as_str().unwrap()), StatusCode::OK).await;
    assert_eq!((shown["name"].as_str(), shown["host"].as_str()), (Some("web"), Some("sim-1")));

    // Bad input: Zun's error body naming the field.
    let unknown = zun.request(Method::POST, "/containers").json(&json!({"image": "x", "colour": "red"})).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert!(assert_zun_error(&unknown.json().await.unwrap(), 400).starts_with("colour: "));
    let text = zun.request(Method::POST, "/containers").header("content-type", "text/plain").body("image=x").send().await.unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(assert_zun_error(&text.json().await.unwrap(), 415).contains("text/plain"));
    let filter = zun.json(Method::GET, "/containers?colour=red", StatusCode::BAD_REQUEST).await;
    assert!(assert_zun_error(&filter, 400).contains("colour"));

    // Exec, logs (a JSON string), top, stats.
    let exec = zun.json(Method::POST, "/containers/web/execute?command=%22echo%22+%22hi+there%22", StatusCode::OK).await;
    assert_eq!(exec, json!({"output": "hi there\n", "exit_code": 0, "exec_id": null, "token": null}));
    let logs = zun.request(Method::GET, "/containers/web/logs?stdout=True&stderr=True&timestamps=False&tail=all").send().await.unwrap();
    assert_eq!(logs.status(), StatusCode::OK);
    assert!(logs.json::<Value>().await.unwrap().is_string());
    assert_eq!(keys(&zun.json(Method::GET, "/containers/web/top", StatusCode::OK).await), set(&["Titles", "Processes"]));
    let stats = zun.json(Method::GET, "/containers/web/stats", StatusCode::OK).await;
    assert_eq!(keys(&stats), set(&["CPU %", "MEM USAGE(MiB)", "MEM LIMIT(MiB)", "MEM %", "BLOCK I/O(B)", "NET I/O(B)"]));

    // Networks: attach one (its address shows in network_list), detach it.
    let network = json!({"name": "back", "subnet": {"cidr": "10.77.0.0/24"}});
    let made = zun.http.post(format!("{url}/v1/networks")).header("x-auth-token", &zun.token).json(&network).send().await.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let back = made.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let on_back = |list: &Value| list["networks"].as_array().unwrap().iter().any(|n| n["net_id"] == back.as_str());
    let attach = zun.request(Method::POST, "/containers/web/network_attach?network=back").send().await.unwrap();
    assert_eq!(attach.status(), StatusCode::ACCEPTED);
    let listed = zun.json(Method::GET, "/containers/web/network_list", StatusCode::OK).await;
    assert!(on_back(&listed), "{listed}");
    let address = listed["networks"].as_array().unwrap().iter().find(|n| n["net_id"] == back.as_str()).unwrap()["fixed_ips"][0].clone();
    assert!(address["ip_address"].as_str().unwrap().starts_with("10.77.0."), "{address}");
    assert_eq!(address["version"], 4);
    let detach = zun.request(Method::POST, "/containers/web/network_detach?network=back").send().await.unwrap();
    assert_eq!(detach.status(), StatusCode::ACCEPTED);
    assert!(!on_back(&zun.json(Method::GET, "/containers/web/network_list", StatusCode::OK).await));

    // Deleting a running container without stop or force: Zun's 409.
    let refused = zun.json(Method::DELETE, "/containers/web?force=False&stop=False&all_projects=False", StatusCode::CONFLICT).await;
    assert_zun_error(&refused, 409);

    // Stop, start, rename, update.
    let stop = zun.request(Method::POST, "/containers/web/stop?timeout=10").send().await.unwrap();
    assert_eq!(stop.status(), StatusCode::ACCEPTED);
    zun.wait_for_status("web", "Stopped").await;
    assert_eq!(zun.request(Method::POST, "/containers/web/start").send().await.unwrap().status(), StatusCode::ACCEPTED);
    zun.wait_for_status("web", "Running").await;
    let renamed = zun.json(Method::POST, "/containers/web/rename?name=www", StatusCode::OK).await;
    assert_eq!(renamed["name"], "www");
    let updated = zun.request(Method::PATCH, "/containers/www").json(&json!({"name": "web"})).send().await.unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.json::<Value>().await.unwrap()["name"], "web");

    // Pagination: limit=1 pages until an empty page.
    let second = json!({"name": "db", "image": "any/image:1"});
    assert_eq!(zun.request(Method::POST, "/containers").json(&second).send().await.unwrap().status(), StatusCode::ACCEPTED);
    let mut seen = Vec::new();
    let mut page = zun.json(Method::GET, "/containers?limit=1", StatusCode::OK).await;
    loop {
        let containers = page["containers"].as_array().unwrap().clone();
        assert!(containers.len() <= 1);
        seen.extend(containers.iter().map(|c| c["name"].as_str().unwrap().to_owned()));
        let Some(next) = page["next"].as_str() else { break };
        assert!(!containers.is_empty(), "a `next` after an empty page");
        let path = next.strip_prefix(&format!("{url}/container/v1")).unwrap().to_owned();
        page = zun.json(Method::GET, &path, StatusCode::OK).await;
    }
    assert_eq!(seen, ["web", "db"]);
    let running = zun.json(Method::GET, "/containers/?status=Running", StatusCode::OK).await;
    assert_eq!(running["containers"].as_array().unwrap().len(), 1);

    // Delete with stop: 204, then 404.
    let deleted = zun.request(Method::DELETE, "/containers/web?stop=True").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for _ in 0..150 {
        if zun.request(Method::GET, "/containers/web").send().await.unwrap().status() == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_zun_error(&zun.json(Method::GET, "/containers/web", StatusCode::NOT_FOUND).await, 404);

    // Hosts (admins only), images, services.
    let hosts = zun.json(Method::GET, "/hosts", StatusCode::OK).await;
    assert_eq!(hosts["hosts"][0]["hostname"], "sim-1");
    let admin = |method: Method, path: &str, body: Value| {
        zun.http.request(method, format!("{url}{path}")).header("x-auth-token", &zun.token).json(&body).send()
    };
    assert_eq!(admin(Method::POST, "/v1/projects", json!({"name": "team"})).await.unwrap().status(), StatusCode::CREATED);
    let mia = json!({"name": "mia", "password": "mia-pass-1234", "default_project": "team"});
    assert_eq!(admin(Method::POST, "/v1/users", mia).await.unwrap().status(), StatusCode::CREATED);
    let role = json!({"user": "mia", "project": "team", "role": "member"});
    assert_eq!(admin(Method::POST, "/v1/role_assignments", role).await.unwrap().status(), StatusCode::CREATED);
    let member = Zun::as_user(url, "mia", "mia-pass-1234", "team").await;
    assert_zun_error(&member.json(Method::GET, "/hosts", StatusCode::FORBIDDEN).await, 403);
    assert_eq!(
        member.json(Method::GET, "/containers", StatusCode::OK).await["containers"],
        json!([]),
        "another project's containers are not listed"
    );
    assert_eq!(zun.json(Method::GET, "/images", StatusCode::OK).await, json!({"images": [], "next": null}));
    assert!(zun.json(Method::GET, "/services", StatusCode::OK).await["services"].is_array());
}

#[test]
fn zun_answers_in_the_shapes_clients_expect() {
    let sandbox = Sandbox::new();
    let (server, _agent) = region_with_a_sim_host(&sandbox);
    tokio::runtime::Runtime::new().unwrap().block_on(replay(&server.url));
    assert_no_server_errors(&server.stderr());
}

#[test]
fn openstack_appcontainer_runs_a_container_on_a_sim_host() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let (server, _agent) = region_with_a_sim_host(&sandbox);
    let cloud = Cloud::admin(cli, &server.url, sandbox.path("home"));
    // `-f json` before the image: everything after it is the command.
    let web =
        cloud.ok(&["appcontainer", "run", "-f", "json", "--wait", "--name", "web", "--environment", "A=1", "any/image:1", "sleep", "1000"]);
    let web: Value = serde_json::from_str(&web).unwrap_or_else(|e| panic!("run printed no JSON ({e}): {web}"));
    assert_eq!((web["name"].as_str(), web["status"].as_str(), web["host"].as_str()), (Some("web"), Some("Running"), Some("sim-1")));
    let list = cloud.json(&["appcontainer", "list"]);
    let rows: Vec<(&str, &str)> =
        list.as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap())).collect();
    assert_eq!(rows, [("web", "Running")]);
    let shown = cloud.json(&["appcontainer", "show", "web"]);
    assert_eq!(shown["uuid"], web["uuid"]);
    assert_eq!(shown["environment"], json!({"A": "1"}));
    let logs = cloud.ok(&["appcontainer", "logs", "web"]);
    assert_ne!(logs.trim(), "None", "logs must be a JSON string");
    let exec = cloud.ok(&["appcontainer", "exec", "web", "echo", "hello", "zun"]);
    assert_eq!(exec.trim(), "hello zun");
    let (code, _, _) = cloud.run(&["appcontainer", "exec", "web", "false"]);
    assert_eq!(code, Some(1), "exec exits with the command's exit code");
    cloud.ok(&["appcontainer", "stop", "web"]);
    wait_until("web stops", Duration::from_secs(30), || cloud.json(&["appcontainer", "show", "web"])["status"] == "Stopped");
    cloud.ok(&["appcontainer", "start", "web"]);
    wait_until("web starts", Duration::from_secs(30), || cloud.json(&["appcontainer", "show", "web"])["status"] == "Running");
    let refused = cloud.ok(&["appcontainer", "delete", "web"]);
    assert!(refused.contains("failed"), "a running container is not deleted without --stop: {refused}");
    let deleted = cloud.ok(&["appcontainer", "delete", "--stop", "--wait", "web"]);
    assert!(deleted.contains("success"), "{deleted}");
    assert_eq!(cloud.json(&["appcontainer", "list"]), json!([]));
    assert_no_server_errors(&server.stderr());
}

#[test]
fn one_keystone_at_the_central_sends_each_region_its_own_commands() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let (central, east, west, _hosts) = east_and_west(&sandbox);

    // The central's catalog lists every region (and not the central, which runs no hosts).
    let mut cloud = Cloud::admin(cli, &central.url, sandbox.path("home"));
    let catalog = cloud.json(&["catalog", "list"]);
    for (service, suffix) in catalog.as_array().unwrap().iter().zip(["/clustering", "/container/v1"]) {
        let endpoints: Vec<(&str, &str)> =
            service["Endpoints"].as_array().unwrap().iter().map(|e| (e["region"].as_str().unwrap(), e["url"].as_str().unwrap())).collect();
        let expected = [("east", format!("{}{suffix}", east.url)), ("west", format!("{}{suffix}", west.url))];
        assert_eq!(endpoints, expected.iter().map(|(r, u)| (*r, u.as_str())).collect::<Vec<_>>(), "{service}");
    }

    // --os-region-name picks the region each command goes to.
    for (name, container) in [("east", "e1"), ("west", "w1")] {
        cloud.region = Some(name.into());
        let ran = cloud.ok(&["appcontainer", "run", "-f", "json", "--wait", "--name", container, "any/image:1"]);
        let ran: Value = serde_json::from_str(&ran).unwrap_or_else(|e| panic!("run printed no JSON ({e}): {ran}"));
        assert_eq!(ran["host"], format!("{name}-sim").as_str());
    }
    for (name, container) in [("east", "e1"), ("west", "w1")] {
        cloud.region = Some(name.into());
        let names: Vec<String> =
            cloud.json(&["appcontainer", "list"]).as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, [container], "region {name}");
        let (code, _, stderr) = cloud.run(&["appcontainer", "show", if name == "east" { "w1" } else { "e1" }]);
        assert_ne!(code, Some(0), "the other region's container is not here: {stderr}");
    }

    // At a region, logins belong to the central: Keystone answers what /v1 answers there.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refused = runtime.block_on(async {
        let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": ADMIN_PASSWORD, "domain": {"id": "default"}}}}}});
        let answer = reqwest::Client::new().post(format!("{}/identity/v3/auth/tokens", east.url)).json(&auth).send().await.unwrap();
        (answer.status(), answer.json::<Value>().await.unwrap())
    });
    assert_eq!(refused.0, StatusCode::MISDIRECTED_REQUEST);
    assert!(refused.1["error"]["message"].as_str().unwrap().contains(&central.url), "{}", refused.1);
    for server in [&central, &east, &west] {
        assert_no_server_errors(&server.stderr());
    }
}
