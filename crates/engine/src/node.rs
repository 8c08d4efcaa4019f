//! Node actions: create (place and run the container), delete, update (new profile, same
//! host), check, recover (RESTART, REBUILD, RECREATE) and operations. Each holds its node's lock.

use crate::context::Ctx;
use crate::error::EngineError;
use crate::inputs::{NodeInputs, ProfileInputs};
use crate::watch::AfterWrite;
use flotilla_core::action::{ActionInputs, ActionKind, Cause, NodeOperation, RecoverAction, Target};
use flotilla_core::container::{Container, ContainerStatus, DesiredState};
use flotilla_core::node::{Node, NodeStatus};
use flotilla_core::policy::deletion::Removal;
use flotilla_core::scheduler::Request;
use flotilla_core::{ContainerId, ProfileId};
use flotilla_store::{ContainerChanges, NodeChanges, NodePlacement, Scope, Store, StoreError};
use std::collections::BTreeMap;

pub(crate) type Outputs = BTreeMap<String, String>;

/// What an action that succeeded ends with: its outputs, and for a node action that leaves its
/// node with a new status, that status (written with the action's end, where the node's lock is
/// freed: one write fewer, and no node seen ACTIVE while its create still runs).
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub outputs: Outputs,
    pub node_status: Option<NodeStatus>,
}

