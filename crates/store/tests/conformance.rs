//! Store conformance suite: the same checks against SQLite and a real PostgreSQL.
//! Under `CI=true` a missing PostgreSQL (`FLOTILLA_TEST_POSTGRES_URL`) fails the run.

use flotilla_core::HostId;
use flotilla_core::container::{ContainerHealth, ContainerStatus, Observation};
use flotilla_core::event::{END, Event, EventAction, EventLevel, ObjectType, START};
use flotilla_core::identity::{TokenRecord, User};
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties};
use flotilla_core::scheduler::{Request, Settings};
use flotilla_core::selector::Selector;
use flotilla_core::{ListParams, Metadata, ProjectId, Role, SortDir, SortKey, TokenId, UserId};
mod support;

use flotilla_store::{
    ContainerChanges, EventFilters, HostHeartbeat, IdempotencyClaim, IdempotentAnswer, JoinGrant, JoinProof, ProjectChanges, Scope, Store,
    StoreError,
};
use support::{admitted, container, name, profile, project, registration};

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("flotilla.db").display());
    (Store::connect(&url).await.unwrap(), dir)
}

async fn postgres_store() -> Option<Store> {
    let Ok(server) = std::env::var("FLOTILLA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
        eprintln!("FLOTILLA_TEST_POSTGRES_URL not set: PostgreSQL half skipped outside CI (scripts/test.sh sets it)");
        return None;
    };
    let name = format!("store_{}", uuid::Uuid::now_v7().simple());
    let url = flotilla_store::create_postgres_database(&server, &name).await.unwrap();
    Some(Store::connect(&url).await.unwrap())
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $case() { let (store, _dir) = super::sqlite_store().await; super::$case(&store).await; })*
        }
        mod postgres {
            $(#[tokio::test] async fn $case() { if let Some(store) = super::postgres_store().await { super::$case(&store).await; } })*
        }
    };
}

conformance!(
    projects_crud_and_names,
    paging_and_sorting,
    users_roles_and_cascade,
    tokens_lookup_and_revoke,
    idempotency_keys,
    profiles_are_scoped,
    concurrent_creates_one_winner,
    events_are_scoped_filtered_and_ordered,
    observations_record_health_and_cpu,
    concurrent_engines_never_claim_one_action_twice,
    silent_engines_actions_are_taken_over,
    old_events_go_in_bounded_batches,
    only_old_finished_unlocked_actions_go,
    regions_register_once_come_back_with_their_credential_and_heartbeat,
    a_region_keeps_its_credential_and_the_identities_its_central_vouched_for,
    a_joined_name_needs_its_credential_or_a_replace_token,
    jobs_coalesce_per_type_and_resource,
    jobs_past_their_expiry_are_taken_over,
    failed_jobs_back_off_then_fail_and_are_redone,
    concurrent_runners_never_claim_one_job_twice,
    routed_objects_queue_route_sync_on_a_federated_region_only,
    regions_write_only_their_own_routings,
    only_old_successful_jobs_go,
    label_selectors_filter_lists_in_the_query,
    planned_placements_are_rolled_back,
    heartbeats_are_written_together_and_bring_down_hosts_back,
    waiting_parents_ask_for_one_unfinished_child,
    container_stamps_change_with_each_write,
    host_and_project_tallies_follow_their_containers
);

async fn a_joined_name_needs_its_credential_or_a_replace_token(store: &Store) {
    let token = |replaces| JoinProof { token: Some(JoinGrant { replaces }), credential_digest: None };
    let first = store.register_host(registration("h1"), token(None), "cred-1").await.unwrap();
    assert!(!first.credential_kept);
    let id = first.host.id;

    // Another join token cannot take the name (nor its id and containers).
    let taken = store.register_host(registration("h1"), token(None), "cred-2").await.unwrap_err();
    assert!(matches!(&taken, StoreError::Conflict(m) if m.contains("h1") && m.contains("--replace")), "{taken:?}");
    assert_eq!(store.host_by_credential("cred-1").await.unwrap(), id, "the real agent keeps its credential");
    assert!(store.host_by_credential("cred-2").await.is_err());
    // Nor can a stale or made-up credential without a token.
    let stale = JoinProof { token: None, credential_digest: Some("cred-x".into()) };
    assert!(matches!(store.register_host(registration("h1"), stale, "cred-3").await, Err(StoreError::Unauthenticated(_))));
    let nothing = JoinProof::default();
    assert!(matches!(store.register_host(registration("h2"), nothing, "cred-3").await, Err(StoreError::Unauthenticated(_))));

    // The host's own credential joins again, without a token: same id, credential kept.
    let own = JoinProof { token: None, credential_digest: Some("cred-1".into()) };
    let again = store.register_host(registration("h1"), own, "cred-4").await.unwrap();
    assert_eq!((again.host.id, again.credential_kept), (id, true));
    assert!(store.host_by_credential("cred-4").await.is_err(), "the offered fresh credential was not stored");

    // An admin's replace token takes it over once: new credential, same id; the old one is shut out.
    let id_token = store.register_host(registration("h3"), token(None), "cred-h3").await.unwrap().host.id;
    assert!(matches!(store.register_host(registration("h1"), token(Some(id_token)), "cred-5").await, Err(StoreError::Conflict(_))));
    let digest = "replace-token-digest";
    store
        .create_join_token(flotilla_core::JoinTokenId::new(), digest, flotilla_core::now() + chrono::Duration::hours(1), Some(id))
        .await
        .unwrap();
    let grant = store.join_grant(digest).await.unwrap().unwrap();
    assert_eq!(grant.replaces, Some(id));
    let replaced =
        store.register_host(registration("h1"), JoinProof { token: Some(grant), credential_digest: None }, "cred-5").await.unwrap();
    assert_eq!((replaced.host.id, replaced.credential_kept), (id, false));
    assert_eq!(store.host_by_credential("cred-5").await.unwrap(), id);
    assert!(store.host_by_credential("cred-1").await.is_err(), "the replaced agent is refused");
    assert_eq!(store.join_grant(digest).await.unwrap(), None, "a replace token is spent");
    // A replace token does not admit another name.
    let unused = store.register_host(registration("h9"), token(Some(id)), "cred-9").await.unwrap_err();
    assert!(matches!(unused, StoreError::Conflict(_)), "{unused:?}");
    // The pinned certificate is what the server's calls use.
    assert_eq!(store.host_callback(id).await.unwrap().certificate, "-----BEGIN CERTIFICATE-----");
}

fn user(n: &str, default_project: Option<ProjectId>) -> User {
    let now = flotilla_core::now();
    User {
        id: UserId::new(),
        name: name(n),
        email: None,
        password_hash: "$argon2id$fake".into(),
        enabled: true,
        default_project_id: default_project,
        metadata: Metadata::new(),
        created_at: now,
        updated_at: now,
    }
}

async fn projects_crud_and_names(store: &Store) {
    let p = project("alpha");
    store.create_project(&p).await.unwrap();
    assert_eq!(store.project("alpha").await.unwrap(), p);
    assert_eq!(store.project(&p.id.to_string()).await.unwrap().name, p.name);
    let err = store.create_project(&project("alpha")).await.unwrap_err();
    assert!(matches!(err, StoreError::NameTaken { kind: "project", .. }), "{err}");
    let changes = ProjectChanges { description: Some("first".into()), enabled: Some(false), ..Default::default() };
    let updated = store.update_project(p.id, changes).await.unwrap();
    assert_eq!((updated.description.as_str(), updated.enabled), ("first", false));
    assert_eq!(store.project("alpha").await.unwrap().description, "first");
    store.delete_project(p.id).await.unwrap();
    assert!(matches!(store.project("alpha").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.delete_project(p.id).await, Err(StoreError::NotFound { .. })));
}

async fn paging_and_sorting(store: &Store) {
    for n in ["p3", "p1", "p5", "p2", "p4"] {
        store.create_project(&project(n)).await.unwrap();
    }
    let mut params = ListParams { limit: 2, sort: SortKey::Name, dir: SortDir::Desc, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = store.list_projects(None, None, &params).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|p| p.name.to_string()));
        match page.next {
            Some(next) => params.marker = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["p5", "p4", "p3", "p2", "p1"]);
    let by_age = store.list_projects(None, None, &ListParams::default()).await.unwrap();
    let names: Vec<_> = by_age.items.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["p3", "p1", "p5", "p2", "p4"]);
    assert!(by_age.next.is_none());
    let only = store.list_projects(None, Some("p2"), &ListParams::default()).await.unwrap();
    assert_eq!(only.items.len(), 1);
    let bad = ListParams { marker: Some(ProjectId::new().to_string()), ..Default::default() };
    assert!(matches!(store.list_projects(None, None, &bad).await, Err(StoreError::BadMarker(_))));
}

