//! Scenario tests through the real HTTP API of an in-process region, on SQLite and PostgreSQL:
//! authentication, roles, project isolation, idempotency, input errors, API conventions.

use flotilla_api::{ListQuery, ProfileCreate, ProfileUpdate, TokenCreate, UserUpdate};
use flotilla_client::{Client, ClientError};
use flotilla_core::Role;
use flotilla_core::identity::TokenRecord;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use flotilla_testkit::{ADMIN_PASSWORD, Backend, TestRegion, USER_PASSWORD, login};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { let region = flotilla_testkit::TestRegion::sqlite().await; super::$case(&region).await; region.stop().await; })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(region) = flotilla_testkit::TestRegion::start(flotilla_testkit::Backend::Postgres).await {
                    super::$case(&region).await;
                    region.stop().await;
                }
            })*
        }
    };
}

on_both_backends!(
    wrong_credentials_are_401_without_saying_which,
    expired_and_revoked_tokens_are_401,
    a_revocation_reaches_another_server_within_the_auth_cache_ttl,
    readers_cannot_write,
    projects_are_isolated,
    idempotent_posts_replay,
    bad_bodies_are_rejected_clearly,
    lists_page_sort_filter_and_lookup_by_name,
    identity_is_admin_only_and_users_change_their_password,
    tokens_are_revoked_for_good_by_password_changes_disables_and_role_removals,
);

fn spec(image: &str) -> ProfileSpec {
    ProfileSpec {
        type_name: CONTAINER_DOCKER.into(),
        version: "1.0".into(),
        properties: ContainerProperties { image: image.into(), ..Default::default() },
    }
}

