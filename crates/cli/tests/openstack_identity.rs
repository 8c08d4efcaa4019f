//! Keystone v3 at `/identity` on the real `flotilla server`: the wire shapes the OpenStack clients
//! rely on, replayed in Rust (status codes, headers, key sets, dates, errors), then the real
//! `openstack` CLI issuing a token and reading the catalog.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::openstack::{Cloud, assert_no_server_errors, cli};
use support::{ADMIN_PASSWORD, Sandbox, start_server_on};

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Keystone's date form: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn assert_keystone_date(date: &Value) {
    let text = date.as_str().unwrap_or_else(|| panic!("a date string: {date}"));
    let shape: String = text.chars().map(|c| if c.is_ascii_digit() { 'd' } else { c }).collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.ddddddZ", "{text}");
}

fn password_auth(user: Value, scope: Value) -> Value {
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}});
    if !scope.is_null() {
        body["auth"]["scope"] = scope;
    }
    body
}

fn admin_by_name() -> Value {
    json!({"name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": "Default"}})
}

fn project_admin() -> Value {
    json!({"project": {"name": "admin", "domain": {"id": "default"}}})
}

async fn issue(http: &reqwest::Client, url: &str, query: &str, body: &Value) -> reqwest::Response {
    http.post(format!("{url}/identity/v3/auth/tokens{query}")).json(body).send().await.unwrap()
}