impl From<Outputs> for Done {
    fn from(outputs: Outputs) -> Self {
        Done { outputs, node_status: None }
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Done, EngineError> {
    let Target::Node(id) = ctx.action.target else { return Err(EngineError::failed("not a node action")) };
    let node = match ctx.store().node_now(id).await {
        Ok(node) => node,
        Err(StoreError::NotFound { .. }) if ctx.action.kind == ActionKind::NodeDelete => return Ok(Done::default()),
        Err(e) => return Err(e.into()),
    };
    let outputs = match (ctx.action.kind, &ctx.action.inputs) {
        (ActionKind::NodeCreate, ActionInputs::NodeCreate { zone }) => return create(ctx, node, zone.clone()).await,
        (ActionKind::NodeCreate, _) => return create(ctx, node, None).await,
        (ActionKind::NodeDelete, _) => delete(ctx, node).await,
        (ActionKind::NodeUpdate, ActionInputs::Update { profile }) => update(ctx, node, *profile).await,
        (ActionKind::NodeCheck, _) => check(ctx, node).await,
        (ActionKind::NodeRecover, ActionInputs::Recover { action }) => recover(ctx, node, *action).await,
        (ActionKind::NodeRecover, _) => recover(ctx, node, RecoverAction::Recreate).await,
        (ActionKind::NodeOperation, ActionInputs::Operation { operation, .. }) => operate(ctx, node, *operation).await,
        (kind, inputs) => Err(EngineError::failed(format!("{kind} cannot run with inputs {inputs:?}"))),
    };
    outputs.map(Done::from)
}

async fn set_status(ctx: &Ctx, node: &Node, status: NodeStatus, reason: impl Into<String>) -> Result<Node, EngineError> {
    Ok(ctx.store().set_node_status(node.id, status, &reason.into()).await?)
}

/// The container `node` should run, from its profile.
pub(crate) async fn container_for(store: &Store, node: &Node, profile: ProfileId) -> Result<(Container, Request), EngineError> {
    Ok(container_from(node, ProfileInputs::read(store, node.project_id, profile).await?))
}

/// The container `node` should run from `inputs`, and what it asks of a host.
pub(crate) fn container_from(node: &Node, inputs: ProfileInputs) -> (Container, Request) {
    let spec = inputs.spec;
    let now = flotilla_core::now();
    let mut metadata = flotilla_core::Metadata::new();
    metadata.insert("node".to_owned(), node.name.to_string());
    if let Some(cluster) = node.cluster_id {
        metadata.insert("cluster".to_owned(), cluster.to_string());
    }
    let request = Request::for_spec(&spec);
    let container = Container {
        id: ContainerId::new(),
        name: node.name.clone(),
        project_id: node.project_id,
        user_id: node.user_id,
        spec,
        image_id: inputs.image,
        host_id: None,
        desired: DesiredState::Running,
        generation: 1,
        status: ContainerStatus::Creating,
        status_reason: String::new(),
        runtime_id: None,
        exit_code: None,
        metadata,
        health: Default::default(),
        cpu_percent: None,
        observed_at: None,
        created_at: now,
        updated_at: now,
    };
    (container, request)
}

/// What the placer gets for a new `node` made from `inputs` (in `zone` when a zone placement
/// chose one): its container, and the request narrowed by the cluster's affinity policy.
pub(crate) async fn placement_for(
    store: &Store,
    node: &Node,
    inputs: NodeInputs,
    zone: Option<String>,
) -> Result<NodePlacement, EngineError> {
    let (container, mut request) = container_from(node, inputs.profile);
    if let Some(zone) = zone {
        request.constraints.push(format!("zone == {zone}"));
    }
    crate::policies::shape_request(store, node.cluster_id, &inputs.policies, &mut request).await?;
    Ok(NodePlacement { node: node.id, cluster: node.cluster_id, container, request })
}

/// Waits until `id` runs (from `written`, this action's own write of it, when given); an error,
/// an exit or its disappearance fails the wait.
pub(crate) async fn wait_running(ctx: &Ctx, id: ContainerId, written: Option<AfterWrite>) -> Result<Container, EngineError> {
    ctx.wait_container_after(id, written, |c| match c {
        None => Some(Err("its container disappeared".to_owned())),
        Some(c) => match c.status {
            ContainerStatus::Running => Some(Ok(c.clone())),
            ContainerStatus::Error => Some(Err(format!("container {} failed: {}", c.name, c.status_reason))),
            ContainerStatus::Stopped => Some(Err(format!("container {} exited ({})", c.name, c.status_reason))),
            _ => None,
        },
    })
    .await
}

/// Makes `node`'s container and waits until it runs; done, the node is to be ACTIVE.
pub(crate) async fn create(ctx: &Ctx, node: Node, zone: Option<String>) -> Result<Done, EngineError> {
    if crate::remote::is_remote(ctx, &node) {
        return create_remote(ctx, node).await;
    }
    let (container, written) = match node.physical_id {
        // Taken over after the container was written: wait for it, never make a second one.
        Some(existing) => (existing, None),
        None => {
            let inputs = ctx.shared.inputs.of(ctx.store(), ctx.action.parent, &node).await?;
            let placement = placement_for(ctx.store(), &node, inputs, zone).await?;
            let (subscription, written) = match ctx.shared.placer.place(placement).await {
                Ok(placed) => placed,
                Err(e @ EngineError::Abandoned) => return Err(e),
                Err(error) => {
                    set_status(ctx, &node, NodeStatus::Error, error.to_string()).await?;
                    return Err(error);
                }
            };
            match written.host_id {
                Some(host) => ctx.shared.agents.wake(host),
                None => {
                    let reason = written.status_reason.clone();
                    discard_container(ctx, &node, written.id).await;
                    set_status(ctx, &node, NodeStatus::Error, reason.clone()).await?;
                    return Err(EngineError::Failed(reason));
                }
            }
            (written.id, Some((subscription, Some(written))))
        }
    };
    match wait_running(ctx, container, written).await {
        Ok(c) => {
            let host = c.host_id.map(|h| h.to_string()).unwrap_or_default();
            let outputs = Outputs::from([("container".to_owned(), c.id.to_string()), ("host".to_owned(), host)]);
            Ok(Done { outputs, node_status: Some(NodeStatus::Active) })
        }
        Err(EngineError::Abandoned) => Err(EngineError::Abandoned),
        Err(error) => {
            // A failed create leaves no container behind.
            discard_container(ctx, &node, container).await;
            set_status(ctx, &node, NodeStatus::Error, error.to_string()).await?;
            Err(error)
        }
    }
}

/// [`create`] for a node planned for another region: its member there, or the one it has.
async fn create_remote(ctx: &Ctx, node: Node) -> Result<Done, EngineError> {
    let made = match node.physical_id {
        Some(existing) => crate::remote::wait_running(ctx, existing).await.map(|_| existing),
        None => crate::remote::create(ctx, &node, &node.region).await,
    };
    match made {
        Ok(container) => {
            let outputs = Outputs::from([("container".to_owned(), container.to_string()), ("region".to_owned(), node.region.clone())]);
            Ok(Done { outputs, node_status: Some(NodeStatus::Active) })
        }
        Err(e @ EngineError::Abandoned) => Err(e),
        Err(error) => {
            set_status(ctx, &node, NodeStatus::Error, error.to_string()).await?;
            Err(error)
        }
    }
}

/// Deletes `container` (its agent removes it, without waiting) and forgets it on `node`; best effort.
async fn discard_container(ctx: &Ctx, node: &Node, container: ContainerId) {
    if let Err(e) = remove_container(ctx, container, false).await {
        tracing::warn!(node = %node.name, error = %e, "cannot discard a failed node's container");
    }
    let _ = ctx.store().update_node(node.id, NodeChanges { physical: Some((None, None)), ..Default::default() }).await;
}

/// Asks the agent to remove `container`; a container without a live host is forgotten at once
/// (its agent, if it returns, removes it: the fence).
async fn remove_container(ctx: &Ctx, container: ContainerId, wait: bool) -> Result<(), EngineError> {
    let Some(current) = ctx.store().container_now(container).await? else { return Ok(()) };
    let host = match current.host_id {
        Some(host) => ctx.store().host(&host.to_string()).await.ok(),
        None => None,
    };
    let live = host.as_ref().is_some_and(|h| h.state() != flotilla_core::scheduler::HostState::Down);
    if !live {
        return match ctx.store().delete_container(container).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        };
    }
    let changes = ContainerChanges { desired: Some(DesiredState::Deleted), ..Default::default() };
    // Subscribed before the update (the row exists, so the watch's recheck finds it): the wait
    // begins from the row the update answered, not from a read of its own.
    let subscription = ctx.shared.watch.subscribe(container);
    let written = match ctx.store().update_container(container, changes).await {
        Ok(row) => Some(row.container),
        // Its agent may remove it (and report so) before the update's answer is read back.
        Err(StoreError::NotFound { kind: "container", .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(host) = host {
        ctx.shared.agents.wake(host.id);
    }
    if !wait {
        return Ok(());
    }
    ctx.wait_container_after(container, Some((subscription, written)), |c| c.is_none().then_some(Ok(()))).await
}

/// Deletes the node's container, then the node. A node already gone is deleted: a delete run
/// again after a takeover finds less to do, never an error. A user's delete of a member first
/// waits its cluster's deletion policy's grace period (Senlin's `NodeAction.do_delete`).
async fn delete(ctx: &Ctx, node: Node) -> Result<Outputs, EngineError> {
    let gone = |e: &EngineError| matches!(e, EngineError::Store(StoreError::NotFound { kind: "node", .. }));
    if let Some(cluster) = node.cluster_id
        && ctx.action.cause == Cause::User
        && node.status != NodeStatus::Deleting
    {
        let plan = crate::policies::removal(ctx, cluster, Removal::NodeDelete).await?;
        ctx.pause(std::time::Duration::from_secs(plan.grace_period)).await?;
    }
    match set_status(ctx, &node, NodeStatus::Deleting, "").await {
        Err(e) if gone(&e) => return Ok(Outputs::new()),
        other => other?,
    };
    match node.physical_id {
        Some(container) if crate::remote::is_remote(ctx, &node) => crate::remote::remove(ctx, container).await?,
        Some(container) => remove_container(ctx, container, true).await?,
        None => {}
    }
    match ctx.store().delete_node(node.id).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => Ok(Outputs::new()),
        Err(e) => Err(e.into()),
    }
}

/// Runs `profile`'s container in place of the node's (same host, new generation).
async fn update(ctx: &Ctx, node: Node, profile: ProfileId) -> Result<Outputs, EngineError> {
    let Some(container) = node.physical_id else { return Err(EngineError::failed(format!("node {} has no container", node.name))) };
    set_status(ctx, &node, NodeStatus::Updating, format!("to profile {profile}")).await?;
    if crate::remote::is_remote(ctx, &node) {
        // In another region: a new member of the new profile there takes the old one's place.
        let node = ctx.store().update_node(node.id, NodeChanges { profile_id: Some(profile), ..Default::default() }).await?;
        crate::remote::create(ctx, &node, &node.region).await?;
        set_status(ctx, &node, NodeStatus::Active, "").await?;
        return Ok(Outputs::new());
    }
    let (wanted, _) = container_for(ctx.store(), &node, profile).await?;
    let changes = ContainerChanges {
        spec: Some((wanted.spec, wanted.image_id)),
        status: Some((ContainerStatus::Creating, format!("updating to profile {profile}"))),
        ..Default::default()
    };
    let row = ctx.store().update_container(container, changes).await?;
    if let Some(host) = row.container.host_id {
        ctx.shared.agents.wake(host);
    }
    ctx.store().update_node(node.id, NodeChanges { profile_id: Some(profile), ..Default::default() }).await?;
    match wait_running(ctx, container, None).await {
        Ok(_) => {
            set_status(ctx, &node, NodeStatus::Active, "").await?;
            Ok(Outputs::new())
        }
        Err(e @ EngineError::Abandoned) => Err(e),
        Err(error) => {
            set_status(ctx, &node, NodeStatus::Error, error.to_string()).await?;
            Err(error)
        }
    }
}

/// Why `node`'s container is not healthy, if it is not.
pub(crate) async fn fault(ctx: &Ctx, node: &Node) -> Result<Option<String>, EngineError> {
    let Some(container) = node.physical_id else { return Ok(Some("it has no container".to_owned())) };
    if crate::remote::is_remote(ctx, node) {
        return crate::remote::fault(ctx, container).await;
    }
    let Some(c) = ctx.store().container_now(container).await? else { return Ok(Some("its container is gone".to_owned())) };
    Ok(match c.status {
        ContainerStatus::Running => None,
        ContainerStatus::Stopped if c.desired == DesiredState::Stopped => None,
        ContainerStatus::Paused if c.desired == DesiredState::Paused => None,
        status => Some(format!("container {} is {status}: {}", c.name, c.status_reason)),
    })
}

async fn check(ctx: &Ctx, node: Node) -> Result<Outputs, EngineError> {
    match fault(ctx, &node).await? {
        None => set_status(ctx, &node, NodeStatus::Active, "").await?,
        Some(reason) => set_status(ctx, &node, NodeStatus::Error, reason).await?,
    };
    Ok(Outputs::new())
}

async fn recover(ctx: &Ctx, node: Node, how: RecoverAction) -> Result<Outputs, EngineError> {
    set_status(ctx, &node, NodeStatus::Recovering, format!("{how}")).await?;
    let result = match node.physical_id {
        // In another region, whatever the policy says: a new member where the placement plans it.
        _ if crate::remote::is_remote(ctx, &node) => crate::remote::relocate(ctx, &node).await,
        None => create(ctx, node.clone(), None).await.map(|_| ()),
        Some(container) => recover_container(ctx, &node, container, how).await,
    };
    match result {
        Ok(()) => {
            set_status(ctx, &node, NodeStatus::Active, format!("recovered ({how})")).await?;
            Ok(Outputs::from([("recovery".to_owned(), how.to_string())]))
        }
        Err(e @ EngineError::Abandoned) => Err(e),
        Err(error) => {
            set_status(ctx, &node, NodeStatus::Error, format!("{how} failed: {error}")).await?;
            Err(error)
        }
    }
}

async fn recover_container(ctx: &Ctx, node: &Node, container: ContainerId, how: RecoverAction) -> Result<(), EngineError> {
    let store = ctx.store();
    let current = match store.container(Scope::All, &container.to_string()).await {
        Ok(row) => row.container,
        // The container is gone: make a new one.
        Err(StoreError::NotFound { .. }) => {
            store.update_node(node.id, NodeChanges { physical: Some((None, None)), ..Default::default() }).await?;
            let node = store.node(Scope::All, &node.id.to_string()).await?;
            return create(ctx, node, None).await.map(|_| ());
        }
        Err(e) => return Err(e.into()),
    };
    match how {
        RecoverAction::Restart => {
            ctx.shared.agents.restart(container).await.map_err(EngineError::Failed)?;
        }
        RecoverAction::Rebuild => {
            let changes = ContainerChanges {
                bump_generation: true,
                desired: Some(DesiredState::Running),
                status: Some((ContainerStatus::Creating, "rebuilt by its node's recovery".to_owned())),
                ..Default::default()
            };
            store.update_container(container, changes).await?;
            if let Some(host) = current.host_id {
                ctx.shared.agents.wake(host);
            }
        }
        RecoverAction::Recreate => {
            let mut request = Request::for_spec(&current.spec);
            if let Some(old) = current.host_id
                && let Ok(host) = store.host(&old.to_string()).await
            {
                request.avoid_hosts.insert(host.name);
            }
            let host = match store.move_container(container, &request, &ctx.shared.config.scheduler).await? {
                Ok(host) => host,
                // No other host fits: where it is, if its host is up (a rebuild, as Kubernetes would).
                Err(_) if !request.avoid_hosts.is_empty() && old_host_up(ctx, current.host_id).await => {
                    request.avoid_hosts.clear();
                    store.move_container(container, &request, &ctx.shared.config.scheduler).await?.map_err(EngineError::Failed)?
                }
                Err(no_fit) => return Err(EngineError::Failed(no_fit)),
            };
            ctx.shared.agents.wake(host);
            if let Some(old) = current.host_id {
                ctx.shared.agents.wake(old);
            }
        }
    }
    wait_running(ctx, container, None).await.map(|_| ())
}

/// Whether `host` is known and not DOWN.
async fn old_host_up(ctx: &Ctx, host: Option<flotilla_core::HostId>) -> bool {
    match host {
        Some(h) => ctx.store().host(&h.to_string()).await.is_ok_and(|h| h.state() != flotilla_core::scheduler::HostState::Down),
        None => false,
    }
}

async fn operate(ctx: &Ctx, node: Node, operation: NodeOperation) -> Result<Outputs, EngineError> {
    let Some(container) = node.physical_id else { return Err(EngineError::failed(format!("node {} has no container", node.name))) };
    if crate::remote::is_remote(ctx, &node) {
        return Err(EngineError::failed(format!("node {} runs in region {}: {operation} it there", node.name, node.region)));
    }
    let desired = match operation {
        NodeOperation::Restart => {
            ctx.shared.agents.restart(container).await.map_err(EngineError::Failed)?;
            return Ok(Outputs::new());
        }
        NodeOperation::Start | NodeOperation::Unpause => DesiredState::Running,
        NodeOperation::Stop => DesiredState::Stopped,
        NodeOperation::Pause => DesiredState::Paused,
    };
    let row = ctx.store().update_container(container, ContainerChanges { desired: Some(desired), ..Default::default() }).await?;
    if let Some(host) = row.container.host_id {
        ctx.shared.agents.wake(host);
    }
    let want = match desired {
        DesiredState::Running => ContainerStatus::Running,
        DesiredState::Stopped => ContainerStatus::Stopped,
        _ => ContainerStatus::Paused,
    };
    ctx.wait_container(container, |c| match c {
        None => Some(Err("its container disappeared".to_owned())),
        Some(c) if c.status == want => Some(Ok(())),
        Some(c) if c.status == ContainerStatus::Error => Some(Err(c.status_reason.clone())),
        Some(_) => None,
    })
    .await?;
    Ok(Outputs::new())
}