fn profile(name: &str) -> ProfileCreate {
    ProfileCreate { name: name.into(), spec: spec("busybox:latest"), metadata: Default::default() }
}

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> u16 {
    result.expect_err("the call must fail").status().expect("an HTTP answer")
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends raw JSON text with the client's token; returns status, headers and the JSON body.
async fn raw(
    region: &TestRegion,
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http().request(method, format!("{}{path}", region.url));
    if let Some(token) = client.token() {
        req = req.header("x-auth-token", token);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn wrong_credentials_are_401_without_saying_which(region: &TestRegion) {
    region.add_user("carol", "blue", Role::Member).await;
    let url = format!("{}/v1/auth/tokens", region.url);
    let mut messages = Vec::new();
    for (user, password) in [("carol", "not-her-password"), ("nobody", USER_PASSWORD), ("carol", "")] {
        let resp = http().post(&url).json(&json!({"user": user, "password": password})).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], 401);
        assert_eq!(body["error"]["title"], "Unauthorized");
        assert!(!body["error"]["request_id"].as_str().unwrap().is_empty());
        messages.push(body["error"]["message"].as_str().unwrap().to_owned());
    }
    assert!(messages.iter().all(|m| m == &messages[0]), "messages differ: {messages:?}");
    assert!(!messages[0].contains("password") && !messages[0].contains("user"), "{}", messages[0]);
    // No token, a garbage token: 401 too.
    assert_eq!(status(region.anonymous().current_token().await), 401);
    assert_eq!(status(region.anonymous().with_token("flt_nonsense").current_token().await), 401);
    // The right password works, with a default project.
    let carol = login(&region.url, "carol", USER_PASSWORD, None).await.unwrap();
    let me = carol.current_token().await.unwrap();
    assert_eq!((me.user.name.as_str(), me.project.name.as_str(), me.role), ("carol", "blue", Role::Member));
    // A project she has no role on: refused.
    assert_eq!(status(login(&region.url, "carol", USER_PASSWORD, Some("admin")).await), 401);
}

/// Each server keeps accepted tokens for `AUTH_CACHE_TTL`: a revocation at one server is
/// immediate there and refused at a second server on the same database once that time passed.
async fn a_revocation_reaches_another_server_within_the_auth_cache_ttl(region: &TestRegion) {
    let backend = if region.database_url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let other = TestRegion::start_with(backend, |c| c.database_url = region.database_url.clone()).await.unwrap();
    let cora = region.add_user("cora", "cached", Role::Member).await;
    let at_other = other.anonymous().with_token(cora.token().unwrap());
    assert_eq!(at_other.current_token().await.unwrap().user.name, "cora", "the other server accepts it (and keeps it)");
    cora.revoke_token().await.unwrap();
    assert_eq!(status(cora.current_token().await), 401, "refused at once where it was revoked");
    tokio::time::sleep(flotilla_server::AUTH_CACHE_TTL + std::time::Duration::from_millis(100)).await;
    assert_eq!(status(at_other.current_token().await), 401, "refused at the other server after the cache's second");
    other.stop().await;
}

async fn expired_and_revoked_tokens_are_401(region: &TestRegion) {
    let dave = region.add_user("dave", "green", Role::Member).await;
    dave.current_token().await.unwrap();
    dave.revoke_token().await.unwrap();
    assert_eq!(status(dave.current_token().await), 401);
    assert_eq!(status(dave.list_profiles(None, &ListQuery::default()).await), 401);

    // A token that expired a second ago, planted in the store.
    let me = region.admin.current_token().await.unwrap();
    let secret = "flt_expired-token-for-test";
    let now = flotilla_core::now();
    let record = TokenRecord {
        id: flotilla_core::TokenId::new(),
        secret_hash: hex::encode(Sha256::digest(secret.as_bytes())),
        user_id: flotilla_core::UserId(me.user.id),
        project_id: flotilla_core::ProjectId(me.project.id),
        created_at: now - chrono::Duration::hours(2),
        expires_at: now - chrono::Duration::seconds(1),
        revoked: false,
    };
    let store = region.store().await;
    store.create_token(&record).await.unwrap();
    let expired = region.anonymous().with_token(secret);
    assert_eq!(status(expired.current_token().await), 401);
    // The same record, not yet expired, works: the 401 above was the expiry.
    let live = TokenRecord {
        id: flotilla_core::TokenId::new(),
        secret_hash: hex::encode(Sha256::digest(b"flt_live")),
        expires_at: now + chrono::Duration::hours(1),
        ..record
    };
    store.create_token(&live).await.unwrap();
    assert_eq!(region.anonymous().with_token("flt_live").current_token().await.unwrap().user.name, "admin");
    // Expiry out of range is refused naming the field.
    let body = TokenCreate { user: "admin".into(), password: ADMIN_PASSWORD.into(), project: None, expires_in: Some(5) };
    let err = region.anonymous().create_token(&body).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("expires_in"), "{err}");
}

async fn readers_cannot_write(region: &TestRegion) {
    let member = region.add_user("mia", "shared", Role::Member).await;
    let reader = region.add_user("rex", "shared", Role::Reader).await;
    member.create_profile(&profile("web")).await.unwrap();
    assert_eq!(status(reader.create_profile(&profile("web2")).await), 403);
    assert_eq!(status(reader.update_profile("web", &ProfileUpdate { name: Some("x".into()), metadata: None }).await), 403);
    assert_eq!(status(reader.delete_profile("web").await), 403);
    // Reading works, and the failed writes changed nothing.
    let listed = reader.list_profiles(None, &ListQuery::default()).await.unwrap();
    assert_eq!(listed.profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["web"]);
    let (code, _, body) =
        raw(region, &reader, reqwest::Method::POST, "/v1/profiles", Some(json!({"name": "w", "spec": spec("x")}).to_string()), &[]).await;
    assert_eq!(code, 403);
    assert!(body["error"]["message"].as_str().unwrap().contains("read-only"), "{body}");
}

