//! Scenario tests of the event log through the real HTTP API with a simulated host: what container
//! and host operations record, who sees which events, the server-sent stream, on both backends.

use flotilla_api::{ContainerCreate, DeleteQuery, Event, EventFilter, EventStreamQuery, ListQuery, StopQuery};
use flotilla_client::{Client, EventStream};
use flotilla_core::Role;
use flotilla_core::profile::ContainerProperties;
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_for_container, wait_until};
use futures::StreamExt;
use std::time::Duration;

fn create(name: &str, memory: u64) -> ContainerCreate {
    let spec = ContainerProperties { image: "flotilla/workload:latest".into(), cpu: Some(0.5), memory: Some(memory), ..Default::default() };
    ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }
}

async fn events(client: &Client, filter: EventFilter) -> Vec<Event> {
    client.list_events(&ListQuery::default(), &filter).await.expect("list events").events
}

async fn all_events(admin: &Client, filter: EventFilter) -> Vec<Event> {
    let query = ListQuery { all_projects: Some(true), ..ListQuery::default() };
    admin.list_events(&query, &filter).await.expect("list all events").events
}

fn about(object: &str) -> EventFilter {
    EventFilter { object: Some(object.into()), ..EventFilter::default() }
}

/// `(action, status)` of each event.
fn steps(events: &[Event]) -> Vec<(&str, &str)> {
    events.iter().map(|e| (e.action.as_str(), e.status.as_str())).collect()
}

async fn next_event(stream: &mut EventStream) -> Event {
    let next = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
    next.expect("an event within 10 s").expect("the stream is open").expect("a well-formed event")
}

