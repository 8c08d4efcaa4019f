//! The dispatcher: registers this engine as a service and heartbeats, takes over the actions
//! of silent engines, claims READY actions and runs each in its own task, with those handed to
//! it already claimed (`handover.rs`).

use crate::context::{Ctx, Shared};
use crate::error::EngineError;
use crate::handover::Handed;
use crate::node::Done;
use flotilla_core::ServiceId;
use flotilla_core::action::{Action, ActionStatus, Target};
use flotilla_core::event::{END, FAILED, ObjectType, START};
use std::sync::Arc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Claims and runs actions until `stop`, and runs those handed to it already claimed.
pub(crate) async fn run(shared: Arc<Shared>, mut handed: Handed, stop: CancellationToken) {
    let mut service = ServiceId::new();
    let mut work = stop.child_token();
    while let Err(e) = shared.store.register_service(service, &shared.config.name).await {
        tracing::warn!(error = %e, "engine: cannot register; retrying");
        if pause(&stop, shared.config.poll).await {
            return;
        }
    }
    tracing::info!(%service, "engine started");
    let mut beat = tokio::time::interval(shared.config.heartbeat);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = beat.tick() => {
                match shared.store.heartbeat_service(service).await {
                    Ok(true) => {}
                    Ok(false) => {
                        // Declared dead: another engine owns our actions now. Drop them and start afresh.
                        tracing::warn!(%service, "engine: declared dead by another engine; abandoning its actions");
                        work.cancel();
                        work = stop.child_token();
                        service = ServiceId::new();
                        let _ = shared.store.register_service(service, &shared.config.name).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "engine: heartbeat failed"),
                }
                match shared.store.take_over_dead_services(service, shared.config.service_grace).await {
                    Ok(dead) if !dead.is_empty() => {
                        shared.metrics.took_over(dead.len());
                        tracing::warn!(?dead, "engine: took over the actions of silent engines");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "engine: takeover check failed"),
                }
                cancel_requested(&shared, service).await;
                continue;
            }
            Some(actions) = handed.recv() => {
                for action in actions {
                    // Written as the engine's before it was declared dead: another engine takes it over.
                    if action.owner == Some(service) {
                        start(&shared, action, &work);
                    } else {
                        shared.slots.free(1);
                    }
                }
                continue;
            }
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(shared.config.poll) => {}
        }
        // Slots taken before the claim, those it did not fill freed after.
        let wanted = shared.slots.take(500, shared.config.max_running);
        if wanted == 0 {
            continue;
        }
        match shared.store.claim_actions(service, wanted).await {
            Ok(actions) => {
                shared.slots.free(wanted - actions.len());
                let full = actions.len() == wanted;
                for action in actions {
                    start(&shared, action, &work);
                }
                if full {
                    shared.wake.notify_one();
                }
            }
            Err(e) => {
                shared.slots.free(wanted);
                tracing::warn!(error = %e, "engine: cannot claim actions");
            }
        }
    }
    work.cancel();
    if let Err(e) = shared.store.deregister_service(service).await {
        tracing::warn!(error = %e, "engine: cannot deregister");
    }
}

/// Runs `action`, claimed by this engine (its slot taken), in a task of its own under `work`.
fn start(shared: &Arc<Shared>, action: Action, work: &CancellationToken) {
    let (shared, token) = (shared.clone(), work.child_token());
    tokio::spawn(async move {
        execute(shared.clone(), action, token).await;
        // Actions become READY only when written (whose writers wake the dispatcher), so an end
        // matters to it only when it freed a full engine.
        if shared.slots.free(1) >= shared.config.max_running {
            shared.wake.notify_one();
        }
    });
}

/// Whether `stop` came during `for_`.
async fn pause(stop: &CancellationToken, for_: std::time::Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(for_) => false,
    }
}

/// Signals the running actions a user cancelled.
async fn cancel_requested(shared: &Shared, service: ServiceId) {
    let ids = match shared.store.cancels_requested(service).await {
        Ok(ids) => ids,
        Err(e) => return tracing::warn!(error = %e, "engine: cannot read cancellations"),
    };
    for id in ids {
        shared.cancelled.lock().expect("cancel lock").insert(id);
        if let Some(token) = shared.running.lock().expect("running lock").get(&id) {
            token.cancel();
        }
    }
}