async fn projects_are_isolated(region: &TestRegion) {
    let alice = region.add_user("alice", "team-a", Role::Member).await;
    let bob = region.add_user("bob", "team-b", Role::Member).await;
    let a_web = alice.create_profile(&profile("web")).await.unwrap();
    let b_web = bob.create_profile(&profile("web")).await.unwrap();
    let id_b = b_web.id.to_string();
    // Alice sees only her project's objects.
    let listed = alice.list_profiles(None, &ListQuery::default()).await.unwrap();
    assert_eq!(listed.profiles.iter().map(|p| p.id).collect::<Vec<_>>(), [a_web.id]);
    assert_eq!(alice.profile("web").await.unwrap().id, a_web.id);
    // Bob's by id: as if it did not exist, for reading and for writing.
    assert_eq!(status(alice.profile(&id_b).await), 404);
    assert_eq!(status(alice.update_profile(&id_b, &ProfileUpdate { name: Some("stolen".into()), metadata: None }).await), 404);
    assert_eq!(status(alice.delete_profile(&id_b).await), 404);
    assert_eq!(bob.profile(&id_b).await.unwrap().name, "web");
    // Crossing projects is for admins only.
    let all = ListQuery { all_projects: Some(true), ..Default::default() };
    assert_eq!(status(alice.list_profiles(None, &all).await), 403);
    assert_eq!(region.admin.list_profiles(None, &all).await.unwrap().profiles.len(), 2);
    assert!(region.admin.list_profiles(None, &ListQuery::default()).await.unwrap().profiles.is_empty());
    // Identity objects are scoped too.
    let projects = alice.list_projects(&ListQuery::default()).await.unwrap();
    assert_eq!(projects.projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["team-a"]);
    assert_eq!(status(alice.project("team-b").await), 404);
    let users = alice.list_users(&ListQuery::default()).await.unwrap();
    assert_eq!(users.users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["alice"]);
    assert_eq!(status(alice.user("bob").await), 404);
    let roles = alice.list_role_assignments(None, None, &ListQuery::default()).await.unwrap();
    assert!(roles.role_assignments.iter().all(|r| r.project.name == "team-a"));
    assert_eq!(status(alice.list_role_assignments(None, Some("team-b"), &ListQuery::default()).await), 403);
}

async fn idempotent_posts_replay(region: &TestRegion) {
    let erin = region.add_user("erin", "idem", Role::Member).await;
    let keyed = erin.with_idempotency_key("create-web-1");
    let first = keyed.create_profile(&profile("web")).await.unwrap();
    let again = keyed.create_profile(&profile("web")).await.unwrap();
    assert_eq!(first.id, again.id, "the retry must replay the first answer");
    assert_eq!(erin.list_profiles(None, &ListQuery::default()).await.unwrap().profiles.len(), 1);
    // The raw answer says it was replayed, with the original status.
    let body = serde_json::to_string(&profile("web")).unwrap();
    let (code, headers, value) =
        raw(region, &erin, reqwest::Method::POST, "/v1/profiles", Some(body), &[("idempotency-key", "create-web-1")]).await;
    assert_eq!(code, 201);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(value["id"], json!(first.id));
    // The same key for another request: 422. Without a key a repeat is a plain conflict.
    assert_eq!(status(keyed.create_profile(&profile("other")).await), 422);
    assert_eq!(status(erin.create_profile(&profile("web")).await), 409);
    // Keys are per user: another user's same key runs afresh.
    let fred = region.add_user("fred", "idem", Role::Member).await;
    let theirs = fred.with_idempotency_key("create-web-1").create_profile(&profile("web-f")).await.unwrap();
    assert_ne!(theirs.id, first.id);
    // A failed request (400) is remembered too, and replays the same error.
    let bad = ProfileCreate { name: "bad name!".into(), spec: spec("x"), metadata: Default::default() };
    let k2 = erin.with_idempotency_key("bad-1");
    assert_eq!(status(k2.create_profile(&bad).await), 400);
    assert_eq!(status(k2.create_profile(&bad).await), 400);
}

