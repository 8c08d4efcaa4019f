//! No lost update: writers racing on one row (an agent's report and an engine's write of a
//! container, two agents' reports of many containers and API deletes of some, updates of several
//! containers at once, heartbeat batches and placements, child actions and a node action on one node, actions ending at once, an API PATCH and the engine's status of a node or a cluster, node indexes taken at once; tallies of hosts and projects under creates, resizes, moves and deletes at once) each
//! keep what they wrote. Many rounds make the race likely; it shows on PostgreSQL
//! (SQLite's single writer hides it, and runs the same checks). Under `CI=true` a missing
//! PostgreSQL (`FLOTILLA_TEST_POSTGRES_URL`) fails the run.

use flotilla_core::action::{Action, ActionKind, ActionStatus, Cause, Target};
use flotilla_core::cluster::ClusterStatus;
use flotilla_core::container::{Container, ContainerHealth, ContainerStatus, DesiredState, Observation};
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::profile::ContainerProperties;
use flotilla_core::scheduler::{Request, Settings};
use flotilla_core::{ClusterId, ContainerId, HostId, Metadata, NodeId, ProfileId, ProjectId};
use flotilla_store::{ClusterChanges, ContainerChanges, HostHeartbeat, NodeChanges, Scope, Store, StoreError};

mod support;

use support::{name, node, project_with_profile as project};

const ROUNDS: usize = 60;

async fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(&format!("sqlite://{}", dir.path().join("flotilla.db").display())).await.unwrap();
    let mut stores = vec![(sqlite, Some(dir))];
    match std::env::var("FLOTILLA_TEST_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("races_{}", uuid::Uuid::now_v7().simple());
            let url = flotilla_store::create_postgres_database(&server, &name).await.unwrap();
            stores.push((Store::connect(&url).await.unwrap(), None));
        }
        Err(_) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
            eprintln!("FLOTILLA_TEST_POSTGRES_URL not set: PostgreSQL half skipped outside CI (scripts/test.sh sets it)");
        }
    }
    stores
}

/// A project with a profile, for rows that need both.
/// A container placed on a fresh host, CREATING at generation 1.
async fn container(store: &Store, project: ProjectId) -> (HostId, ContainerId) {
    let host = store.register_host(support::registration("host-1"), support::admitted(), "digest-1").await.unwrap().host;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let row =
        store.create_container(support::container(project, spec.clone()), &Request::for_spec(&spec), &Settings::default()).await.unwrap();
    assert_eq!(row.container.host_id, Some(host.id));
    (host.id, row.container.id)
}

fn report(id: ContainerId, generation: u64, round: usize) -> Observation {
    Observation {
        id,
        generation,
        runtime_id: Some(format!("r{round}")),
        status: Some(ContainerStatus::Running),
        exit_code: None,
        reason: format!("round {round}"),
        health: Some(ContainerHealth::Healthy),
        cpu_percent: Some(5.0),
    }
}

fn round_metadata(round: usize) -> Metadata {
    Metadata::from([("round".to_owned(), round.to_string())])
}

/// An agent's report racing an engine's (or a PATCH's) write of the same container: both land.
async fn reports_and_engine_writes(store: &Store) {
    let (project, _) = project(store).await;
    let (host, id) = container(store, project).await;
    for round in 0..ROUNDS {
        let (agent, engine, patch) = (store.clone(), store.clone(), store.clone());
        let observed = tokio::spawn(async move { agent.apply_observations(host, &[report(id, 1, round)]).await.unwrap() });
        let desired = tokio::spawn(async move {
            let changes = ContainerChanges { metadata: Some(round_metadata(round)), ..Default::default() };
            engine.update_container(id, changes).await.unwrap()
        });
        let renamed = tokio::spawn(async move {
            let changes = ContainerChanges { name: Some(name(&format!("web-{round}"))), ..Default::default() };
            patch.update_container(id, changes).await.unwrap()
        });
        let (_, _, _) = (observed.await.unwrap(), desired.await.unwrap(), renamed.await.unwrap());
        let c = store.container(Scope::All, &id.to_string()).await.unwrap().container;
        assert_eq!(c.status, ContainerStatus::Running, "round {round}: the agent's report was undone: {c:?}");
        assert_eq!(c.health, ContainerHealth::Healthy, "round {round}: the agent's report was undone");
        assert_eq!(c.metadata, round_metadata(round), "round {round}: the engine's write was undone");
        assert_eq!(c.name.as_str(), format!("web-{round}"), "round {round}: the PATCH was undone");
        let reset = ContainerChanges { status: Some((ContainerStatus::Creating, String::new())), ..Default::default() };
        store.update_container(id, reset).await.unwrap();
    }
}