async fn events_record_who_did_what(backend: Backend) {
    let grace = Duration::from_secs(2);
    let Some(region) = TestRegion::start_with(backend, |c| c.grace_period = grace).await else { return };
    let agent = region.sim_agent(SimHost::new("h")).await;
    let (admin, team) = (&region.admin, region.add_user("eve", "team", Role::Member).await);
    let other = region.add_user("oscar", "other", Role::Member).await;
    let doc: serde_json::Value = reqwest::get(format!("{}/v1/openapi.json", region.url)).await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/v1/events"]["get"]["parameters"].is_array(), "the list is documented");
    assert!(doc["paths"]["/v1/events/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"].is_object(), "and the stream");
    let mut stream = team.stream_events(&EventFilter::default(), &EventStreamQuery::default()).await.expect("open the stream");

    team.create_container(&create("web", 128)).await.expect("run");
    wait_for_container(&team, "web", "RUNNING").await;
    team.stop_container("web", &StopQuery { timeout: Some(1) }).await.expect("stop");
    wait_for_container(&team, "web", "STOPPED").await;
    team.start_container("web").await.expect("start");
    wait_for_container(&team, "web", "RUNNING").await;
    team.delete_container("web", &DeleteQuery { stop: Some(true), force: None }).await.expect("delete");
    wait_until("web is gone", || async { team.container("web").await.is_err() }).await;
    other.create_container(&create("theirs", 128)).await.expect("run");

    // The stream, opened before, delivers what happened after.
    // (The project's default network, made with its first container, has its own event.)
    let mut first = next_event(&mut stream).await;
    while first.object_type == "network" {
        first = next_event(&mut stream).await;
    }
    assert_eq!((first.action.as_str(), first.object_name.as_str(), first.status.as_str()), ("CONTAINER_CREATE", "web", "START"));
    assert_eq!(first.reason, "placed on host h");

    let web = events(&team, about("web")).await;
    let expected = [
        ("CONTAINER_CREATE", "START"),
        ("CONTAINER_STOP", "START"),
        ("CONTAINER_START", "END"),
        ("CONTAINER_DELETE", "START"),
        ("CONTAINER_DELETE", "END"),
    ];
    assert_eq!(steps(&web), expected, "in time order");
    assert!(web.windows(2).all(|w| w[0].id < w[1].id && w[0].timestamp <= w[1].timestamp));
    assert_eq!(web[0].user_id, Some(team.current_token().await.expect("who am I").user.id));
    assert_eq!(web[4].user_id, None, "the removal is seen by Flotilla, not asked for");
    assert_eq!(next_event(&mut stream).await.id, web[1].id, "the stream goes on in order");
    let resumed = EventStreamQuery { after: Some(web[2].id.to_string()), all_projects: None };
    let mut replay = team.stream_events(&EventFilter::default(), &resumed).await.expect("resume after an id");
    assert_eq!(next_event(&mut replay).await.id, web[3].id);

    // Members see their project's events only: not another project's, not the region's hosts.
    let containers = || EventFilter { object_type: Some("container".into()), ..Default::default() };
    let mine = events(&team, containers()).await;
    assert!(mine.iter().all(|e| e.object_name == "web"), "{:?}", steps(&mine));
    let audit: Vec<Event> = events(&team, EventFilter::default()).await.into_iter().filter(|e| e.object_type != "container").collect();
    let audited = [("PROJECT_CREATE", "END"), ("ROLE_ASSIGN", "END"), ("NETWORK_CREATE", "END")];
    assert_eq!(steps(&audit), audited, "the project's own changes: made, eve's role, its default network");
    assert!(events(&team, EventFilter { object_type: Some("host".into()), ..Default::default() }).await.is_empty());
    assert_eq!(steps(&events(&other, containers()).await), [("CONTAINER_CREATE", "START")]);
    let refused = team.list_events(&ListQuery { all_projects: Some(true), ..ListQuery::default() }, &EventFilter::default()).await;
    assert_eq!(refused.expect_err("members cannot list all projects").status(), Some(403));
    let joined = all_events(admin, EventFilter { object_type: Some("host".into()), ..Default::default() }).await;
    assert_eq!((joined[0].action.as_str(), joined[0].project_id, joined[0].reason.as_str()), ("HOST_JOIN", None, "joined"));
    assert_eq!(all_events(admin, about("theirs")).await.len(), 1, "admins listing all projects see every project");

    // A create nothing fits is an ERROR naming why.
    let huge = team.create_container(&create("huge", 1 << 24)).await.expect("accepted, then ERROR");
    assert_eq!(huge.status, "ERROR");
    let errors = events(&team, EventFilter { level: Some("error".into()), ..Default::default() }).await;
    assert_eq!(steps(&errors), [("CONTAINER_CREATE", "FAILED")]);
    assert!(errors[0].reason.contains("no host fits") && errors[0].reason.contains("insufficient memory"), "{}", errors[0].reason);
    let filter = EventFilter { action: Some("container_create".into()), level: Some("INFO".into()), ..Default::default() };
    assert_eq!(events(&team, filter).await.len(), 1);
    let bad = [
        (EventFilter { object_type: Some("ship".into()), ..Default::default() }, "object_type"),
        (EventFilter { action: Some("CONTAINER_FLY".into()), ..Default::default() }, "action"),
        (EventFilter { level: Some("LOUD".into()), ..Default::default() }, "level"),
    ];
    for (filter, field) in bad {
        let error = team.list_events(&ListQuery::default(), &filter).await.expect_err("a bad filter");
        assert!(error.status() == Some(400) && error.to_string().contains(field), "{error}");
    }

    // A silent host: DOWN for admins, its containers UNKNOWN for their owners; back UP on return.
    team.create_container(&create("kept", 128)).await.expect("run");
    wait_for_container(&team, "kept", "RUNNING").await;
    agent.shutdown().await;
    wait_until("the host is DOWN", || async { admin.host("h").await.is_ok_and(|h| h.state == "DOWN") }).await;
    // The events are written just after the host's state: wait for them, not for the state.
    let status_changes = || EventFilter { action: Some("CONTAINER_STATUS".into()), ..Default::default() };
    wait_until("the UNKNOWN event", || async { !events(&team, status_changes()).await.is_empty() }).await;
    let unknown = events(&team, status_changes()).await;
    assert_eq!((unknown[0].object_name.as_str(), unknown[0].status.as_str(), unknown[0].level.as_str()), ("kept", "UNKNOWN", "WARNING"));
    assert!(unknown[0].reason.contains("host h is DOWN"), "{}", unknown[0].reason);
    let down = all_events(admin, EventFilter { action: Some("HOST_DOWN".into()), ..Default::default() }).await;
    assert_eq!((down.len(), down[0].metadata["containers_unknown"].as_str()), (1, "2"), "kept, and the other project's");
    let agent = region.sim_agent(SimHost::new("h")).await;
    wait_until("the host is UP", || async { admin.host("h").await.is_ok_and(|h| h.state == "UP") }).await;
    let hosts = all_events(admin, about("h")).await;
    assert_eq!(steps(&hosts), [("HOST_JOIN", "UP"), ("HOST_DOWN", "DOWN"), ("HOST_JOIN", "UP")]);
    assert_eq!(hosts[2].reason, "joined again");
    // Declared DOWN while its agent still beats (a partition that healed): its next heartbeat brings it back.
    let silent_since = flotilla_core::now() + chrono::Duration::hours(1);
    assert_eq!(region.store().await.mark_silent_hosts_down(silent_since).await.expect("declared DOWN").len(), 1);
    let host_up = || EventFilter { action: Some("HOST_UP".into()), ..Default::default() };
    wait_until("a heartbeat brings h back", || async { !all_events(admin, host_up()).await.is_empty() }).await;
    assert_eq!(admin.host("h").await.expect("h").state, "UP");
    let up = all_events(admin, host_up()).await;
    assert_eq!((up.len(), up[0].object_name.as_str(), up[0].reason.as_str()), (1, "h", "heartbeats again"));

    drop(stream);
    agent.shutdown().await;
    // A graceful stop does not wait forever on the streams still open: it ends them.
    tokio::time::timeout(Duration::from_secs(10), region.stop()).await.expect("the region stops with a stream open");
    let rest = replay.take_while(|next| futures::future::ready(next.is_ok())).count();
    let rest = tokio::time::timeout(Duration::from_secs(10), rest).await.expect("the stream ends once what it had is read");
    assert!(rest >= 2, "the delete's end and what came after: {rest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_sqlite() {
    events_record_who_did_what(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_on_postgres() {
    events_record_who_did_what(Backend::Postgres).await;
}