async fn bad_bodies_are_rejected_clearly(region: &TestRegion) {
    let admin = &region.admin;
    let post = |body: String| raw(region, admin, reqwest::Method::POST, "/v1/profiles", Some(body), &[]);
    let (code, _, body) = post("{\"name\": \"web\", ".into()).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("malformed JSON"), "{body}");
    let (code, _, body) = post(json!({"name": "web", "spec": spec("x"), "colour": "red"}).to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("colour"), "{body}");
    let mut with_bad_cpu = json!({"name": "web", "spec": spec("x")});
    with_bad_cpu["spec"]["properties"]["cpu"] = json!("lots");
    let (code, _, body) = post(with_bad_cpu.to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("spec.properties.cpu"), "{body}");
    let mut zero_cpu = json!({"name": "web", "spec": spec("x")});
    zero_cpu["spec"]["properties"]["cpu"] = json!(0);
    let (code, _, body) = post(zero_cpu.to_string()).await;
    assert_eq!(code, 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("spec.properties.cpu") && message.contains('0'), "{message}");
    let (code, _, body) = post(json!({"spec": spec("x")}).to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("missing field `name`"), "{body}");
    let (code, _, body) = post(json!({"name": "has space", "spec": spec("x")}).to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("has space"), "{body}");
    let huge = json!({"name": "web", "spec": spec(&"x".repeat(2 * 1024 * 1024))}).to_string();
    let (code, _, body) = post(huge).await;
    assert_eq!(code, 413);
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");
    let (code, _, _) = raw(region, admin, reqwest::Method::POST, "/v1/profiles", None, &[("content-type", "text/plain")]).await;
    assert_eq!(code, 415);
    let (code, _, body) = raw(region, admin, reqwest::Method::GET, "/v1/profiles?limit=zero", None, &[]).await;
    assert_eq!(code, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");
    // Nothing was created by any of it.
    assert!(admin.list_profiles(None, &ListQuery::default()).await.unwrap().profiles.is_empty());
}

async fn lists_page_sort_filter_and_lookup_by_name(region: &TestRegion) {
    let gus = region.add_user("gus", "paging", Role::Member).await;
    for n in ["p3", "p1", "p5", "p2", "p4"] {
        gus.create_profile(&profile(n)).await.unwrap();
    }
    let mut query = ListQuery { limit: Some(2), sort: Some("name:desc".into()), ..Default::default() };
    let mut names = Vec::new();
    loop {
        let page = gus.list_profiles(None, &query).await.unwrap();
        assert!(page.profiles.len() <= 2);
        names.extend(page.profiles.into_iter().map(|p| p.name));
        match page.next {
            Some(next) => query.marker = Some(next),
            None => break,
        }
    }
    assert_eq!(names, ["p5", "p4", "p3", "p2", "p1"]);
    let only = gus.list_profiles(None, &ListQuery { name: Some("p2".into()), ..Default::default() }).await.unwrap();
    assert_eq!(only.profiles.len(), 1);
    assert_eq!(gus.list_profiles(Some(CONTAINER_DOCKER), &ListQuery::default()).await.unwrap().profiles.len(), 5);
    assert!(gus.list_profiles(Some("vm.nova"), &ListQuery::default()).await.unwrap().profiles.is_empty());
    assert_eq!(status(gus.list_profiles(None, &ListQuery { sort: Some("size".into()), ..Default::default() }).await), 400);
    assert_eq!(
        status(gus.list_profiles(None, &ListQuery { marker: Some(uuid::Uuid::now_v7().to_string()), ..Default::default() }).await),
        400
    );
    // By id or by name; a name held in two projects is ambiguous for an admin looking across.
    let p1 = gus.profile("p1").await.unwrap();
    assert_eq!(gus.profile(&p1.id.to_string()).await.unwrap().name, "p1");
    let hal = region.add_user("hal", "paging-2", Role::Member).await;
    hal.create_profile(&profile("p1")).await.unwrap();
    let (code, _, body) = raw(region, &region.admin, reqwest::Method::GET, "/v1/profiles/p1?all_projects=true", None, &[]).await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("use the id"), "{body}");
}