async fn users_roles_and_cascade(store: &Store) {
    let a = project("team-a");
    let b = project("team-b");
    store.create_project(&a).await.unwrap();
    store.create_project(&b).await.unwrap();
    let alice = user("alice", Some(a.id));
    let bob = user("bob", None);
    store.create_user(&alice).await.unwrap();
    store.create_user(&bob).await.unwrap();
    assert!(matches!(store.create_user(&user("alice", None)).await, Err(StoreError::NameTaken { kind: "user", .. })));
    store.assign_role(alice.id, a.id, Role::Reader).await.unwrap();
    let admin = store.assign_role(alice.id, a.id, Role::Admin).await.unwrap();
    assert_eq!((admin.user_name.as_str(), admin.project_name.as_str()), ("alice", "team-a"));
    assert!(matches!(store.assign_role(alice.id, a.id, Role::Admin).await, Err(StoreError::Conflict(_))));
    store.assign_role(bob.id, b.id, Role::Member).await.unwrap();
    assert_eq!(store.effective_role(alice.id, a.id).await.unwrap(), Some(Role::Admin));
    assert_eq!(store.effective_role(alice.id, b.id).await.unwrap(), None);
    let members_of_b = store.list_users(Some(b.id), None, &ListParams::default()).await.unwrap();
    assert_eq!(members_of_b.items.iter().map(|u| u.name.to_string()).collect::<Vec<_>>(), ["bob"]);
    let roles_of_a = store.list_role_assignments(None, Some(a.id), &ListParams::default()).await.unwrap();
    assert_eq!(roles_of_a.items.len(), 2);
    store.delete_role_assignment(admin.id).await.unwrap();
    assert_eq!(store.effective_role(alice.id, a.id).await.unwrap(), Some(Role::Reader));
    assert_eq!(store.count_users().await.unwrap(), 2);
    store.delete_user(alice.id).await.unwrap();
    assert_eq!(store.list_role_assignments(Some(alice.id), None, &ListParams::default()).await.unwrap().items.len(), 0);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

async fn tokens_lookup_and_revoke(store: &Store) {
    let p = project("tok");
    store.create_project(&p).await.unwrap();
    let u = user("tina", None);
    store.create_user(&u).await.unwrap();
    let now = flotilla_core::now();
    let token = TokenRecord {
        id: TokenId::new(),
        secret_hash: "abc123".into(),
        user_id: u.id,
        project_id: p.id,
        created_at: now,
        expires_at: now + chrono::Duration::hours(1),
        revoked: false,
    };
    store.create_token(&token).await.unwrap();
    let found = store.token_holder("abc123").await.unwrap().unwrap();
    assert!(found.token.is_valid_at(now));
    assert!(!found.token.is_valid_at(now + chrono::Duration::hours(2)));
    assert_eq!((found.user_name.as_str(), found.project_name.as_str(), found.enabled, found.role), ("tina", "tok", true, None));
    store.assign_role(u.id, p.id, Role::Reader).await.unwrap();
    store.assign_role(u.id, p.id, Role::Member).await.unwrap();
    assert_eq!(store.token_holder("abc123").await.unwrap().unwrap().role, Some(Role::Member), "the highest of two roles");
    assert!(store.token_holder("nope").await.unwrap().is_none());
    store.revoke_token(token.id).await.unwrap();
    assert!(!store.token_holder("abc123").await.unwrap().unwrap().token.is_valid_at(now));
    let expired = TokenRecord { id: TokenId::new(), secret_hash: "old".into(), expires_at: now - chrono::Duration::hours(1), ..token };
    store.create_token(&expired).await.unwrap();
    assert_eq!(store.purge_expired_tokens().await.unwrap(), 1);
    assert!(store.token_holder("old").await.unwrap().is_none());
}

async fn idempotency_keys(store: &Store) {
    let scope = UserId::new();
    assert_eq!(store.claim_idempotency_key(scope, "k1", "h1").await.unwrap(), IdempotencyClaim::Run);
    assert_eq!(store.claim_idempotency_key(scope, "k1", "h1").await.unwrap(), IdempotencyClaim::InFlight);
    let answer = IdempotentAnswer { status: 202, body: Some("{\"ok\":1}".into()), location: Some("/v1/actions/1".into()) };
    store.finish_idempotency_key(scope, "k1", &answer).await.unwrap();
    assert_eq!(store.claim_idempotency_key(scope, "k1", "h1").await.unwrap(), IdempotencyClaim::Replay(answer));
    assert_eq!(store.claim_idempotency_key(scope, "k1", "h2").await.unwrap(), IdempotencyClaim::Mismatch);
    assert_eq!(store.claim_idempotency_key(UserId::new(), "k1", "h2").await.unwrap(), IdempotencyClaim::Run);
    store.claim_idempotency_key(scope, "k2", "h").await.unwrap();
    store.release_idempotency_key(scope, "k2").await.unwrap();
    assert_eq!(store.claim_idempotency_key(scope, "k2", "h").await.unwrap(), IdempotencyClaim::Run);
    // An answer that carried a secret is kept without its body.
    let withheld = IdempotentAnswer { status: 201, body: None, location: None };
    store.finish_idempotency_key(scope, "k2", &withheld).await.unwrap();
    assert_eq!(store.claim_idempotency_key(scope, "k2", "h").await.unwrap(), IdempotencyClaim::Replay(withheld));
}

async fn profiles_are_scoped(store: &Store) {
    let a = project("pa");
    let b = project("pb");
    store.create_project(&a).await.unwrap();
    store.create_project(&b).await.unwrap();
    let web_a = profile("web", a.id, "busybox");
    let web_b = profile("web", b.id, "nginx");
    store.create_profile(&web_a).await.unwrap();
    store.create_profile(&web_b).await.unwrap();
    assert!(matches!(store.create_profile(&profile("web", a.id, "x")).await, Err(StoreError::NameTaken { .. })));
    assert_eq!(store.profile(Scope::Project(a.id), "web").await.unwrap(), web_a);
    assert_eq!(store.profile(Scope::Project(b.id), "web").await.unwrap().spec.properties.image, "nginx");
    let hidden = store.profile(Scope::Project(a.id), &web_b.id.to_string()).await;
    assert!(matches!(hidden, Err(StoreError::NotFound { .. })), "project A must not see B's profile");
    assert!(matches!(store.profile(Scope::All, "web").await, Err(StoreError::Ambiguous { count: 2, .. })));
    assert_eq!(store.profile(Scope::All, &web_b.id.to_string()).await.unwrap().id, web_b.id);
    let listed = store.list_profiles(Scope::Project(a.id), None, None, &ListParams::default()).await.unwrap();
    assert_eq!(listed.items, vec![web_a.clone()]);
    let all = store.list_profiles(Scope::All, None, Some(CONTAINER_DOCKER), &ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 2);
    assert!(store.list_profiles(Scope::All, None, Some("vm"), &ListParams::default()).await.unwrap().items.is_empty());
    assert!(matches!(store.delete_project(a.id).await, Err(StoreError::Conflict(_))));
    let renamed =
        store.update_profile(web_a.id, flotilla_store::ProfileChanges { name: Some(name("web2")), metadata: None }).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.spec.clone()), ("web2", web_a.spec.clone()));
    store.delete_profile(web_a.id).await.unwrap();
    store.delete_project(a.id).await.unwrap();
}

