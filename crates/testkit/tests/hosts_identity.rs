//! Hosts' identity through the real server: a joined name needs its host's credential (or an
//! admin's replace token), agents re-join with the credential saved in their state directory, and
//! only admins see where agents listen.

use flotilla_agent::runtime::sim::{SimConfig, SimRuntime};
use flotilla_agent::{Agent, AgentConfig, AgentError};
use flotilla_api::{ContainerCreate, JoinTokenCreate, ListQuery};
use flotilla_core::Role;
use flotilla_core::profile::{ContainerProperties, RestartPolicy};
use flotilla_testkit::{SimHost, TestRegion, fast_timings, wait_for_container};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn agent_config(region: &TestRegion, token: Option<String>, name: &str, state_dir: Option<&Path>) -> AgentConfig {
    let mut config = AgentConfig::new(&region.url, String::new(), name);
    config.join_token = token;
    config.state_dir = state_dir.map(Path::to_owned);
    config.timings = fast_timings();
    config.timings.join_retry_for = Duration::from_secs(1);
    config
}

fn sim() -> Arc<SimRuntime> {
    Arc::new(SimRuntime::new(SimConfig::default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_token_cannot_take_a_live_hosts_name() {
    let region = TestRegion::sqlite().await;
    let real = region.sim_agent(SimHost::new("h1")).await;
    // Restarted by its host when it is gone: the replacing agent below starts on an empty runtime.
    let spec = ContainerProperties { image: "demo:1".into(), restart_policy: Some(RestartPolicy::Always), ..Default::default() };
    let body = ContainerCreate { name: "web".into(), spec, run: true, metadata: Default::default() };
    region.admin.create_container(&body).await.unwrap();
    wait_for_container(&region.admin, "web", "RUNNING").await;

    // A fresh join token under the live host's name: refused, and the host is left as it was.
    let token = region.join_token().await;
    let error = Agent::start(agent_config(&region, Some(token), "h1", None), sim()).await.unwrap_err();
    match error {
        AgentError::Refused { status: 409, message, .. } => assert!(message.contains("--replace h1"), "{message}"),
        other => panic!("expected a 409, got {other:?}"),
    }
    let host = region.admin.host("h1").await.unwrap();
    assert_eq!((host.id, host.state.as_str()), (real.host_id(), "UP"));
    let web = region.admin.container("web").await.unwrap();
    assert_eq!(web.host_id, Some(real.host_id()), "the container stays with the real host");

    // An admin's replace token puts a new agent in its place: same id, same containers.
    let replace = JoinTokenCreate { ttl_seconds: None, replace: Some("h1".into()) };
    let token = region.admin.create_join_token(&replace).await.unwrap();
    assert_eq!(token.replaces, Some(real.host_id()));
    let member = region.add_user("mia", "p1", Role::Member).await;
    let refused = member.create_join_token(&replace).await.unwrap_err();
    assert_eq!(refused.status(), Some(403));
    // The machine lost its agent: the old one is gone before the new one joins in its place.
    let real_id = real.host_id();
    real.shutdown().await;
    let successor = Agent::start(agent_config(&region, Some(token.token), "h1", None), sim()).await.unwrap();
    assert_eq!(successor.host_id(), real_id);
    wait_for_container(&region.admin, "web", "RUNNING").await;
    successor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_joins_again_with_its_saved_credential() {
    let region = TestRegion::sqlite().await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("agent");
    let short = region.join_token_valid_for(Duration::from_secs(1)).await;
    let first = Agent::start(agent_config(&region, Some(short.clone()), "h2", Some(&state_dir)), sim()).await.unwrap();
    let id = first.host_id();
    first.shutdown().await;

    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state_dir), 0o700);
    assert_eq!(mode(&state_dir.join("h2.json")), 0o600);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The join token has expired: without the saved credential there is no way back in...
    let error = Agent::start(agent_config(&region, Some(short.clone()), "h2", None), sim()).await.unwrap_err();
    assert!(matches!(error, AgentError::Refused { status: 401, .. }), "{error:?}");
    // ...with it, the agent is the same host again, with the expired token or none at all.
    let again = Agent::start(agent_config(&region, Some(short), "h2", Some(&state_dir)), sim()).await.unwrap();
    assert_eq!(again.host_id(), id);
    again.shutdown().await;
    let tokenless = Agent::start(agent_config(&region, None, "h2", Some(&state_dir)), sim()).await.unwrap();
    assert_eq!(tokenless.host_id(), id);
    assert_eq!(region.admin.host("h2").await.unwrap().state, "UP");
    tokenless.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_and_members_do_not_see_agents_urls() {
    let region = TestRegion::sqlite().await;
    let agent = region.sim_agent(SimHost::new("h3")).await;
    let admin_view = region.admin.host("h3").await.unwrap();
    assert_eq!(admin_view.advertise.as_deref(), Some(agent.advertise()));
    for role in [Role::Reader, Role::Member] {
        let user = region.add_user(&format!("u-{role}"), "p1", role).await;
        let one = user.host("h3").await.unwrap();
        let listed = user.list_hosts(None, &ListQuery::default()).await.unwrap();
        assert_eq!((one.advertise, listed.hosts[0].advertise.clone()), (None, None), "{role}");
        let raw = serde_json::to_string(&listed).unwrap();
        assert!(!raw.contains(agent.advertise()), "{role}: {raw}");
    }
    agent.shutdown().await;
}

/// Agents' credentials are believed once accepted (every agent call presents one), yet a join
/// that replaces a host's credential, or the host's delete, refuses the old one at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_or_deleted_hosts_credential_is_refused_at_once() {
    let region = TestRegion::sqlite().await;
    // Two machines' state directories: the first host's, and the one that takes its place.
    let (state, successor_state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let saved = |dir: &Path| {
        let file = std::fs::read_to_string(dir.join("h4.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&file).unwrap()["credential"].as_str().unwrap().to_owned()
    };
    let http = reqwest::Client::new();
    let status_with = |credential: String| {
        let request = http.get(format!("{}/v1/agent/assignments", region.url)).bearer_auth(credential);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let token = region.join_token().await;
    let first = Agent::start(agent_config(&region, Some(token), "h4", Some(state.path())), sim()).await.unwrap();
    let old = saved(state.path());
    assert_eq!(status_with(old.clone()).await, 200, "accepted, and now believed for a second");
    first.shutdown().await;

    let replace = JoinTokenCreate { ttl_seconds: None, replace: Some("h4".into()) };
    let token = region.admin.create_join_token(&replace).await.unwrap();
    let successor = Agent::start(agent_config(&region, Some(token.token), "h4", Some(successor_state.path())), sim()).await.unwrap();
    let new = saved(successor_state.path());
    assert_ne!(new, old, "the replacing join hands out a new credential");
    assert_eq!(status_with(old).await, 401, "the replaced credential, at once");
    assert_eq!(status_with(new.clone()).await, 200);
    successor.shutdown().await;

    region.admin.delete_host("h4").await.unwrap();
    assert_eq!(status_with(new).await, 401, "a deleted host's credential, at once");
}

/// A host deleted through another server sharing the database (here a store handle of its own)
/// has its agent's credential refused by this server within a few seconds, though this server
/// believed it and would for minutes: its revision follower sees the host gone and forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_revoked_by_another_server_is_refused_within_seconds() {
    let region = TestRegion::sqlite().await;
    let state = tempfile::tempdir().unwrap();
    let token = region.join_token().await;
    let agent = Agent::start(agent_config(&region, Some(token), "h6", Some(state.path())), sim()).await.unwrap();
    let file = std::fs::read_to_string(state.path().join("h6.json")).unwrap();
    let credential = serde_json::from_str::<serde_json::Value>(&file).unwrap()["credential"].as_str().unwrap().to_owned();
    agent.shutdown().await;
    let http = reqwest::Client::new();
    let status = || {
        let request = http.get(format!("{}/v1/agent/assignments", region.url)).bearer_auth(credential.clone());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status().await, 200, "accepted, and now believed");

    let elsewhere = flotilla_store::Store::connect(&region.database_url).await.unwrap();
    let host = region.admin.host("h6").await.unwrap();
    elsewhere.delete_host(flotilla_core::HostId(host.id)).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    // Until then the believed credential passes and the call finds no host (404).
    while status().await != 401 {
        assert!(std::time::Instant::now() < deadline, "the deleted host's credential is still believed after 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