async fn identity_is_admin_only_and_users_change_their_password(region: &TestRegion) {
    let ivy = region.add_user("ivy", "ops", Role::Member).await;
    let body = ProfileCreate { name: "x".into(), spec: spec("x"), metadata: Default::default() };
    ivy.create_profile(&body).await.unwrap();
    let project =
        flotilla_api::ProjectCreate { name: "mine".into(), description: String::new(), enabled: None, metadata: Default::default() };
    assert_eq!(status(ivy.create_project(&project).await), 403);
    assert_eq!(status(ivy.delete_user("admin").await), 403);
    let promote = flotilla_api::RoleAssignmentCreate { user: "ivy".into(), project: "ops".into(), role: Role::Admin };
    assert_eq!(status(ivy.assign_role(&promote).await), 403);
    assert_eq!(status(ivy.update_user("ivy", &UserUpdate { enabled: Some(false), ..Default::default() }).await), 403);
    // Her own password she may change; the old one stops working.
    let new_password = UserUpdate { password: Some("a-new-password".into()), ..Default::default() };
    ivy.update_user("ivy", &new_password).await.unwrap();
    assert_eq!(status(login(&region.url, "ivy", USER_PASSWORD, None).await), 401);
    login(&region.url, "ivy", "a-new-password", None).await.unwrap();
    // Admin: duplicate names 409, short password 400 naming the field, unknown project 400.
    let dup = flotilla_api::UserCreate {
        name: "ivy".into(),
        password: "long-enough".into(),
        email: None,
        enabled: None,
        default_project: None,
        metadata: Default::default(),
    };
    assert_eq!(status(region.admin.create_user(&dup).await), 409);
    let short = flotilla_api::UserCreate { name: "jo".into(), password: "short".into(), ..dup.clone() };
    let err = region.admin.create_user(&short).await.unwrap_err();
    assert!(err.status() == Some(400) && err.to_string().contains("password"), "{err}");
    assert!(!err.to_string().contains("short"), "the password must not be echoed: {err}");
    let lost = flotilla_api::UserCreate { name: "jo".into(), default_project: Some("nowhere".into()), ..dup };
    let err = region.admin.create_user(&lost).await.unwrap_err();
    assert!(err.status() == Some(400) && err.to_string().contains("default_project"), "{err}");
    // A disabled user cannot log in; a project with objects cannot be deleted.
    region.admin.update_user("ivy", &UserUpdate { enabled: Some(false), ..Default::default() }).await.unwrap();
    assert_eq!(status(login(&region.url, "ivy", "a-new-password", None).await), 401);
    assert_eq!(status(region.admin.delete_project("ops").await), 409);
}

async fn tokens_are_revoked_for_good_by_password_changes_disables_and_role_removals(region: &TestRegion) {
    let tom = region.add_user("tom", "rev", Role::Member).await;
    let other_session = login(&region.url, "tom", USER_PASSWORD, None).await.unwrap();
    // His own password change keeps the token he made it with and signs the other one out.
    tom.update_user("tom", &UserUpdate { password: Some("tom-second-pw".into()), ..Default::default() }).await.unwrap();
    tom.current_token().await.unwrap();
    assert_eq!(status(other_session.current_token().await), 401);
    // An admin's change of his password revokes all of them.
    region.admin.update_user("tom", &UserUpdate { password: Some("tom-third-pw".into()), ..Default::default() }).await.unwrap();
    assert_eq!(status(tom.current_token().await), 401);
    // Disabled, then enabled again: the token of before stays dead; a new login works.
    let before = login(&region.url, "tom", "tom-third-pw", None).await.unwrap();
    before.current_token().await.unwrap();
    region.admin.update_user("tom", &UserUpdate { enabled: Some(false), ..Default::default() }).await.unwrap();
    assert_eq!(status(before.current_token().await), 401);
    region.admin.update_user("tom", &UserUpdate { enabled: Some(true), ..Default::default() }).await.unwrap();
    assert_eq!(status(before.current_token().await), 401);
    let after = login(&region.url, "tom", "tom-third-pw", None).await.unwrap();
    after.current_token().await.unwrap();
    // His role removed, then given again: the token of before stays dead.
    let roles = region.admin.list_role_assignments(Some("tom"), Some("rev"), &ListQuery::default()).await.unwrap();
    let [assignment] = roles.role_assignments.as_slice() else { panic!("one assignment: {roles:?}") };
    region.admin.delete_role_assignment(&assignment.id.to_string()).await.unwrap();
    assert_eq!(status(after.current_token().await), 401);
    let again = flotilla_api::RoleAssignmentCreate { user: "tom".into(), project: "rev".into(), role: Role::Member };
    region.admin.assign_role(&again).await.unwrap();
    assert_eq!(status(after.current_token().await), 401);
    let last = login(&region.url, "tom", "tom-third-pw", None).await.unwrap();
    last.current_token().await.unwrap();
    // His project disabled, then enabled again: the same.
    let off = flotilla_api::ProjectUpdate { enabled: Some(false), ..Default::default() };
    region.admin.update_project("rev", &off).await.unwrap();
    region.admin.update_project("rev", &flotilla_api::ProjectUpdate { enabled: Some(true), ..Default::default() }).await.unwrap();
    assert_eq!(status(last.current_token().await), 401);
    login(&region.url, "tom", "tom-third-pw", None).await.unwrap().current_token().await.unwrap();
    // Other users' tokens were never touched.
    region.admin.current_token().await.unwrap();
}