async fn concurrent_creates_one_winner(store: &Store) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.create_project(&project("race")).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::NameTaken { .. }) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn events_are_scoped_filtered_and_ordered(store: &Store) {
    let (a, b) = (ProjectId::new(), ProjectId::new());
    let web = uuid::Uuid::now_v7();
    let container = |project, action, status: &str| {
        Event::new(ObjectType::Container, web, "web", action, status).by(Some(project), Some(UserId::new()))
    };
    // Made in this order: ids (and timestamps) follow it.
    let written = vec![
        Event::new(ObjectType::Host, uuid::Uuid::now_v7(), "h1", EventAction::HostJoin, "UP").meta("zone", "az1"),
        container(a, EventAction::ContainerCreate, START),
        container(b, EventAction::ContainerCreate, START),
        Event::new(ObjectType::Container, uuid::Uuid::now_v7(), "big", EventAction::ContainerCreate, "FAILED")
            .by(Some(a), None)
            .level(EventLevel::Error)
            .reason("no host fits: 0 hosts"),
        container(a, EventAction::ContainerStop, START),
    ];
    let failed = written[3].clone();
    store.record_events(&written[..2]).await.unwrap();
    for e in &written[2..] {
        store.record_event(e).await.unwrap();
    }
    let list = |scope, filters| async move { store.list_events(scope, filters, &ListParams::default()).await.unwrap().items };

    assert_eq!(list(Scope::All, EventFilters::default()).await, written, "everything, in time order, as written");
    let mine = list(Scope::Project(a), EventFilters::default()).await;
    assert_eq!(
        mine.iter().map(|e| e.action).collect::<Vec<_>>(),
        [EventAction::ContainerCreate, EventAction::ContainerCreate, EventAction::ContainerStop]
    );
    assert!(mine.iter().all(|e| e.project_id == Some(a)), "no other project's, no region-level events");
    let errors = list(Scope::Project(a), EventFilters { level: Some(EventLevel::Error), ..Default::default() }).await;
    assert_eq!(errors, vec![failed.clone()]);
    let by_name = EventFilters { object: Some("web"), action: Some(EventAction::ContainerStop), ..Default::default() };
    assert_eq!(list(Scope::All, by_name).await, vec![written[4].clone()]);
    let id = web.to_string();
    assert_eq!(list(Scope::Project(b), EventFilters { object: Some(&id), ..Default::default() }).await, vec![written[2].clone()]);
    let hosts = list(Scope::All, EventFilters { object_type: Some(ObjectType::Host), ..Default::default() }).await;
    assert_eq!((hosts.len(), hosts[0].project_id, hosts[0].metadata["zone"].as_str()), (1, None, "az1"));

    // Pages follow the id order both ways; after an id only later events come.
    let mut params = ListParams { limit: 2, dir: SortDir::Desc, ..Default::default() };
    let mut seen = Vec::new();
    loop {
        let page = store.list_events(Scope::All, EventFilters::default(), &params).await.unwrap();
        seen.extend(page.items.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => params.marker = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, written.iter().rev().map(|e| e.id).collect::<Vec<_>>());
    let after = store.events_after(Scope::All, EventFilters::default(), written[1].id, 2).await.unwrap();
    assert_eq!(after, written[2..4].to_vec());
    let after = store.events_after(Scope::Project(a), EventFilters::default(), written[3].id, 10).await.unwrap();
    assert_eq!(after, written[4..].to_vec());
    let floor = flotilla_core::event::id_floor(flotilla_core::now() + chrono::Duration::seconds(1));
    assert!(store.events_after(Scope::All, EventFilters::default(), floor, 10).await.unwrap().is_empty());
    let late = Event::new(ObjectType::Image, uuid::Uuid::now_v7(), "busybox", EventAction::ImageUpload, END).by(Some(b), None);
    store.record_event(&late).await.unwrap();
    let from_start = flotilla_core::event::id_floor(written[0].timestamp);
    let streamed = store.events_after(Scope::Project(b), EventFilters::default(), from_start, 10).await.unwrap();
    assert_eq!(streamed, vec![written[2].clone(), late]);
}

async fn observations_record_health_and_cpu(store: &Store) {
    let p = project("probed");
    store.create_project(&p).await.unwrap();
    let host = store.register_host(registration("host-1"), admitted(), "digest-1").await.unwrap().host;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let container = container(p.id, spec.clone());
    let id = container.id;
    let created = store.create_container(container, &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    assert_eq!(created.container.host_id, Some(host.id));
    assert_eq!(
        (&created.container.health, created.container.cpu_percent, created.container.observed_at),
        (&ContainerHealth::Unknown, None, None)
    );

    let seen = |status, health: Option<ContainerHealth>, cpu_percent| Observation {
        id,
        generation: 1,
        runtime_id: Some("r1".into()),
        status: Some(status),
        exit_code: None,
        reason: String::new(),
        health,
        cpu_percent,
    };
    let show = || async { store.container(Scope::Project(p.id), "web").await.unwrap().container };

    let changes =
        store.apply_observations(host.id, &[seen(ContainerStatus::Running, Some(ContainerHealth::Starting), None)]).await.unwrap();
    assert_eq!(changes.health.len(), 1, "unknown -> starting");
    let c = show().await;
    assert_eq!((c.status, &c.health, c.cpu_percent), (ContainerStatus::Running, &ContainerHealth::Starting, None));
    assert!(c.observed_at.is_some());
    assert_eq!(changes.written, [c], "the engine's watch is handed the row as a read shows it");

    store.apply_observations(host.id, &[seen(ContainerStatus::Running, Some(ContainerHealth::Healthy), Some(12.5))]).await.unwrap();
    let c = show().await;
    assert_eq!((&c.health, c.cpu_percent), (&ContainerHealth::Healthy, Some(12.5)));
    let listed = store.list_containers(Scope::All, Default::default(), &ListParams::default()).await.unwrap();
    assert_eq!((&listed.items[0].container.health, listed.items[0].container.cpu_percent), (&ContainerHealth::Healthy, Some(12.5)));

    // An answer to a restart carries neither: what is known stays.
    let answered = store.apply_observations(host.id, &[seen(ContainerStatus::Running, None, None)]).await.unwrap();
    assert!(answered.health.is_empty() && answered.status.is_empty());
    assert_eq!((&show().await.health, show().await.cpu_percent), (&ContainerHealth::Healthy, Some(12.5)));

    let sick = ContainerHealth::Unhealthy { reason: "HTTP 500 from http://10.0.0.2:8080/healthz".into() };
    let changes = store.apply_observations(host.id, &[seen(ContainerStatus::Running, Some(sick.clone()), Some(97.25))]).await.unwrap();
    assert_eq!(changes.health.len(), 1);
    assert_eq!((&changes.health[0].from, &changes.health[0].to, changes.health[0].id), (&ContainerHealth::Healthy, &sick, id));
    let c = show().await;
    assert_eq!((&c.health, c.health.reason(), c.cpu_percent), (&sick, "HTTP 500 from http://10.0.0.2:8080/healthz", Some(97.25)));
    assert_eq!(changes.written, [c]);
    let again = store.apply_observations(host.id, &[seen(ContainerStatus::Running, Some(sick.clone()), None)]).await.unwrap();
    assert!(again.health.is_empty() && again.written.is_empty(), "still unhealthy is no change");

    // Stale reports change nothing.
    let stale = Observation { generation: 0, ..seen(ContainerStatus::Running, Some(ContainerHealth::Healthy), Some(1.0)) };
    store.apply_observations(host.id, std::slice::from_ref(&stale)).await.unwrap();
    store.apply_observations(HostId::new(), &[Observation { generation: 1, ..stale }]).await.unwrap();
    assert_eq!(show().await.health, sick);

    // A container that stopped has no health and no CPU use.
    let changes = store.apply_observations(host.id, &[seen(ContainerStatus::Stopped, None, None)]).await.unwrap();
    assert_eq!((changes.status.len(), changes.health.len()), (1, 1));
    let c = show().await;
    assert_eq!((c.status, &c.health, c.health.reason(), c.cpu_percent), (ContainerStatus::Stopped, &ContainerHealth::Unknown, "", None));
    assert_eq!(changes.written, [c]);

    // A rebuild starts afresh.
    store.apply_observations(host.id, &[seen(ContainerStatus::Running, Some(ContainerHealth::Healthy), Some(3.0))]).await.unwrap();
    let rebuilt = store.update_container(id, ContainerChanges { bump_generation: true, ..Default::default() }).await.unwrap();
    assert_eq!(
        (&rebuilt.container.health, rebuilt.container.cpu_percent, rebuilt.container.generation),
        (&ContainerHealth::Unknown, None, 2)
    );
}

/// `n` READY actions on clusters of nobody in particular.
async fn ready_actions(store: &Store, n: usize) -> Vec<flotilla_core::ActionId> {
    use flotilla_core::action::{Action, ActionKind, Cause, Target};
    let mut ids = Vec::new();
    for i in 0..n {
        let target = Target::Cluster(flotilla_core::ClusterId::new());
        let action = Action::new(ActionKind::ClusterCheck, target, &format!("c{i}"), ProjectId::new(), UserId::new(), Cause::User);
        store.submit_child_actions(std::slice::from_ref(&action)).await.unwrap();
        ids.push(action.id);
    }
    ids
}

async fn concurrent_engines_never_claim_one_action_twice(store: &Store) {
    let wanted = ready_actions(store, 120).await;
    let claimers = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let service = flotilla_core::ServiceId::new();
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_actions(service, 7).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                assert!(claimed.iter().all(|a| a.owner == Some(service) && a.status == flotilla_core::action::ActionStatus::Running));
                mine.extend(claimed.into_iter().map(|a| a.id));
            }
        })
    });
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    all.sort();
    let mut expected = wanted.clone();
    expected.sort();
    assert_eq!(all, expected, "every action claimed exactly once");
}

