//! Host actions: HOST_DRAIN moves every container off a draining host (a node's under the node's
//! lock, so no recovery or update of it runs meanwhile), then waits for those meant to run to run elsewhere.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::node::Outputs;
use flotilla_core::action::{ActionKind, Target};
use flotilla_core::container::{Container, DesiredState};
use flotilla_core::event::{Event, EventAction, EventLevel, FAILED, ObjectType, START};
use flotilla_core::host::Host;
use flotilla_core::scheduler::Request;
use flotilla_store::{Scope, StoreError};

pub(crate) async fn run(ctx: &Ctx) -> Result<Outputs, EngineError> {
    match (ctx.action.kind, ctx.action.target) {
        (ActionKind::HostDrain, Target::Host(id)) => drain(ctx, ctx.store().host(&id.to_string()).await?).await,
        (kind, target) => Err(EngineError::failed(format!("{kind} cannot run on {target:?}"))),
    }
}

/// Moves each container still on `host` to the host the scheduler picks (never `host`); a node's
/// container only under the node's lock, its node record following it in the same transaction.
/// Run again after a takeover, it finds only what is left to move.
async fn drain(ctx: &Ctx, host: Host) -> Result<Outputs, EngineError> {
    let store = ctx.store();
    let (mut moved, mut stuck) = (Vec::new(), Vec::new());
    for id in store.containers_on(host.id).await? {
        let c = match store.container(Scope::All, &id.to_string()).await {
            Ok(row) => row.container,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some(node) = store.node_of_container(c.id).await? {
            match store.lock_node(node.id, &ctx.action).await {
                Ok(()) => {}
                Err(StoreError::Conflict(why) | StoreError::Locked(why)) => {
                    migrate_event(ctx, &c, FAILED, &why).await;
                    stuck.push(format!("{}: {why}", c.name));
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut request = Request::for_spec(&c.spec);
        request.host = None;
        request.avoid_hosts.insert(host.name.clone());
        match store.move_container(c.id, &request, &ctx.shared.config.scheduler).await? {
            Ok(to) => {
                ctx.shared.agents.wake(to);
                migrate_event(ctx, &c, START, &format!("moved off draining host {}", host.name)).await;
                moved.push(c);
            }
            Err(why) => {
                migrate_event(ctx, &c, FAILED, &why).await;
                stuck.push(format!("{}: {why}", c.name));
            }
        }
    }
    ctx.shared.agents.wake(host.id);
    // Those meant to run must run again; a stopped or paused one is only placed.
    for c in moved.iter().filter(|c| c.desired == DesiredState::Running) {
        if let Err(e) = crate::node::wait_running(ctx, c.id, None).await {
            match e {
                EngineError::Failed(why) => stuck.push(format!("{}: {why}", c.name)),
                stop => return Err(stop),
            }
        }
    }
    if !stuck.is_empty() {
        return Err(EngineError::failed(format!(
            "host {} is draining but some containers could not move: {}",
            host.name,
            stuck.join("; ")
        )));
    }
    let names: Vec<&str> = moved.iter().map(|c| c.name.as_str()).collect();
    Ok(Outputs::from([("moved".to_owned(), names.join(","))]))
}

/// A CONTAINER_MIGRATE event in the container's project.
async fn migrate_event(ctx: &Ctx, c: &Container, status: &str, reason: &str) {
    let level = if status == FAILED { EventLevel::Warning } else { EventLevel::Info };
    let event = Event::new(ObjectType::Container, c.id.0, c.name.as_str(), EventAction::ContainerMigrate, status)
        .level(level)
        .by(Some(c.project_id), Some(ctx.action.user_id))
        .reason(reason)
        .meta("action", ctx.action.id);
    ctx.record(&event).await;
}