/// A rebuild (a generation bump) racing a report of the old generation: the bump is kept, and
/// the old generation's report is never applied to the new one.
async fn generation_bumps_and_stale_reports(store: &Store) {
    let (project, _) = project(store).await;
    let (host, id) = container(store, project).await;
    for round in 0..ROUNDS {
        let generation = store.container(Scope::All, &id.to_string()).await.unwrap().container.generation;
        let (agent, engine) = (store.clone(), store.clone());
        let observed = tokio::spawn(async move { agent.apply_observations(host, &[report(id, generation, round)]).await.unwrap() });
        let rebuilt = tokio::spawn(async move {
            engine.update_container(id, ContainerChanges { bump_generation: true, ..Default::default() }).await.unwrap()
        });
        let (_, _) = (observed.await.unwrap(), rebuilt.await.unwrap());
        let c = store.container(Scope::All, &id.to_string()).await.unwrap().container;
        assert_eq!(c.generation, generation + 1, "round {round}: the rebuild was undone");
        assert_eq!(c.health, ContainerHealth::Unknown, "round {round}: generation {generation}'s report landed on {}", c.generation);
    }
}

/// Two agents' reports of many containers (one in reverse order, removals among them) racing API
/// deletes and engine writes of some of the same rows: no deadlock, every row gets its own
/// report's values, each write lands, and whatever was deleted or removed is gone.
async fn reports_of_many_racing_deletes(store: &Store) {
    const MANY: usize = 24;
    let (project, _) = project(store).await;
    let mut registration = support::registration("reporter");
    registration.tunnel_address = Some([198, 51, 100, 7].into());
    let host = store.register_host(registration, support::admitted(), "digest-r").await.unwrap().host.id;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    for round in 0..ROUNDS / 4 {
        let mut ids = Vec::new();
        for i in 0..MANY {
            let c = placed(store, project, &format!("many-{round}-{i}"), &spec).await;
            assert_eq!(c.host_id, Some(host));
            ids.push(c.id);
        }
        // The first four are being deleted: their host reports them gone.
        for id in &ids[..4] {
            store.update_container(*id, ContainerChanges { desired: Some(DesiredState::Deleted), ..Default::default() }).await.unwrap();
        }
        let seen = |who: &str, i: usize, id: ContainerId| Observation { reason: format!("{who} {i}"), ..report(id, 1, round) };
        let first: Vec<Observation> = ids.iter().enumerate().map(|(i, id)| seen("first", i, *id)).collect();
        let second: Vec<Observation> = ids
            .iter()
            .enumerate()
            .rev()
            .map(|(i, id)| if i < 4 { Observation { status: None, ..seen("second", i, *id) } } else { seen("second", i, *id) })
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for report in [first, second] {
            let agent = store.clone();
            tasks.spawn(async move {
                agent.apply_observations(host, &report).await.unwrap();
            });
        }
        for id in ids[4..8].iter().copied() {
            let api = store.clone();
            tasks.spawn(async move { api.delete_container(id).await.unwrap() });
        }
        for id in ids[8..12].iter().copied() {
            let engine = store.clone();
            tasks.spawn(async move {
                let changes = ContainerChanges { metadata: Some(round_metadata(round)), ..Default::default() };
                engine.update_container(id, changes).await.unwrap();
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        for (i, id) in ids.iter().enumerate() {
            let left = store.container(Scope::All, &id.to_string()).await;
            if i < 8 {
                assert!(left.is_err(), "round {round}: container {i} was deleted or removed, yet is still there");
                continue;
            }
            let c = left.unwrap().container;
            assert_eq!(c.status, ContainerStatus::Running, "round {round}: container {i}'s report was undone: {c:?}");
            assert!(c.status_reason.ends_with(&format!(" {i}")), "round {round}: container {i} got another's report: {c:?}");
            if i < 12 {
                assert_eq!(c.metadata, round_metadata(round), "round {round}: the engine's write of container {i} was undone");
            }
        }
    }
}

/// Reports of several hosts made at once (written together), each container reported twice by
/// its host, running and stopped: each report's change is answered, whichever comes first (the
/// later report of a container is judged against the row as the earlier one left it, not both
/// against the row as it was).
async fn reports_at_once_judged_in_turn(store: &Store) {
    const HOSTS: usize = 4;
    const PER_HOST: usize = 4;
    let (project, _) = project(store).await;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    let mut on_host = Vec::new();
    for h in 0..HOSTS {
        store.register_host(support::registration(&format!("turns-{h}")), support::admitted(), &format!("digest-t{h}")).await.unwrap();
        for i in 0..PER_HOST {
            let c = placed(store, project, &format!("turns-{h}-{i}"), &spec).await;
            on_host.push((c.host_id.expect("placed"), c.id));
        }
    }
    let as_status = |id: ContainerId, status: ContainerStatus, round: usize| Observation {
        status: Some(status),
        health: None,
        cpu_percent: None,
        reason: format!("{} {round}", status.as_str()),
        ..report(id, 1, round)
    };
    for round in 0..ROUNDS / 4 {
        let mut tasks = tokio::task::JoinSet::new();
        for (host, id) in on_host.iter().copied() {
            for status in [ContainerStatus::Running, ContainerStatus::Stopped] {
                let (agent, seen) = (store.clone(), as_status(id, status, round));
                tasks.spawn(async move { agent.apply_observations(host, &[seen]).await.unwrap() });
            }
        }
        let mut changes = std::collections::HashMap::new();
        while let Some(done) = tasks.join_next().await {
            for c in done.unwrap().status {
                changes.entry(c.id).or_insert_with(Vec::new).push((c.from, c.to));
            }
        }
        for (_, id) in &on_host {
            let seen = changes.get(id).map(Vec::len);
            assert_eq!(seen, Some(2), "round {round}: {id} was reported running and stopped, answered {:?}", changes.get(id));
            let c = store.container(Scope::All, &id.to_string()).await.unwrap().container;
            // Answered in any order, one change starts where the other ends, at the row's status.
            let (a, b) = (changes[id][0], changes[id][1]);
            let last = if a.1 == b.0 { b } else { a };
            assert!(a.1 == b.0 || b.1 == a.0, "round {round}: {id}'s changes do not chain: {:?}", changes[id]);
            assert_eq!(last.1, c.status, "round {round}: {id} is {}, answered {:?}", c.status.as_str(), changes[id]);
        }
        // Created again, for the next round.
        for (host, id) in on_host.iter().copied() {
            store.apply_observations(host, &[as_status(id, ContainerStatus::Created, round)]).await.unwrap();
        }
    }
}

/// Updates of several containers at once (written together on SQLite): each lands, and one refused (a
/// name another took in the same moment, a container deleted meanwhile) is answered its own
/// error while the others land.
async fn updates_at_once_land_or_are_refused_alone(store: &Store) {
    let (project, _) = project(store).await;
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    for round in 0..ROUNDS / 4 {
        let mut ids = Vec::new();
        for i in 0..8 {
            ids.push(placed(store, project, &format!("upd-{round}-{i}"), &spec).await.id);
        }
        let gone = placed(store, project, &format!("gone-{round}"), &spec).await.id;
        store.delete_container(gone).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, id) in ids.iter().copied().enumerate() {
            let writer = store.clone();
            // The last two want the same name: one gets it.
            let wanted = if i < 6 { format!("renamed-{round}-{i}") } else { format!("renamed-{round}-both") };
            tasks.spawn(async move {
                let changes = ContainerChanges { name: Some(name(&wanted)), metadata: Some(round_metadata(round)), ..Default::default() };
                (i, writer.update_container(id, changes).await.map(|row| row.container))
            });
        }
        let writer = store.clone();
        tasks.spawn(async move { (usize::MAX, writer.update_container(gone, ContainerChanges::default()).await.map(|row| row.container)) });
        let mut both = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (usize::MAX, answer) => {
                    assert!(
                        matches!(answer, Err(StoreError::NotFound { .. })),
                        "round {round}: a deleted container was updated: {answer:?}"
                    )
                }
                (i, answer) if i < 6 => {
                    let c = answer.unwrap_or_else(|e| panic!("round {round}: container {i}'s update was refused: {e}"));
                    assert_eq!((c.name.as_str(), &c.metadata), (format!("renamed-{round}-{i}").as_str(), &round_metadata(round)));
                }
                (_, answer) => both.push(answer),
            }
        }
        let (got, refused): (Vec<_>, Vec<_>) = both.into_iter().partition(Result::is_ok);
        assert_eq!(got.len(), 1, "round {round}: one of two wanting a name gets it: {refused:?}");
        assert!(matches!(refused[..], [Err(StoreError::NameTaken { .. })]), "round {round}: the other is refused: {refused:?}");
    }
}