async fn silent_engines_actions_are_taken_over(store: &Store) {
    use flotilla_core::action::ActionStatus;
    let ids = ready_actions(store, 3).await;
    let (dead, alive) = (flotilla_core::ServiceId::new(), flotilla_core::ServiceId::new());
    store.register_service(dead, "dead").await.unwrap();
    store.register_service(alive, "alive").await.unwrap();
    assert_eq!(store.claim_actions(dead, 10).await.unwrap().len(), 3);
    // A grace of 10 s: nobody is silent yet.
    assert!(store.take_over_dead_services(alive, std::time::Duration::from_secs(10)).await.unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(store.heartbeat_service(alive).await.unwrap());
    // An engine never declares itself dead, however late its own heartbeat.
    let grace = std::time::Duration::from_millis(200);
    assert!(store.take_over_dead_services(dead, grace).await.unwrap().is_empty());
    let taken = store.take_over_dead_services(alive, grace).await.unwrap();
    assert_eq!(taken, vec![dead]);
    assert!(!store.heartbeat_service(dead).await.unwrap(), "a taken-over engine learns it on its next heartbeat");
    let reclaimed = store.claim_actions(alive, 10).await.unwrap();
    assert_eq!(reclaimed.iter().map(|a| a.id).collect::<std::collections::BTreeSet<_>>(), ids.into_iter().collect());
    // Ending an action frees it for good: a second end is refused.
    let first = reclaimed[0].id;
    assert!(store.finish_action(first, ActionStatus::Succeeded, "", &Default::default()).await.unwrap());
    assert!(!store.finish_action(first, ActionStatus::Failed, "late", &Default::default()).await.unwrap());
}

async fn old_events_go_in_bounded_batches(store: &Store) {
    let event = |n: String| Event::new(ObjectType::Host, uuid::Uuid::now_v7(), &n, EventAction::HostJoin, "UP");
    let old: Vec<Event> = (0..3).map(|i| event(format!("old{i}"))).collect();
    store.record_events(&old).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cutoff = flotilla_core::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let new: Vec<Event> = (0..2).map(|i| event(format!("new{i}"))).collect();
    store.record_events(&new).await.unwrap();

    assert_eq!(store.purge_events(cutoff, 2).await.unwrap(), 2, "one batch is at most its size");
    assert_eq!(store.purge_events(cutoff, 2).await.unwrap(), 1);
    assert_eq!(store.purge_events(cutoff, 2).await.unwrap(), 0);
    let left = store.list_events(Scope::All, EventFilters::default(), &ListParams::default()).await.unwrap().items;
    assert_eq!(left, new, "only the events made after the cutoff stay");
}

async fn only_old_finished_unlocked_actions_go(store: &Store) {
    use flotilla_core::action::{Action, ActionKind, ActionStatus::*, Cause, Target};

    let now = flotilla_core::now();
    let (long_ago, cutoff) = (now - chrono::Duration::days(40), now - chrono::Duration::days(30));
    let action = |name: &str, status, ended_at, parent| {
        let target = Target::Cluster(flotilla_core::ClusterId::new());
        let mut a = Action::new(ActionKind::ClusterCheck, target, name, ProjectId::new(), UserId::new(), Cause::User);
        (a.status, a.ended_at, a.parent) = (status, ended_at, parent);
        a
    };
    let waiting_parent = action("waiting parent", Waiting, None, None);
    let ended_parent = action("ended parent", Succeeded, Some(long_ago), None);
    let written = vec![
        action("succeeded", Succeeded, Some(long_ago), None),
        action("failed", Failed, Some(long_ago), None),
        action("cancelled", Cancelled, Some(long_ago), None),
        action("recent", Succeeded, Some(now), None),
        action("running", Running, None, None),
        action("waiting with a stale end", Waiting, Some(long_ago), None),
        action("ready", Ready, None, None),
        action("child of a waiting parent", Succeeded, Some(long_ago), Some(waiting_parent.id)),
        action("child of an ended parent", Failed, Some(long_ago), Some(ended_parent.id)),
        waiting_parent,
        ended_parent,
    ];
    store.submit_child_actions(&written).await.unwrap();
    // A lock naming an ended action (finish_action frees locks, but a lock is the last word).
    let p = project("retention");
    store.create_project(&p).await.unwrap();
    let web = profile("web", p.id, "nginx");
    store.create_profile(&web).await.unwrap();
    let cluster = support::cluster("locked", p.id, web.id);
    let holder = action("lock holder", Succeeded, Some(long_ago), None);
    store.create_cluster(&cluster, &holder).await.unwrap();

    let mut purged = 0;
    loop {
        let done = store.purge_actions(cutoff, 2).await.unwrap();
        assert!(done <= 2, "one batch is at most its size");
        if done == 0 {
            break;
        }
        purged += done;
    }
    assert_eq!(purged, 5);
    let left = store.list_actions(Scope::All, Default::default(), &ListParams::default()).await.unwrap().items;
    let mut names: Vec<&str> = left.iter().map(|a| a.name.trim_start_matches("cluster_check_")).collect();
    names.sort();
    assert_eq!(
        names,
        ["child of a waiting parent", "lock holder", "ready", "recent", "running", "waiting parent", "waiting with a stale end"]
    );
    assert_eq!(store.cluster_lock(cluster.id).await.unwrap(), Some(holder.id), "the lock still names its action");
}

async fn waiting_parents_ask_for_one_unfinished_child(store: &Store) {
    use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};

    let action = |name: &str, status, parent| {
        let target = Target::Cluster(flotilla_core::ClusterId::new());
        let mut a = Action::new(ActionKind::ClusterCheck, target, name, ProjectId::new(), UserId::new(), Cause::User);
        (a.status, a.parent) = (status, parent);
        a
    };
    let (lonely, parent) = (action("lonely", ActionStatus::Waiting, None), action("parent", ActionStatus::Waiting, None));
    let children: Vec<Action> = [ActionStatus::Succeeded, ActionStatus::Failed, ActionStatus::Cancelled]
        .into_iter()
        .map(|status| action(status.as_str(), status, Some(parent.id)))
        .collect();
    store.submit_child_actions(&[lonely.clone(), parent.clone()]).await.unwrap();
    assert!(!store.has_children(lonely.id).await.unwrap());
    assert!(!store.children_unfinished(lonely.id).await.unwrap(), "no child: none unfinished");
    // Written newest first: listed oldest first all the same (by id), however the database returns them.
    store.submit_child_actions(&children.iter().rev().cloned().collect::<Vec<_>>()).await.unwrap();
    let mut oldest_first: Vec<_> = children.iter().map(|c| c.id).collect();
    oldest_first.sort_unstable();
    assert_eq!(store.child_action_ids(parent.id).await.unwrap(), oldest_first);
    assert_eq!(store.child_actions(parent.id).await.unwrap().iter().map(|c| c.id).collect::<Vec<_>>(), oldest_first);
    assert!(store.has_children(parent.id).await.unwrap());
    assert!(!store.children_unfinished(parent.id).await.unwrap(), "every child ended, however");
    for status in [ActionStatus::Init, ActionStatus::Waiting, ActionStatus::Ready, ActionStatus::Running] {
        let other = action("other", ActionStatus::Waiting, None);
        let ended = action("ended", ActionStatus::Succeeded, Some(other.id));
        let child = action(status.as_str(), status, Some(other.id));
        store.submit_child_actions(&[other.clone(), ended, child]).await.unwrap();
        assert!(store.children_unfinished(other.id).await.unwrap(), "a {status} child has not ended");
    }
}