async fn replay(url: &str) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // Discovery: 300 with versions.values and a Location; /v3 is 200; neither needs a token.
    let root = http.get(format!("{url}/identity")).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::MULTIPLE_CHOICES);
    assert_eq!(root.headers()["location"], format!("{url}/identity/v3/").as_str());
    let root: Value = root.json().await.unwrap();
    let version = &root["versions"]["values"][0];
    assert_eq!(keys(version), set(&["id", "status", "updated", "links", "media-types"]));
    assert_eq!(version["id"], "v3.14");
    assert_eq!(version["links"][0], json!({"rel": "self", "href": format!("{url}/identity/v3/")}));
    let v3 = http.get(format!("{url}/identity/v3")).send().await.unwrap();
    assert_eq!(v3.status(), StatusCode::OK);
    assert_eq!(v3.json::<Value>().await.unwrap()["version"], *version);

    // A project-scoped token: 201, X-Subject-Token, Keystone's body with a catalog.
    let issued = issue(&http, url, "", &password_auth(admin_by_name(), project_admin())).await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let secret = issued.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let token: Value = issued.json().await.unwrap();
    let token = &token["token"];
    assert_eq!(keys(token), set(&["methods", "expires_at", "issued_at", "audit_ids", "user", "project", "is_domain", "roles", "catalog"]));
    assert_keystone_date(&token["expires_at"]);
    assert_keystone_date(&token["issued_at"]);
    assert_eq!(token["user"]["name"], "admin");
    assert_eq!(token["user"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(token["project"]["name"], "admin");
    assert_eq!(token["project"]["domain"], json!({"id": "default", "name": "Default"}));
    assert_eq!(token["roles"], json!([{"id": "admin", "name": "admin"}]));
    let catalog = token["catalog"].as_array().unwrap();
    let types: Vec<&str> = catalog.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["clustering", "container"]);
    for (service, suffix) in catalog.iter().zip(["/clustering", "/container/v1"]) {
        let endpoints = service["endpoints"].as_array().unwrap();
        assert_eq!(endpoints.len(), 1, "one endpoint per region: {service}");
        assert_eq!(keys(&endpoints[0]), set(&["id", "interface", "region", "region_id", "url"]));
        assert_eq!(endpoints[0]["interface"], "public");
        assert_eq!(endpoints[0]["region"], "local");
        assert_eq!(endpoints[0]["region_id"], "local");
        assert_eq!(endpoints[0]["url"], format!("{url}{suffix}").as_str());
    }

    // The token is Flotilla's own: /v1 takes it.
    let own = http.get(format!("{url}/v1/auth/tokens")).header("x-auth-token", &secret).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.json::<Value>().await.unwrap()["project"]["name"], "admin");

    // ?nocatalog, an unscoped token, the user and project by id.
    let bare = issue(&http, url, "?nocatalog", &password_auth(admin_by_name(), project_admin())).await;
    assert_eq!(bare.status(), StatusCode::CREATED);
    assert!(!keys(&bare.json::<Value>().await.unwrap()["token"]).contains("catalog"));
    let unscoped = issue(&http, url, "", &password_auth(admin_by_name(), json!("unscoped"))).await;
    assert_eq!(unscoped.status(), StatusCode::CREATED);
    assert_eq!(keys(&unscoped.json::<Value>().await.unwrap()["token"]), set(&["methods", "expires_at", "issued_at", "audit_ids", "user"]));
    let by_id = json!({"id": token["user"]["id"], "password": ADMIN_PASSWORD});
    let scope_by_id = json!({"project": {"id": token["project"]["id"]}});
    assert_eq!(issue(&http, url, "", &password_auth(by_id, scope_by_id)).await.status(), StatusCode::CREATED);

    // Validation: GET and HEAD with X-Subject-Token.
    let shown = http
        .get(format!("{url}/identity/v3/auth/tokens"))
        .header("x-auth-token", &secret)
        .header("x-subject-token", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(shown.headers()["x-subject-token"], secret.as_str());
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(shown["token"]["user"], token["user"]);
    assert_eq!(shown["token"]["expires_at"], token["expires_at"]);
    let head =
        http.head(format!("{url}/identity/v3/auth/tokens")).header("x-auth-token", &secret).header("x-subject-token", &secret).send();
    assert_eq!(head.await.unwrap().status(), StatusCode::OK);

    // Errors: Keystone's body; a bad password or token is a 401, never a 403.
    let wrong = json!({"name": "admin", "password": "wrong-password", "domain": {"id": "default"}});
    let refused = issue(&http, url, "", &password_auth(wrong, project_admin())).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(keys(&body["error"]), set(&["code", "title", "message"]));
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["title"], "Unauthorized");
    let bad = http.get(format!("{url}/identity/v3/auth/tokens")).header("x-auth-token", "nope").header("x-subject-token", &secret);
    assert_eq!(bad.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let other_domain = json!({"name": "admin", "password": ADMIN_PASSWORD, "domain": {"name": "corp"}});
    let refused = issue(&http, url, "", &password_auth(other_domain, project_admin())).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let message = refused.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("auth.identity.password.user.domain: ") && message.contains("corp"), "{message}");
    let garbage = http.post(format!("{url}/identity/v3/auth/tokens")).body("{").send().await.unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json::<Value>().await.unwrap()["error"]["code"], 400);

    // Revocation: 204, then the token is gone (404 as a subject, 401 as a caller).
    let revoker = issue(&http, url, "?nocatalog", &password_auth(admin_by_name(), project_admin())).await;
    let revoker = revoker.headers()["x-subject-token"].to_str().unwrap().to_owned();
    let revoked =
        http.delete(format!("{url}/identity/v3/auth/tokens")).header("x-auth-token", &revoker).header("x-subject-token", &secret).send();
    assert_eq!(revoked.await.unwrap().status(), StatusCode::NO_CONTENT);
    let gone = http.get(format!("{url}/identity/v3/auth/tokens")).header("x-auth-token", &revoker).header("x-subject-token", &secret);
    assert_eq!(gone.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let stale = http.get(format!("{url}/identity/v3/auth/tokens")).header("x-auth-token", &secret).header("x-subject-token", &secret);
    assert_eq!(stale.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn keystone_answers_in_the_shapes_clients_expect() {
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    tokio::runtime::Runtime::new().unwrap().block_on(replay(&server.url));
    assert_no_server_errors(&server.stderr());
}

#[test]
fn the_openstack_cli_issues_a_token_and_reads_the_catalog() {
    let Some(cli) = cli() else {
        eprintln!("skipped: FLOTILLA_TEST_OPENSTACK is not set (scripts/test.sh installs the OpenStack clients)");
        return;
    };
    let sandbox = Sandbox::new();
    let server = start_server_on(&sandbox, None);
    let cloud = Cloud::admin(&sandbox, &server, cli);
    let token = cloud.json(&["token", "issue"]);
    assert_eq!(keys(&token), set(&["expires", "id", "project_id", "user_id"]));
    let catalog = cloud.json(&["catalog", "list"]);
    let services: Vec<(&str, &str)> =
        catalog.as_array().unwrap().iter().map(|s| (s["Name"].as_str().unwrap(), s["Type"].as_str().unwrap())).collect();
    assert_eq!(services, [("senlin", "clustering"), ("zun", "container")]);
    let endpoints = catalog[1]["Endpoints"].as_array().unwrap();
    assert_eq!(endpoints[0]["region"], "local");
    assert_eq!(endpoints[0]["url"], format!("{}/container/v1", server.url).as_str());
    assert_no_server_errors(&server.stderr());
}