/// Two heartbeat batches of the same hosts (in opposite orders) racing placements, which bump the
/// revisions of the hosts they fill: no deadlock, every host alive, and each host's row holds
/// one batch's beat whole (its version and its memory figure from the same beat).
async fn heartbeats_racing_placements(store: &Store) {
    let (project, _) = project(store).await;
    let mut hosts = Vec::new();
    for i in 0..40 {
        hosts.push(
            store
                .register_host(support::registration(&format!("beating-{i}")), support::admitted(), &format!("digest-beating-{i}"))
                .await
                .unwrap()
                .host
                .id,
        );
    }
    let spec = ContainerProperties { image: "demo".into(), ..Default::default() };
    for round in 0..ROUNDS / 4 {
        let mut tasks = tokio::task::JoinSet::new();
        for (batch, who) in ["a", "b"].into_iter().enumerate() {
            let mut beats: Vec<HostHeartbeat> = hosts
                .iter()
                .map(|host| HostHeartbeat {
                    host: *host,
                    capacity: flotilla_core::scheduler::Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 1000 },
                    utilisation: flotilla_core::host::Utilisation { cpu_percent: 1.0, memory_used_mib: (round * 2 + batch) as u64 },
                    images: Vec::new(),
                    agent_version: format!("{who}-{round}"),
                    at: flotilla_core::now(),
                })
                .collect();
            if batch == 1 {
                beats.reverse();
            }
            let agents = store.clone();
            tasks.spawn(async move {
                agents.record_heartbeats(&beats).await.unwrap();
            });
        }
        for i in 0..4 {
            let (api, spec) = (store.clone(), spec.clone());
            tasks.spawn(async move {
                placed(&api, project, &format!("beat-{round}-{i}"), &spec).await;
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        for host in &hosts {
            let h = store.host(&host.to_string()).await.unwrap();
            assert!(h.alive, "round {round}: host {host} is not alive");
            let batch = match h.agent_version.strip_suffix(&format!("-{round}")) {
                Some("a") => 0,
                Some("b") => 1,
                _ => panic!("round {round}: host {host} holds no beat of this round: {}", h.agent_version),
            };
            assert_eq!(h.utilisation.memory_used_mib, (round * 2 + batch) as u64, "round {round}: host {host} holds two beats' halves");
        }
    }
}

/// A PATCH of a node (name, role, metadata) racing the engine's status write: all land.
async fn node_patches_and_status_writes(store: &Store) {
    let (project, profile) = project(store).await;
    let n = node(project, profile);
    store.adopt_node(&n).await.unwrap();
    let id = n.id;
    for round in 0..ROUNDS {
        let writes = [
            NodeChanges { name: Some(name(&format!("n-{round}"))), ..Default::default() },
            NodeChanges { status: Some((NodeStatus::Active, format!("round {round}"))), ..Default::default() },
            NodeChanges { role: Some(format!("role-{round}")), ..Default::default() },
            NodeChanges { metadata: Some(round_metadata(round)), ..Default::default() },
        ];
        let tasks: Vec<_> = writes
            .into_iter()
            .map(|changes| {
                let store = store.clone();
                tokio::spawn(async move { store.update_node(id, changes).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let n = store.node(Scope::All, &id.to_string()).await.unwrap();
        let seen = (n.name.to_string(), n.status_reason.clone(), n.role.clone(), n.metadata.clone());
        let wanted = (format!("n-{round}"), format!("round {round}"), format!("role-{round}"), round_metadata(round));
        assert_eq!(seen, wanted, "round {round}: a write to node {id} was lost");
    }
}

async fn cluster(store: &Store, project: ProjectId, profile: ProfileId) -> ClusterId {
    let _now = flotilla_core::now();
    let c = support::cluster("web", project, profile);
    let action = Action::new(ActionKind::ClusterCreate, Target::Cluster(c.id), "web", project, c.user_id, Cause::User);
    store.create_cluster(&c, &action).await.unwrap();
    c.id
}

/// A resize of a cluster (desired capacity) racing the engine's status and a PATCH of its
/// metadata, while two callers take node indexes: every write lands, no index is handed out twice.
async fn cluster_writes_and_node_indexes(store: &Store) {
    let (project, profile) = project(store).await;
    let id = cluster(store, project, profile).await;
    let mut indexes = Vec::new();
    for round in 0..ROUNDS {
        let writes = [
            ClusterChanges { desired_capacity: Some(round as i64), ..Default::default() },
            ClusterChanges { status: Some((ClusterStatus::Active, format!("round {round}"))), ..Default::default() },
            ClusterChanges { metadata: Some(round_metadata(round)), ..Default::default() },
        ];
        let updates: Vec<_> = writes
            .into_iter()
            .map(|changes| {
                let store = store.clone();
                tokio::spawn(async move { store.update_cluster(id, changes).await.unwrap() })
            })
            .collect();
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.take_node_indexes(id, 1).await.unwrap() })
            })
            .collect();
        for t in updates {
            t.await.unwrap();
        }
        for t in takers {
            indexes.push(t.await.unwrap());
        }
        let c = store.cluster(Scope::All, &id.to_string()).await.unwrap();
        let seen = (c.desired_capacity, c.status_reason.clone(), c.metadata.clone());
        assert_eq!(
            seen,
            (round as i64, format!("round {round}"), round_metadata(round)),
            "round {round}: a write to cluster {id} was lost"
        );
    }
    indexes.sort();
    let expected: Vec<i64> = (1..=2 * ROUNDS as i64).collect();
    assert_eq!(indexes, expected, "every node index handed out once");
    assert_eq!(store.cluster(Scope::All, &id.to_string()).await.unwrap().next_index, 2 * ROUNDS as i64 + 1);
}

/// A placed container named `n` of `spec`, in `project`.
async fn placed(store: &Store, project: ProjectId, n: &str, spec: &ContainerProperties) -> Container {
    let mut c = support::container(project, spec.clone());
    c.name = name(n);
    store.create_container(c, &Request::for_spec(spec), &Settings::default()).await.unwrap().container
}

/// Creates, resizes, moves and deletes of containers at once (tally rows inserted by the
/// triggers while placements fold them, past the 64 rows a tally keeps unfolded): each host's
/// count, CPU and memory, and the project's usage, still equal sums over the containers left.
async fn tallies_under_concurrent_writers(store: &Store) {
    let (project, _) = project(store).await;
    let hosts = [
        store.register_host(support::registration("tally-a"), support::admitted(), "digest-a").await.unwrap().host.id,
        store.register_host(support::registration("tally-b"), support::admitted(), "digest-b").await.unwrap().host.id,
    ];
    let spec = ContainerProperties { image: "demo".into(), cpu: Some(0.01), memory: Some(8), ..Default::default() };
    let mut first = Vec::new();
    for i in 0..30 {
        first.push(placed(store, project, &format!("first-{i}"), &spec).await);
    }
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let (store, spec) = (store.clone(), spec.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                placed(&store, project, &format!("w{writer}-{i}"), &spec).await;
            }
        }));
    }
    let doomed: Vec<ContainerId> = first[..10].iter().map(|c| c.id).collect();
    let resized: Vec<ContainerId> = first[10..20].iter().map(|c| c.id).collect();
    let moved: Vec<(ContainerId, HostId)> = first[20..25].iter().map(|c| (c.id, c.host_id.unwrap())).collect();
    let s = store.clone();
    tasks.push(tokio::spawn(async move {
        for id in doomed {
            s.delete_container(id).await.unwrap();
        }
    }));
    let s = store.clone();
    tasks.push(tokio::spawn(async move {
        for id in resized {
            s.update_container(id, ContainerChanges { cpu: Some(0.3), memory: Some(24), ..Default::default() }).await.unwrap();
        }
    }));
    let (s, spec_moved) = (store.clone(), spec.clone());
    tasks.push(tokio::spawn(async move {
        for (id, from) in moved {
            let away = Request { avoid_hosts: [from.to_string()].into(), ..Request::for_spec(&spec_moved) };
            s.move_container(id, &away, &Settings::default()).await.unwrap().unwrap();
        }
    }));
    for t in tasks {
        t.await.unwrap();
    }
    let all = flotilla_core::ListParams { limit: 1000, ..Default::default() };
    let left = store.list_containers(Scope::Project(project), Default::default(), &all).await.unwrap().items;
    assert_eq!(left.len(), 120, "30 first, 100 made at once, 10 deleted");
    let sums = |on: Vec<&Container>| {
        (on.len() as u64, on.iter().map(|c| c.spec.cpu_millis()).sum::<u64>(), on.iter().map(|c| c.spec.memory_mib()).sum::<u64>())
    };
    for host in hosts {
        let shown = store.host(&host.to_string()).await.unwrap();
        let on = left.iter().map(|r| &r.container).filter(|c| c.host_id == Some(host)).collect();
        assert_eq!((shown.container_count, shown.allocated.cpu_millis, shown.allocated.memory_mib), sums(on), "host {host}");
    }
    let (_, used) = store.quota(project).await.unwrap();
    assert_eq!((used.containers, used.cpu_millis, used.memory_mib), sums(left.iter().map(|r| &r.container).collect()));
}