async fn container_stamps_change_with_each_write(store: &Store) {
    let p = project("stamped");
    store.create_project(&p).await.unwrap();
    let host = store.register_host(registration("host-1"), admitted(), "digest-1").await.unwrap().host;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let before = chrono::Utc::now().timestamp_millis() - 1;
    let created = store.create_container(container(p.id, spec.clone()), &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    let id = created.container.id;
    let stamps = store.container_stamps_since(before).await.unwrap();
    assert_eq!(stamps.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
    assert!(store.container_stamps_since(chrono::Utc::now().timestamp_millis() + 1000).await.unwrap().is_empty(), "not written since");
    let seen = Observation {
        id,
        generation: 1,
        runtime_id: Some("r1".into()),
        status: Some(ContainerStatus::Running),
        exit_code: None,
        reason: String::new(),
        health: None,
        cpu_percent: None,
    };
    store.apply_observations(host.id, &[seen]).await.unwrap();
    let after = store.container_stamps_since(before).await.unwrap();
    assert_ne!(after, stamps, "a status change changes the stamp, even within a millisecond");
    let read = store.containers_by_id(&[id, flotilla_core::ContainerId::new()]).await.unwrap();
    assert_eq!(read.len(), 1, "an unknown id is left out");
    assert_eq!((read[0].id, read[0].status), (id, ContainerStatus::Running));
}

const EXPIRY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The ids of the NEW jobs of `job_type` for `resource`.
async fn waiting_jobs(store: &Store, job_type: &str, resource: uuid::Uuid) -> Vec<flotilla_store::Job> {
    let filters = flotilla_store::JobFilters { status: Some(JobStatus::New), job_type: Some(job_type), resource_id: Some(resource) };
    store.list_jobs(filters, &ListParams::default()).await.unwrap().items
}

use flotilla_store::JobStatus;

async fn jobs_coalesce_per_type_and_resource(store: &Store) {
    let (resource, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mut added = 0;
    for _ in 0..10 {
        added += usize::from(store.enqueue_job("sync", resource, None).await.unwrap());
    }
    assert_eq!(added, 1, "ten queued updates of one resource make one job");
    assert!(store.enqueue_job("sync", other, None).await.unwrap(), "another resource has its own");
    assert!(store.enqueue_job("other_type", resource, None).await.unwrap(), "another type has its own");
    assert_eq!(waiting_jobs(store, "sync", resource).await.len(), 1);

    let runner = uuid::Uuid::now_v7();
    let claimed = store.claim_jobs(runner, &["sync"], 10, EXPIRY).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.resource_id).collect::<std::collections::BTreeSet<_>>(), [resource, other].into());
    assert!(claimed.iter().all(|j| j.status == JobStatus::Running && j.attempts == 1 && j.claimed_by == Some(runner)));
    let first = claimed.into_iter().find(|j| j.resource_id == resource).unwrap();

    // A change while the job runs gets one follow-up, however many come.
    assert!(store.enqueue_job("sync", resource, None).await.unwrap());
    assert!(!store.enqueue_job("sync", resource, None).await.unwrap());
    assert!(store.claim_jobs(runner, &["sync"], 10, EXPIRY).await.unwrap().is_empty(), "no two jobs of one resource run together");
    assert!(store.complete_job(&first).await.unwrap());
    assert_eq!(store.job(first.id).await.unwrap().status, JobStatus::Success);
    let follow_up = store.claim_jobs(runner, &["sync"], 10, EXPIRY).await.unwrap();
    assert_eq!(follow_up.len(), 1);
    assert_eq!(follow_up[0].resource_id, resource);
    assert_ne!(follow_up[0].id, first.id);
    assert!(store.claim_jobs(runner, &["sync"], 10, EXPIRY).await.unwrap().is_empty());
}

async fn jobs_past_their_expiry_are_taken_over(store: &Store) {
    let resource = uuid::Uuid::now_v7();
    store.enqueue_job("sync", resource, None).await.unwrap();
    let (dead, alive) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let stale = store.claim_jobs(dead, &["sync"], 1, EXPIRY).await.unwrap().remove(0);
    assert!(store.claim_jobs(alive, &["sync"], 1, EXPIRY).await.unwrap().is_empty(), "a job within its expiry stays its runner's");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let taken = store.claim_jobs(alive, &["sync"], 1, std::time::Duration::from_millis(10)).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].claimed_by, taken[0].attempts), (stale.id, Some(alive), 2));
    assert!(!store.complete_job(&stale).await.unwrap(), "the silent runner's late finish changes nothing");
    assert!(!store.fail_job(&stale, "late", None).await.unwrap());
    assert_eq!(store.job(stale.id).await.unwrap().status, JobStatus::Running);
    assert!(store.complete_job(&taken[0]).await.unwrap());
    assert_eq!(store.job(stale.id).await.unwrap().status, JobStatus::Success);
}

async fn failed_jobs_back_off_then_fail_and_are_redone(store: &Store) {
    let runner = uuid::Uuid::now_v7();
    let resource = uuid::Uuid::now_v7();
    store.enqueue_job("sync", resource, None).await.unwrap();
    let job = store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().remove(0);
    assert!(store.fail_job(&job, "central unreachable", Some(std::time::Duration::from_millis(400))).await.unwrap());
    let waiting = store.job(job.id).await.unwrap();
    assert_eq!((waiting.status, waiting.attempts, waiting.last_error.as_deref()), (JobStatus::New, 1, Some("central unreachable")));
    assert!(waiting.run_after > flotilla_core::now());
    assert!(store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().is_empty(), "not before its backoff ends");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let again = store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().remove(0);
    assert_eq!((again.id, again.attempts), (job.id, 2));

    // A failure while a follow-up waits folds into it: one job left, with the attempts and error.
    store.enqueue_job("sync", resource, None).await.unwrap();
    let follow_up = waiting_jobs(store, "sync", resource).await.remove(0);
    assert!(store.fail_job(&again, "refused", Some(std::time::Duration::from_millis(1))).await.unwrap());
    assert!(matches!(store.job(again.id).await, Err(StoreError::NotFound { .. })));
    let folded = store.job(follow_up.id).await.unwrap();
    assert_eq!((folded.status, folded.attempts, folded.last_error.as_deref()), (JobStatus::New, 2, Some("refused")));

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let last = store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().remove(0);
    assert!(matches!(store.redo_job(last.id).await, Err(StoreError::Conflict(_))), "a RUNNING job cannot be redone");
    assert!(store.fail_job(&last, "out of attempts", None).await.unwrap());
    let failed = store.job(last.id).await.unwrap();
    assert_eq!((failed.status, failed.attempts), (JobStatus::Fail, 3));
    assert!(store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().is_empty(), "a FAIL job waits for a redo");

    // What a job waits for is back: every waiting job of its type is due now.
    let (hurried, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    store.enqueue_job("hurried", hurried, None).await.unwrap();
    store.enqueue_job("other", other, None).await.unwrap();
    let backing_off = store.claim_jobs(runner, &["hurried", "other"], 2, EXPIRY).await.unwrap();
    for job in &backing_off {
        store.fail_job(job, "unreachable", Some(std::time::Duration::from_secs(3600))).await.unwrap();
    }
    assert_eq!(store.hurry_jobs("hurried").await.unwrap(), 1);
    let due = store.claim_jobs(runner, &["hurried", "other"], 2, EXPIRY).await.unwrap();
    assert_eq!(due.iter().map(|j| j.resource_id).collect::<Vec<_>>(), [hurried], "only that type, at once");
    assert!(store.complete_job(&due[0]).await.unwrap());

    let redone = store.redo_job(last.id).await.unwrap();
    assert_eq!((redone.status, redone.attempts, redone.claimed_by), (JobStatus::New, 0, None));
    let rerun = store.claim_jobs(runner, &["sync"], 1, EXPIRY).await.unwrap().remove(0);
    assert_eq!(rerun.id, last.id);
    assert!(store.complete_job(&rerun).await.unwrap());
    assert!(matches!(store.redo_job(last.id).await, Err(StoreError::Conflict(_))), "a SUCCESS job cannot be redone");
    assert!(matches!(store.redo_job(uuid::Uuid::now_v7()).await, Err(StoreError::NotFound { .. })));
}

async fn concurrent_runners_never_claim_one_job_twice(store: &Store) {
    let resources: Vec<uuid::Uuid> = (0..40).map(|_| uuid::Uuid::now_v7()).collect();
    for resource in &resources {
        store.enqueue_job("sync", *resource, None).await.unwrap();
    }
    let runners = (0..4).map(|_| {
        let (store, resources) = (store.clone(), resources.clone());
        tokio::spawn(async move {
            let runner = uuid::Uuid::now_v7();
            let mut ran = Vec::new();
            for round in 0.. {
                let claimed = store.claim_jobs(runner, &["sync"], 3, EXPIRY).await.unwrap();
                if claimed.is_empty() && round > 20 {
                    return ran;
                }
                // Changes keep coming while jobs run: each gets a follow-up.
                if round < 10 {
                    store.enqueue_job("sync", resources[round * 4 % resources.len()], None).await.unwrap();
                }
                for job in claimed {
                    assert!(store.complete_job(&job).await.unwrap(), "a job finished by its only runner");
                    ran.push(job.id);
                }
                tokio::task::yield_now().await;
            }
            unreachable!()
        })
    });
    let mut all = Vec::new();
    for runner in runners {
        all.extend(runner.await.unwrap());
    }
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "no job ran twice");
    let page = ListParams { limit: 1000, ..ListParams::default() };
    let jobs = store.list_jobs(Default::default(), &page).await.unwrap().items;
    assert!(jobs.iter().all(|j| j.status == JobStatus::Success && j.attempts == 1), "every job ran once: {jobs:?}");
    assert_eq!(jobs.len(), all.len());
}