/// Runs one claimed action to its end (or until this engine abandons it).
async fn execute(shared: Arc<Shared>, action: Action, token: CancellationToken) {
    shared.running.lock().expect("running lock").insert(action.id, token.clone());
    let started = action.started_at.unwrap_or(action.created_at);
    let elapsed = (flotilla_core::now() - started).to_std().unwrap_or_default();
    let deadline = Instant::now() + std::time::Duration::from_secs(u64::from(action.timeout)).saturating_sub(elapsed);
    let ctx = Ctx { shared: shared.clone(), action, deadline, token };
    let (object_type, object_id) = match ctx.action.target {
        Target::Cluster(c) => (ObjectType::Cluster, c.0),
        Target::Node(n) => (ObjectType::Node, n.0),
        Target::Host(h) => (ObjectType::Host, h.0),
    };
    let prefix = format!("{}_", ctx.action.kind.as_str().to_ascii_lowercase());
    let target_name = ctx.action.name.strip_prefix(&prefix).unwrap_or(&ctx.action.name).to_owned();
    ctx.event(object_type, object_id, &target_name, START, "").await;
    let work = async {
        match ctx.action.target {
            Target::Cluster(_) => crate::cluster::run(&ctx).await.map(Done::from),
            Target::Node(_) => crate::node::run(&ctx).await,
            Target::Host(_) => crate::host::run(&ctx).await.map(Done::from),
        }
    };
    // A panic fails this action only: it still ends, frees its locks and is evaluated below.
    let result = crate::guard::caught(work).await.unwrap_or_else(|panic| {
        tracing::error!(action = %ctx.action.id, kind = %ctx.action.kind, %panic, "engine: an action panicked");
        Err(EngineError::Failed(panic))
    });
    let (status, reason, Done { outputs, node_status }) = match result {
        Ok(done) => (ActionStatus::Succeeded, String::new(), done),
        Err(EngineError::Abandoned) => {
            shared.running.lock().expect("running lock").remove(&ctx.action.id);
            return;
        }
        Err(EngineError::Cancelled) => (ActionStatus::Cancelled, "cancelled".to_owned(), Done::default()),
        Err(e) => (ActionStatus::Failed, e.to_string(), Done::default()),
    };
    if ctx.action.kind.on_cluster()
        && let Target::Cluster(cluster) = ctx.action.target
        && let Err(e) = crate::cluster::evaluate(&ctx, cluster, (status != ActionStatus::Succeeded).then_some(reason.as_str())).await
    {
        tracing::warn!(error = %e, "engine: cannot evaluate a cluster's status");
    }
    // Cluster actions record their progress in their outputs as they run; other actions' outputs
    // are only what they end with (and what they were claimed with).
    let mut all = if ctx.action.kind.on_cluster() {
        ctx.store().action(flotilla_store::Scope::All, &ctx.action.id.to_string()).await.map(|a| a.outputs).unwrap_or_default()
    } else {
        ctx.action.outputs.clone()
    };
    all.extend(outputs);
    let finished = match node_status {
        Some(node_status) => shared.store.finish_node_action(ctx.action.id, status, &reason, &all, node_status).await,
        None => shared.store.finish_action(ctx.action.id, status, &reason, &all).await,
    };
    match finished {
        Ok(false) => tracing::warn!(action = %ctx.action.id, "engine: the action was no longer ours to end (taken over?)"),
        Ok(true) => {
            let took = (flotilla_core::now() - started).to_std().unwrap_or_default();
            shared.metrics.action_ended(ctx.action.kind, status, took);
            let event_status = if status == ActionStatus::Succeeded { END } else { FAILED };
            ctx.event(object_type, object_id, &target_name, event_status, &reason).await;
        }
        Err(e) => tracing::warn!(error = %e, action = %ctx.action.id, "engine: cannot finish an action"),
    }
    shared.running.lock().expect("running lock").remove(&ctx.action.id);
    shared.cancelled.lock().expect("cancel lock").remove(&ctx.action.id);
    shared.ended.notify_waiters();
}