/// Node actions and a cluster action ending at once (written together, `action_ends.rs`): each
/// ends with its own status, reason and outputs and frees its node's (or cluster's) lock; one
/// that had ended already answers false and keeps its first end.
async fn actions_ending_at_once(store: &Store) {
    const MANY: usize = 12;
    let (project, profile) = project(store).await;
    let pairs: Vec<(Node, Action)> = (0..MANY)
        .map(|i| {
            let mut n = node(project, profile);
            n.name = name(&format!("ending-{i}"));
            let action = Action::new(ActionKind::NodeCreate, Target::Node(n.id), n.name.as_str(), project, n.user_id, Cause::User);
            (n, action)
        })
        .collect();
    store.create_nodes(&pairs).await.unwrap();
    // A cluster action (holding its cluster's lock) ends among them.
    let c = support::cluster("ending", project, profile);
    let create = Action::new(ActionKind::ClusterCreate, Target::Cluster(c.id), "ending", project, c.user_id, Cause::User);
    store.create_cluster(&c, &create).await.unwrap();
    assert_eq!(store.claim_actions(flotilla_core::ServiceId::new(), 100).await.unwrap().len(), MANY + 1);
    assert!(store.finish_action(pairs[0].1.id, ActionStatus::Succeeded, "first", &Default::default()).await.unwrap());
    let status = |i: usize| if i.is_multiple_of(2) { ActionStatus::Succeeded } else { ActionStatus::Failed };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (_, action)) in pairs.iter().enumerate() {
        let (store, id) = (store.clone(), action.id);
        tasks.spawn(async move {
            let outputs = std::collections::BTreeMap::from([("i".to_owned(), i.to_string())]);
            (i, store.finish_action(id, status(i), &format!("reason {i}"), &outputs).await.unwrap())
        });
    }
    let cluster_end = {
        let (store, id) = (store.clone(), create.id);
        tokio::spawn(async move { store.finish_action(id, ActionStatus::Succeeded, "made", &Default::default()).await.unwrap() })
    };
    while let Some(done) = tasks.join_next().await {
        let (i, ended) = done.unwrap();
        assert_eq!(ended, i != 0, "action {i} ended (again?)");
    }
    assert!(cluster_end.await.unwrap(), "the cluster action ended");
    let next = Action::new(ActionKind::ClusterCheck, Target::Cluster(c.id), "ending", project, c.user_id, Cause::User);
    store.submit_cluster_action(&next, false).await.unwrap_or_else(|e| panic!("the cluster's lock was not freed: {e}"));
    for (i, (n, action)) in pairs.iter().enumerate() {
        let a = store.action(Scope::All, &action.id.to_string()).await.unwrap();
        let (want_status, want_reason) =
            if i == 0 { (ActionStatus::Succeeded, "first".to_owned()) } else { (status(i), format!("reason {i}")) };
        assert_eq!((a.status, a.status_reason.as_str()), (want_status, want_reason.as_str()), "action {i}");
        assert_eq!(a.outputs.get("i").cloned(), (i != 0).then(|| i.to_string()), "action {i}'s outputs");
        let next = Action::new(ActionKind::NodeCheck, Target::Node(n.id), n.name.as_str(), project, n.user_id, Cause::User);
        store.submit_node_action(n.id, &next).await.unwrap_or_else(|e| panic!("node {i}'s lock was not freed: {e}"));
    }
}