async fn routed_objects_queue_route_sync_on_a_federated_region_only(store: &Store) {
    let p = project("routed");
    store.create_project(&p).await.unwrap();
    store.register_host(registration("host-1"), admitted(), "digest-1").await.unwrap();
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let standalone = store.create_container(container(p.id, spec.clone()), &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    let jobs = store.list_jobs(Default::default(), &ListParams::default()).await.unwrap().items;
    assert!(jobs.is_empty(), "a standalone region queues nothing: {jobs:?}");

    let region = store.clone().with_route_sync();
    let mut c = container(p.id, spec.clone());
    c.name = name("routed");
    let row = region.create_container(c, &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    let id = row.container.id.0;
    let queued = waiting_jobs(store, flotilla_store::ROUTE_SYNC, id).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].project_id, Some(p.id));
    let located = region.locate(&[id, standalone.container.id.0, uuid::Uuid::now_v7()]).await.unwrap();
    assert_eq!(located.len(), 2, "both containers are here, the random id is not");
    assert!(located.iter().all(|l| l.resource_type == "container" && l.project_id == p.id));

    let before = chrono::Utc::now().timestamp_millis() - 1;
    region.delete_container(row.container.id).await.unwrap();
    assert_eq!(waiting_jobs(store, flotilla_store::ROUTE_SYNC, id).await.len(), 1, "the delete coalesces into the waiting job");
    assert_eq!(store.containers_deleted_since(before).await.unwrap(), [row.container.id], "the deletion leaves a tombstone");
    assert_eq!(store.purge_container_tombstones(before).await.unwrap(), 0, "younger tombstones stay");
    assert_eq!(store.purge_container_tombstones(before + 60_000).await.unwrap(), 1);
    assert!(store.containers_deleted_since(before).await.unwrap().is_empty());
    assert!(region.locate(&[id]).await.unwrap().is_empty());

    let network = flotilla_core::network::Network {
        id: flotilla_core::NetworkId::new(),
        name: name("routed-net"),
        project_id: p.id,
        shared: false,
        is_default: false,
        global: false,
        metadata: Metadata::new(),
        created_at: flotilla_core::now(),
        updated_at: flotilla_core::now(),
    };
    region.create_network(&network, None).await.unwrap();
    assert_eq!(region.locate(&[network.id.0]).await.unwrap()[0].resource_type, "network");
    region.delete_network(network.id).await.unwrap();
    assert_eq!(waiting_jobs(store, flotilla_store::ROUTE_SYNC, network.id.0).await.len(), 1);
    let all = store.list_jobs(Default::default(), &ListParams::default()).await.unwrap().items;
    assert_eq!(all.len(), 2, "one job per routed object: {all:?}");

    // A project's first container makes its default network: routed too.
    let q = project("routed-too");
    store.create_project(&q).await.unwrap();
    region.create_container(container(q.id, spec.clone()), &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    let all = store.list_jobs(Default::default(), &ListParams::default()).await.unwrap().items;
    let located = region.locate(&all[2..].iter().map(|j| j.resource_id).collect::<Vec<_>>()).await.unwrap();
    let mut kinds: Vec<&str> = located.iter().map(|l| l.resource_type).collect();
    kinds.sort();
    assert_eq!(kinds, ["container", "network"], "{all:?}");
    assert!(located.iter().all(|l| l.project_id == q.id));
}

async fn regions_write_only_their_own_routings(store: &Store) {
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (p, q) = (ProjectId::new(), ProjectId::new());
    let (x, y, z) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let refused = store
        .apply_routings(a, "east", &[(x, "container".into(), p), (y, "cluster".into(), p), (z, "container".into(), q)], &[])
        .await
        .unwrap();
    assert!(refused.is_empty());
    let refused = store.apply_routings(b, "west", &[(x, "container".into(), q)], &[y]).await.unwrap();
    assert_eq!(refused, vec![x, y], "a region cannot move or delete another's rows");
    let kept = store.routing(Scope::All, x).await.unwrap();
    assert_eq!((kept.region.as_str(), kept.region_id, kept.project_id), ("east", a, p));
    assert!(store.routing(Scope::All, y).await.is_ok());

    // Upserting again is idempotent; the region's own delete works, and deleting what is gone is no error.
    assert!(store.apply_routings(a, "east", &[(x, "container".into(), p)], &[y, uuid::Uuid::now_v7()]).await.unwrap().is_empty());
    assert!(matches!(store.routing(Scope::All, y).await, Err(StoreError::NotFound { .. })));

    assert_eq!(store.routing(Scope::Project(p), x).await.unwrap().id, x);
    assert!(matches!(store.routing(Scope::Project(q), x).await, Err(StoreError::NotFound { .. })), "another project's id is not found");
    let list = |filters| async move { store.list_routings(filters, &ListParams::default()).await.unwrap().items };
    let ids = |rows: Vec<flotilla_store::Routing>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(list(flotilla_store::RoutingFilters { project_id: Some(q), ..Default::default() }).await), vec![z]);
    assert_eq!(ids(list(flotilla_store::RoutingFilters { region: Some("west"), ..Default::default() }).await), Vec::<uuid::Uuid>::new());
    let containers = ids(list(flotilla_store::RoutingFilters { resource_type: Some("container"), ..Default::default() }).await);
    assert_eq!(containers, vec![x, z]);
    let first = store.list_routings(Default::default(), &ListParams { limit: 1, ..ListParams::default() }).await.unwrap();
    assert_eq!(first.next, Some(x.to_string()), "paginated");
}

async fn only_old_successful_jobs_go(store: &Store) {
    let runner = uuid::Uuid::now_v7();
    for _ in 0..3 {
        store.enqueue_job("sync", uuid::Uuid::now_v7(), None).await.unwrap();
    }
    let claimed = store.claim_jobs(runner, &["sync"], 3, EXPIRY).await.unwrap();
    assert!(store.complete_job(&claimed[0]).await.unwrap());
    assert!(store.complete_job(&claimed[1]).await.unwrap());
    assert!(store.fail_job(&claimed[2], "broken", None).await.unwrap());
    store.enqueue_job("sync", uuid::Uuid::now_v7(), None).await.unwrap();
    assert_eq!(store.purge_jobs(flotilla_core::now() - chrono::Duration::hours(1), 10).await.unwrap(), 0, "recent ones stay");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(store.purge_jobs(flotilla_core::now(), 1).await.unwrap(), 1, "one batch is at most its size");
    assert_eq!(store.purge_jobs(flotilla_core::now(), 10).await.unwrap(), 1);
    let left: Vec<JobStatus> =
        store.list_jobs(Default::default(), &ListParams::default()).await.unwrap().items.iter().map(|j| j.status).collect();
    assert_eq!(left, vec![JobStatus::Fail, JobStatus::New]);
}