#[tokio::test]
async fn meta_endpoints_openapi_metrics_and_request_ids() {
    let region = TestRegion::start(Backend::Sqlite).await.unwrap();
    let version = region.anonymous().version().await.unwrap();
    assert_eq!((version.api_version.as_str(), version.region.as_str()), ("v1", "test"));
    let health: Value = http().get(format!("{}/healthz", region.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let doc: Value = http().get(format!("{}/v1/openapi.json", region.url)).send().await.unwrap().json().await.unwrap();
    for path in [
        "/v1/auth/tokens",
        "/v1/users",
        "/v1/users/{user}",
        "/v1/projects",
        "/v1/role_assignments",
        "/v1/profiles",
        "/v1/profiles/validate",
    ] {
        assert!(doc["paths"][path].is_object(), "openapi lacks {path}");
    }
    let page = http().get(format!("{}/v1/docs/", region.url)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("swagger"), "the API page is served offline");
    // A caller's request id is kept and shows in the error body; a missing one is made.
    let (code, headers, body) =
        raw(&region, &region.admin, reqwest::Method::GET, "/v1/profiles/nope", None, &[("x-request-id", "trace-me-42")]).await;
    assert_eq!(code, 404);
    assert_eq!(headers["x-request-id"], "trace-me-42");
    assert_eq!(body["error"]["request_id"], "trace-me-42");
    let (code, headers, body) = raw(&region, &region.admin, reqwest::Method::GET, "/v1/nowhere", None, &[]).await;
    assert_eq!(code, 404);
    assert_eq!(body["error"]["request_id"].as_str().unwrap(), headers["x-request-id"].to_str().unwrap());
    let metrics = http().get(format!("{}/metrics", region.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"flotilla_http_requests_total{method="GET",route="/v1/profiles/{profile}",status="404"} 1"#), "{metrics}");
    assert!(metrics.contains("flotilla_http_request_duration_seconds_bucket"), "{metrics}");
    region.stop().await;
}

/// A client connecting from the loopback address `127.0.0.{last}`.
fn from_address(last: u8) -> reqwest::Client {
    reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, last])).build().unwrap()
}

/// Logs `user` in with `password` through `http`; the status and the `Retry-After` header.
async fn try_login(region: &TestRegion, http: &reqwest::Client, user: &str, password: &str) -> (u16, Option<u64>) {
    let resp = http.post(format!("{}/v1/auth/tokens", region.url)).json(&json!({"user": user, "password": password})).send().await.unwrap();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (resp.status().as_u16(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_throttled_per_user_and_per_address() {
    let region = TestRegion::sqlite().await;
    // Both log in once from 127.0.0.1.
    region.add_user("lim", "throttled", Role::Member).await;
    region.add_user("other", "throttled", Role::Member).await;
    let (attacker, stranger, home) = (from_address(2), from_address(3), from_address(1));
    for _ in 0..10 {
        assert_eq!(try_login(&region, &attacker, "lim", "wrong-password").await, (401, None));
    }
    // The eleventh try is refused before any password is checked, the right one too.
    let (code, retry) = try_login(&region, &attacker, "lim", USER_PASSWORD).await;
    assert_eq!(code, 429);
    assert!(retry.is_some_and(|s| (1..=6).contains(&s)), "Retry-After: {retry:?}");
    // The address is spent for every user; lim is spent from addresses he never logged in from...
    assert_eq!(try_login(&region, &attacker, "other", USER_PASSWORD).await.0, 429);
    assert_eq!(try_login(&region, &stranger, "lim", USER_PASSWORD).await.0, 429);
    // ...but not from where he logged in before: strangers' failures do not lock him out.
    assert_eq!(try_login(&region, &home, "lim", USER_PASSWORD).await.0, 201);
    // Another user from another address is untouched; successes spend nothing.
    for _ in 0..20 {
        assert_eq!(try_login(&region, &stranger, "other", USER_PASSWORD).await.0, 201);
    }
    // Unknown names are throttled like users (by the name given), with the same 401 until then.
    let prowler = from_address(4);
    for i in 0..10 {
        assert_eq!(try_login(&region, &prowler, &format!("ghost-{i}"), "whatever-pw").await.0, 401);
    }
    assert_eq!(try_login(&region, &prowler, "ghost-new", "whatever-pw").await.0, 429);
    region.stop().await;
}

/// Every byte the region's SQLite database holds (the file and its write-ahead log).
fn database_bytes(region: &TestRegion) -> Vec<u8> {
    let path = region.database_url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    bytes
}

/// Posts `body` to `path` as the admin with an `Idempotency-Key`.
async fn keyed_post(region: &TestRegion, path: &str, body: &Value, key: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    raw(region, &region.admin, reqwest::Method::POST, path, Some(body.to_string()), &[("idempotency-key", key)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_replays_location_and_keeps_no_secret() {
    let region = TestRegion::sqlite().await;
    region.admin.create_profile(&profile("web")).await.unwrap();
    // A replayed 202 keeps its Location.
    let cluster = json!({"name": "web", "profile": "web", "desired_capacity": 0});
    let (code, first, _) = keyed_post(&region, "/v1/clusters", &cluster, "cluster-1").await;
    assert_eq!(code, 202);
    let location = first["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/v1/actions/"), "{location}");
    let (code, again, _) = keyed_post(&region, "/v1/clusters", &cluster, "cluster-1").await;
    assert_eq!((code, again["idempotent-replayed"].to_str().unwrap()), (202, "true"));
    assert_eq!(again["location"].to_str().unwrap(), location);
    // Answers carrying a secret are shown once: a retry is a 409 saying so, never the secret.
    let receiver = json!({"name": "grow", "cluster": "web", "action": "scale_out"});
    let (code, headers, body) = keyed_post(&region, "/v1/receivers", &receiver, "receiver-1").await;
    assert_eq!(code, 201, "{body}");
    let url = body["url"].as_str().unwrap().to_owned();
    let webhook_secret = url.rsplit('/').next().unwrap().to_owned();
    let made = headers["location"].to_str().unwrap().to_owned();
    assert_eq!(made, format!("/v1/receivers/{}", body["id"].as_str().unwrap()));
    let (code, _, body) = keyed_post(&region, "/v1/receivers", &receiver, "receiver-1").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert_eq!(code, 409, "{body}");
    assert!(message.contains("shown only once") && message.contains(&made) && !message.contains(&webhook_secret), "{message}");
    let (code, _, body) = keyed_post(&region, "/v1/hosts/join-tokens", &json!({}), "join-1").await;
    assert_eq!(code, 201);
    let join_token = body["token"].as_str().unwrap().to_owned();
    let (code, _, body) = keyed_post(&region, "/v1/hosts/join-tokens", &json!({}), "join-1").await;
    assert_eq!(code, 409, "{body}");
    assert!(!body.to_string().contains(&join_token));
    // Neither secret is anywhere in the database (they are kept as digests only).
    let bytes = database_bytes(&region);
    for secret in [&webhook_secret, &join_token] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} is stored in clear");
    }
    region.stop().await;
}