/// Nodes' status writes made at once (written together, `node_statuses.rs`) racing users'
/// PATCHes of the same nodes and reads of them (gathered, `gathered_reads.rs`): every status,
/// reason and role lands on its own node, each write answers its own node, reads answer the node
/// asked for, and a write or read of a node that is not there answers "not found" alone.
async fn node_statuses_and_reads_at_once(store: &Store) {
    const MANY: usize = 12;
    let (project, profile) = project(store).await;
    let mut nodes = Vec::new();
    for i in 0..MANY {
        let mut n = node(project, profile);
        n.name = name(&format!("status-{i}"));
        store.adopt_node(&n).await.unwrap();
        nodes.push(n.id);
    }
    let missing = NodeId::new();
    for round in 0..ROUNDS / 6 {
        let status = move |i: usize| if (i + round).is_multiple_of(2) { NodeStatus::Active } else { NodeStatus::Error };
        let mut writes = tokio::task::JoinSet::new();
        let mut patches = tokio::task::JoinSet::new();
        let mut reads = tokio::task::JoinSet::new();
        for (i, id) in nodes.iter().copied().enumerate() {
            let writer = store.clone();
            writes.spawn(async move { (i, id, writer.set_node_status(id, status(i), &format!("round {round} node {i}")).await.unwrap()) });
            let patcher = store.clone();
            patches.spawn(async move {
                patcher.update_node(id, NodeChanges { role: Some(format!("role {round} {i}")), ..Default::default() }).await.unwrap()
            });
            let reader = store.clone();
            reads.spawn(async move { (id, reader.node_now(id).await.unwrap()) });
        }
        let absent = store.clone();
        let wrote_missing = tokio::spawn(async move { absent.set_node_status(missing, NodeStatus::Active, "").await });
        let absent = store.clone();
        let read_missing = tokio::spawn(async move { (absent.node_now(missing).await, absent.container_now(ContainerId::new()).await) });
        while let Some(done) = writes.join_next().await {
            let (i, id, written) = done.unwrap();
            assert_eq!((written.id, written.status, written.status_reason), (id, status(i), format!("round {round} node {i}")));
        }
        while let Some(done) = patches.join_next().await {
            done.unwrap();
        }
        while let Some(done) = reads.join_next().await {
            let (id, read) = done.unwrap();
            assert_eq!(read.id, id, "a read answered another node");
        }
        assert!(matches!(wrote_missing.await.unwrap(), Err(StoreError::NotFound { kind: "node", .. })));
        let (node, container) = read_missing.await.unwrap();
        assert!(matches!(node, Err(StoreError::NotFound { kind: "node", .. })), "{node:?}");
        assert!(container.unwrap().is_none());
        for (i, id) in nodes.iter().enumerate() {
            let n = store.node(Scope::All, &id.to_string()).await.unwrap();
            let seen = (n.status, n.status_reason, n.role);
            assert_eq!(seen, (status(i), format!("round {round} node {i}"), format!("role {round} {i}")), "round {round}: node {i}");
        }
    }
}