async fn regions_register_once_come_back_with_their_credential_and_heartbeat(store: &Store) {
    use flotilla_store::{RegionProof, RegionRegistration};
    let reg =
        |name: &str| RegionRegistration { name: name.into(), api_url: format!("http://{name}:7700"), network_pool: "10.1.0.0/16".into() };
    let token = |digest: &str| RegionProof { token_digest: Some(digest.into()), credential_digest: None };
    let expires = flotilla_core::now() + chrono::Duration::hours(1);
    store.create_region_join_token(flotilla_core::JoinTokenId::new(), "tok-1", expires).await.unwrap();
    store.create_region_join_token(flotilla_core::JoinTokenId::new(), "tok-2", expires).await.unwrap();
    store
        .create_region_join_token(flotilla_core::JoinTokenId::new(), "old", flotilla_core::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();

    let east = store.join_region(reg("east"), token("tok-1"), "cred-east").await.unwrap();
    assert!(!east.credential_kept);
    assert_eq!((east.region.name.as_str(), east.region.api_url.as_str()), ("east", "http://east:7700"));
    assert!(east.region.last_heartbeat.is_some(), "a registration counts as a heartbeat");
    // The token is spent; an expired one never worked; a taken name is a conflict and spends nothing.
    let spent = store.join_region(reg("west"), token("tok-1"), "cred-west").await.unwrap_err();
    assert!(matches!(spent, StoreError::Unauthenticated(_)), "{spent:?}");
    let expired = store.join_region(reg("west"), token("old"), "cred-west").await.unwrap_err();
    assert!(matches!(expired, StoreError::Unauthenticated(_)), "{expired:?}");
    let taken = store.join_region(reg("east"), token("tok-2"), "cred-other").await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(ref m) if m.contains("east")), "{taken:?}");
    let west = store.join_region(reg("west"), token("tok-2"), "cred-west").await.unwrap();

    // Back with its credential (a restart): same id, new URL, credential kept; a wrong one is refused.
    let mut moved = reg("east");
    moved.api_url = "https://east.example:7700".into();
    let back = RegionProof { token_digest: None, credential_digest: Some("cred-east".into()) };
    let again = store.join_region(moved.clone(), back, "unused").await.unwrap();
    assert!(again.credential_kept);
    assert_eq!((again.region.id, again.region.api_url.as_str()), (east.region.id, "https://east.example:7700"));
    let wrong = RegionProof { token_digest: None, credential_digest: Some("cred-west".into()) };
    assert!(matches!(store.join_region(moved, wrong, "unused").await.unwrap_err(), StoreError::Unauthenticated(_)));

    assert_eq!(store.region_by_credential("cred-west").await.unwrap().map(|r| r.id), Some(west.region.id));
    assert_eq!(store.region_by_credential("cred-nobody").await.unwrap(), None);
    store.region_heartbeat(west.region.id, 3, 42).await.unwrap();
    let shown = store.region("west").await.unwrap();
    assert_eq!((shown.host_count, shown.container_count), (3, 42));
    let names: Vec<String> = store.list_regions(None, &ListParams::default()).await.unwrap().items.into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["east", "west"]);
    store.delete_region(west.region.id).await.unwrap();
    assert_eq!(store.region_by_credential("cred-west").await.unwrap(), None, "a deleted region's credential stops working");
    assert!(matches!(store.region_heartbeat(west.region.id, 0, 0).await.unwrap_err(), StoreError::NotFound { .. }));
}

async fn a_region_keeps_its_credential_and_the_identities_its_central_vouched_for(store: &Store) {
    use flotilla_store::{CentralCredential, VouchedIdentity};
    assert_eq!(store.central_credential().await.unwrap(), None);
    let first =
        CentralCredential { region_id: flotilla_core::ids::RegionId::new(), central_url: "http://c:1".into(), credential: "c1".into() };
    store.save_central_credential(&first).await.unwrap();
    let second = CentralCredential { credential: "c2".into(), ..first };
    store.save_central_credential(&second).await.unwrap();
    assert_eq!(store.central_credential().await.unwrap(), Some(second), "one credential, the last one");

    let who =
        VouchedIdentity { user_id: UserId::new(), user_name: name("alice"), project_id: ProjectId::new(), project_name: name("team") };
    store.keep_vouched_identity(&who).await.unwrap();
    let renamed = VouchedIdentity { project_name: name("team-2"), ..who.clone() };
    store.keep_vouched_identity(&renamed).await.unwrap();
    assert_eq!(store.project_by_id(who.project_id).await.unwrap().name.as_str(), "team-2", "the central's id, its latest name");
    assert_eq!(store.user_by_id(who.user_id).await.unwrap().name.as_str(), "alice");
    assert_eq!(store.region_counts().await.unwrap(), (0, 0));
}

/// Names of a container page, in order.
fn names(page: &flotilla_core::Page<flotilla_store::ContainerRow>) -> Vec<String> {
    page.items.iter().map(|r| r.container.name.to_string()).collect()
}