/// A cluster action's child actions (their node locks taken together, `take_node_locks`) racing
/// a user's action on one of the same nodes: exactly one side gets the node, the other is refused
/// as locked, never both.
async fn child_actions_racing_a_node_action(store: &Store) {
    let (project, profile) = project(store).await;
    for round in 0..ROUNDS / 4 {
        let nodes: Vec<Node> = (0..4)
            .map(|i| {
                let mut n = node(project, profile);
                n.name = name(&format!("locked-{round}-{i}"));
                n
            })
            .collect();
        for n in &nodes {
            store.adopt_node(n).await.unwrap();
        }
        let action = |n: &Node, kind| Action::new(kind, Target::Node(n.id), n.name.as_str(), project, n.user_id, Cause::User);
        let children: Vec<Action> = nodes.iter().rev().map(|n| action(n, ActionKind::NodeDelete)).collect();
        let (target, single) = (nodes[round % 4].id, action(&nodes[round % 4], ActionKind::NodeCheck));
        let (engine, user) = (store.clone(), store.clone());
        let derived = tokio::spawn(async move { engine.submit_child_actions(&children).await });
        let checked = tokio::spawn(async move { user.submit_node_action(target, &single).await });
        let (derived, checked) = (derived.await.unwrap(), checked.await.unwrap());
        match (&derived, &checked) {
            (Ok(()), Err(StoreError::Locked(_))) | (Err(StoreError::Locked(_)), Ok(())) => {}
            other => panic!("round {round}: one side must get the node, the other be refused: {other:?}"),
        }
    }
}