async fn label_selectors_filter_lists_in_the_query(store: &Store) {
    let p = project("labelled");
    store.create_project(&p).await.unwrap();
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let labelled: [(&str, &[(&str, &str)]); 5] = [
        ("c1", &[("app", "web"), ("tier", "front")]),
        ("c2", &[("app", "web"), ("tier", "db")]),
        ("c3", &[("app", "api")]),
        ("c4", &[]),
        ("c5", &[("app", "web")]),
    ];
    for (n, labels) in labelled {
        let mut c = container(p.id, spec.clone());
        c.name = name(n);
        c.metadata = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        store.create_container(c, &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    }
    let selected = |text: &str| ListParams { labels: Selector::parse(text).unwrap(), ..Default::default() };
    let list = |params: ListParams| async move { store.list_containers(Scope::Project(p.id), Default::default(), &params).await.unwrap() };
    for (selector, wanted) in [
        ("app=web", vec!["c1", "c2", "c5"]),
        ("app==web,tier!=db", vec!["c1", "c5"]),
        ("tier!=db", vec!["c1", "c3", "c4", "c5"]),
        ("app", vec!["c1", "c2", "c3", "c5"]),
        ("!app", vec!["c4"]),
        ("!tier,app", vec!["c3", "c5"]),
        ("app=api,tier", vec![]),
        ("app=web,tier=front,!tier", vec![]),
    ] {
        assert_eq!(names(&list(selected(selector)).await), wanted, "{selector}");
    }

    // Filtered in the query: every page is full, and the pages end with the last match.
    let mut params = ListParams { limit: 2, sort: SortKey::Name, ..selected("app=web") };
    let first = list(params.clone()).await;
    assert_eq!((names(&first), first.next.is_some()), (vec!["c1".to_owned(), "c2".to_owned()], true));
    params.marker = first.next;
    let second = list(params).await;
    assert_eq!((names(&second), second.next), (vec!["c5".to_owned()], None));

    // Hosts are selected by their labels.
    let mut gpu = registration("gpu-1");
    gpu.labels = [("gpu".to_owned(), "true".to_owned())].into();
    store.register_host(gpu, admitted(), "digest-gpu").await.unwrap();
    store.register_host(registration("plain-1"), admitted(), "digest-plain").await.unwrap();
    let hosts = |text: &str| {
        let params = selected(text);
        async move { store.list_hosts(None, None, &params).await.unwrap().items.into_iter().map(|h| h.name).collect::<Vec<_>>() }
    };
    assert_eq!(hosts("gpu=true").await, vec!["gpu-1"]);
    assert_eq!(hosts("!gpu").await, vec!["plain-1"]);
    assert_eq!(hosts("gpu=false").await, Vec::<String>::new());
}

async fn planned_placements_are_rolled_back(store: &Store) {
    let p = project("planned");
    store.create_project(&p).await.unwrap();
    let host = store.register_host(registration("plan-1"), admitted(), "digest-plan").await.unwrap().host;
    // Each needs 5 of the host's 8 GiB: the second sees the first's claim and fits nowhere.
    let spec = ContainerProperties { image: "demo".into(), memory: Some(5000), ..Default::default() };
    let placement = |n: &str| {
        let mut c = container(p.id, spec.clone());
        c.name = name(n);
        flotilla_store::NodePlacement { node: flotilla_core::NodeId::new(), cluster: None, container: c, request: Request::for_spec(&spec) }
    };
    let plan = store.plan_containers(vec![placement("p1"), placement("p2")], &Settings::default()).await.unwrap();
    let first = plan[0].as_ref().unwrap();
    assert_eq!((first.container.host_id, first.host_name.as_deref()), (Some(host.id), Some("plan-1")));
    assert_eq!(first.addresses.len(), 1, "an address on the project's default network: {:?}", first.addresses);
    let second = plan[1].as_ref().unwrap();
    assert_eq!((second.container.host_id, second.container.status), (None, ContainerStatus::Error));
    assert!(second.container.status_reason.contains("insufficient memory"), "{}", second.container.status_reason);

    // Nothing was written: no container, no default network, no claim on the host.
    let left = store.list_containers(Scope::All, Default::default(), &ListParams::default()).await.unwrap();
    assert!(left.items.is_empty());
    let networks = store.list_networks(Scope::Project(p.id), None, &ListParams::default()).await.unwrap();
    assert!(networks.items.is_empty(), "{:?}", networks.items.len());
    let after = store.host(&host.id.to_string()).await.unwrap();
    assert_eq!((after.allocated, after.revision), (host.allocated, host.revision));
    // The same placement, made for real, lands where the plan said.
    let made = store.create_container(placement("p1").container, &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    assert_eq!(made.container.host_id, Some(host.id));
}

async fn heartbeats_are_written_together_and_bring_down_hosts_back(store: &Store) {
    let one = store.register_host(registration("beat-1"), admitted(), "cred-beat-1").await.unwrap().host;
    let two = store.register_host(registration("beat-2"), admitted(), "cred-beat-2").await.unwrap().host;
    let down = store.mark_silent_hosts_down(flotilla_core::now() + chrono::Duration::seconds(1)).await.unwrap();
    assert_eq!(down.len(), 2, "both silent");
    let revision = store.host_revision(one.id).await.unwrap();
    let beat = |host: HostId, version: &str| HostHeartbeat {
        host,
        capacity: flotilla_core::scheduler::Resources { cpu_millis: 2000, memory_mib: 4096, disk_mib: 500 },
        utilisation: flotilla_core::host::Utilisation { cpu_percent: 12.5, memory_used_mib: 300 },
        images: vec!["busybox:latest".into()],
        agent_version: version.into(),
        at: flotilla_core::now(),
    };

    // Only the host that beats comes back, with what it said; its agent's assignments move on.
    assert_eq!(store.record_heartbeats(&[beat(one.id, "1.2.3")]).await.unwrap(), [one.id]);
    let back = store.host(&one.id.to_string()).await.unwrap();
    assert!(back.alive && back.last_heartbeat.is_some());
    assert_eq!((back.capacity.memory_mib, back.utilisation.memory_used_mib, back.agent_version.as_str()), (4096, 300, "1.2.3"));
    assert_eq!(back.images, ["busybox:latest"]);
    assert!(store.host_revision(one.id).await.unwrap() > revision, "a host back UP has new assignments to read");
    assert!(!store.host(&two.id.to_string()).await.unwrap().alive);

    // A batch of both answers only the one that was DOWN; a removed host's beat changes nothing.
    let gone = HostId::new();
    let batch = [beat(two.id, "1.2.3"), beat(one.id, "1.2.4"), beat(gone, "1.2.3")];
    assert_eq!(store.record_heartbeats(&batch).await.unwrap(), [two.id]);
    assert!(store.host(&two.id.to_string()).await.unwrap().alive);
    assert_eq!(store.host(&one.id.to_string()).await.unwrap().agent_version, "1.2.4");
    assert!(matches!(store.host(&gone.to_string()).await, Err(StoreError::NotFound { .. })));
}

/// What each host has allocated and what a project uses, summed from their tallies (migrations
/// 0034 and 0036), follow every create (alone or many at once), resize, move and delete of a
/// container, through the folds of more rows than a tally keeps unfolded.
async fn host_and_project_tallies_follow_their_containers(store: &Store) {
    let p = project("tallied");
    store.create_project(&p).await.unwrap();
    let hosts = [
        store.register_host(registration("tally-1"), admitted(), "digest-tally-1").await.unwrap().host.id,
        store.register_host(registration("tally-2"), admitted(), "digest-tally-2").await.unwrap().host.id,
    ];
    let spec = ContainerProperties { image: "demo".into(), cpu: Some(0.01), memory: Some(16), ..Default::default() };
    // Made 30 at a time: creates at once are written together, many rows a statement (whose
    // tallies PostgreSQL writes per statement, migration 0036).
    let mut made = Vec::new();
    for group in 0..3 {
        let creates: Vec<_> = (0..30)
            .map(|i| {
                let (store, spec) = (store.clone(), spec.clone());
                let mut c = container(p.id, spec.clone());
                c.name = name(&format!("tally-{}", group * 30 + i));
                tokio::spawn(async move { store.create_container(c, &Request::for_spec(&spec), &Settings::default()).await })
            })
            .collect();
        for create in creates {
            made.push(create.await.unwrap().unwrap().container);
        }
    }
    for c in &made[..10] {
        store.update_container(c.id, ContainerChanges { cpu: Some(0.2), memory: Some(40), ..Default::default() }).await.unwrap();
    }
    for c in &made[10..30] {
        store.delete_container(c.id).await.unwrap();
    }
    for c in &made[30..36] {
        let old = c.host_id.unwrap().to_string();
        let away = Request { avoid_hosts: [old].into(), ..Request::for_spec(&spec) };
        store.move_container(c.id, &away, &Settings::default()).await.unwrap().unwrap();
    }
    let all = ListParams { limit: 1000, ..Default::default() };
    let left: Vec<_> = store.list_containers(Scope::Project(p.id), Default::default(), &all).await.unwrap().items;
    assert_eq!(left.len(), 70);
    let sums = |on: &[&flotilla_store::ContainerRow]| {
        (
            on.len() as u64,
            on.iter().map(|c| c.container.spec.cpu_millis()).sum::<u64>(),
            on.iter().map(|c| c.container.spec.memory_mib()).sum::<u64>(),
        )
    };
    for host in hosts {
        let on: Vec<_> = left.iter().filter(|c| c.container.host_id == Some(host)).collect();
        let shown = store.host(&host.to_string()).await.unwrap();
        assert_eq!((shown.container_count, shown.allocated.cpu_millis, shown.allocated.memory_mib), sums(&on), "host {host}");
    }
    let (_, used) = store.quota(p.id).await.unwrap();
    assert_eq!((used.containers, used.cpu_millis, used.memory_mib), sums(&left.iter().collect::<Vec<_>>()));
    let ports = store.list_ports(Scope::Project(p.id), Default::default(), &all).await.unwrap().items.len() as u64;
    assert!(ports >= 70, "each container has its address on the project's default network: {ports} ports");
    assert_eq!(used.ports, ports, "the ports' tallies follow their containers");
    // A placement that needs the last of a host's memory sees what the tallies say is left.
    let free = |h: &flotilla_core::host::Host| h.capacity.memory_mib - h.allocated.memory_mib;
    let first = store.host(&hosts[0].to_string()).await.unwrap();
    let big = ContainerProperties { image: "demo".into(), memory: Some(free(&first)), ..Default::default() };
    let pinned = Request { host: Some("tally-1".into()), ..Request::for_spec(&big) };
    let mut c = container(p.id, big.clone());
    c.name = name("tally-fills");
    assert_eq!(store.create_container(c, &pinned, &Settings::default()).await.unwrap().container.host_id, Some(hosts[0]));
    let mut c = container(p.id, ContainerProperties { memory: Some(1), ..big });
    c.name = name("tally-overflows");
    let refused = store.create_container(c, &pinned, &Settings::default()).await.unwrap().container;
    assert_eq!(refused.status, ContainerStatus::Error, "the host is full: {}", refused.status_reason);
}