macro_rules! races {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                for (store, _dir) in super::stores().await {
                    super::$case(&store).await;
                }
            }
        )*
    };
}

mod on_both_backends {
    races!(
        reports_and_engine_writes,
        generation_bumps_and_stale_reports,
        reports_of_many_racing_deletes,
        reports_at_once_judged_in_turn,
        updates_at_once_land_or_are_refused_alone,
        heartbeats_racing_placements,
        node_patches_and_status_writes,
        cluster_writes_and_node_indexes,
        tallies_under_concurrent_writers,
        actions_ending_at_once,
        node_statuses_and_reads_at_once,
        child_actions_racing_a_node_action,
    );
}

/// A heartbeat is written while a transaction that put a container on its host is still open,
/// not after it: that transaction holds, until it commits, the key-share lock its container row
/// takes on the host and the host's bumped revision (a scale-out's placement batch holds them its
/// whole length). PostgreSQL only: SQLite's one writer makes every writer wait its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_do_not_wait_for_an_open_placement() {
    use sqlx::Connection;
    let Ok(server) = std::env::var("FLOTILLA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = flotilla_store::create_postgres_database(&server, &format!("beats_{}", uuid::Uuid::now_v7().simple())).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    let host = store.register_host(support::registration("busy"), support::admitted(), "digest-busy").await.unwrap().host.id;
    let before = store.host_revision(host).await.unwrap();

    let mut placement = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = placement.begin().await.unwrap();
    // What inserting a container row on the host takes (its foreign key), and the revision bump.
    sqlx::query("SELECT id FROM hosts WHERE id = $1 FOR KEY SHARE").bind(host.to_string()).fetch_one(&mut *tx).await.unwrap();
    sqlx::query("UPDATE host_revisions SET revision = revision + 1 WHERE host_id = $1")
        .bind(host.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();

    let beat = HostHeartbeat {
        host,
        capacity: flotilla_core::scheduler::Resources { cpu_millis: 4000, memory_mib: 8192, disk_mib: 1000 },
        utilisation: flotilla_core::host::Utilisation { cpu_percent: 1.0, memory_used_mib: 77 },
        images: Vec::new(),
        agent_version: "beating".into(),
        at: flotilla_core::now(),
    };
    let written = tokio::time::timeout(std::time::Duration::from_secs(5), store.record_heartbeats(&[beat])).await;
    written.expect("the heartbeat waited for the open placement").unwrap();
    assert_eq!(store.host(&host.to_string()).await.unwrap().utilisation.memory_used_mib, 77);
    tx.commit().await.unwrap();
    assert_eq!(store.host_revision(host).await.unwrap(), before + 1, "the placement's bump landed too");
}
