//! Members in other regions. A node planned for another region runs its container there: the
//! engine records a remote member (the store queues the job that makes it there, run by the
//! server, which also keeps the member's status current) and waits on that row. A node whose
//! region is lost is moved to a region that is up, within the placement policy's caps; the
//! member it leaves behind is removed there once that region answers again (the fence). The
//! engine never calls another region itself.

use crate::context::Ctx;
use crate::error::EngineError;
use flotilla_core::ContainerId;
use flotilla_core::container::ContainerStatus;
use flotilla_core::node::Node;
use flotilla_store::{NewRemoteMember, NodeChanges, RemoteMember, Scope};
use std::time::Duration;

/// How often a wait looks at a remote member's row (the server refreshes it every 100 ms while a
/// member is being made).
const POLL: Duration = Duration::from_millis(100);

/// Whether `node`'s container belongs in another region than this engine's.
pub(crate) fn is_remote(ctx: &Ctx, node: &Node) -> bool {
    elsewhere(&ctx.shared.config.region, node)
}

/// Whether `node`'s region is another than `own`.
pub(crate) fn elsewhere(own: &str, node: &Node) -> bool {
    !node.region.is_empty() && node.region != own
}

/// Runs `node`'s container in `region` (another region) in place of what it ran before, and
/// waits until it runs there. A member that fails is let go (removed there), never left behind.
pub(crate) async fn create(ctx: &Ctx, node: &Node, region: &str) -> Result<ContainerId, EngineError> {
    let (container, _) = crate::node::container_for(ctx.store(), node, node.profile_id).await?;
    let mut metadata = container.metadata;
    metadata.insert("home_region".to_owned(), ctx.shared.config.region.clone());
    let member = NewRemoteMember { container_id: container.id, region: region.to_owned(), spec: container.spec, metadata };
    ctx.store().place_remote_member(node, &member).await?;
    match wait_running(ctx, container.id).await {
        Ok(_) => Ok(container.id),
        Err(e @ EngineError::Abandoned) => Err(e),
        Err(error) => {
            let _ = ctx.store().release_remote_member(container.id).await;
            let _ = ctx.store().update_node(node.id, NodeChanges { physical: Some((None, None)), ..Default::default() }).await;
            Err(error)
        }
    }
}

/// Waits until the remote member `id` runs; an error, an exit or its disappearance fails the wait.
pub(crate) async fn wait_running(ctx: &Ctx, id: ContainerId) -> Result<RemoteMember, EngineError> {
    loop {
        let Some(member) = ctx.store().remote_member(id).await? else {
            return Err(EngineError::failed("its container in the other region disappeared"));
        };
        let failed = |what: &str| {
            Err(EngineError::failed(format!("container {} {what} in region {}: {}", member.name, member.region, member.status_reason)))
        };
        match member.status {
            ContainerStatus::Running => return Ok(member),
            ContainerStatus::Error => return failed("failed"),
            ContainerStatus::Stopped => return failed("exited"),
            _ => ctx.pause(POLL).await?,
        }
    }
}

/// Lets go of the remote member `container` and, while its region answers, waits until it is
/// removed there; when its region is down the removal is left to the fence (it runs when the
/// region answers again) and the node goes at once.
pub(crate) async fn remove(ctx: &Ctx, container: ContainerId) -> Result<(), EngineError> {
    ctx.store().release_remote_member(container).await?;
    loop {
        let Some(member) = ctx.store().remote_member(container).await? else { return Ok(()) };
        if !region_up(ctx, &member.region).await? {
            return Ok(());
        }
        ctx.pause(POLL).await?;
    }
}

/// Why the remote member `container` is not healthy, if it is not.
pub(crate) async fn fault(ctx: &Ctx, container: ContainerId) -> Result<Option<String>, EngineError> {
    Ok(match ctx.store().remote_member(container).await? {
        None => Some("its container in the other region is gone".to_owned()),
        Some(m) if m.status == ContainerStatus::Running => None,
        Some(m) => Some(format!("container {} in region {} is {}: {}", m.name, m.region, m.status, m.status_reason)),
    })
}

/// Whether `region` (this one, or another the central lists) is up.
async fn region_up(ctx: &Ctx, region: &str) -> Result<bool, EngineError> {
    if region == ctx.shared.config.region {
        return Ok(true);
    }
    Ok(ctx.store().peer_regions().await?.iter().any(|p| p.name == region && p.up))
}

/// Moves `node` to a region that is up, as its cluster's region placement plans (the region it
/// is in now counts only if it is up); the member it ran before is let go. Nowhere to go: an
/// error, and the node keeps what it has (the last copy is never given up).
pub(crate) async fn relocate(ctx: &Ctx, node: &Node) -> Result<(), EngineError> {
    let Some(cluster) = node.cluster_id else { return Err(EngineError::failed(format!("node {} is in no cluster", node.name))) };
    let cluster = ctx.store().cluster(Scope::All, &cluster.to_string()).await?;
    let region = crate::policies::region_for_replacement(ctx, &cluster, node).await?;
    if region != ctx.shared.config.region {
        create(ctx, node, &region).await?;
        return Ok(());
    }
    if let Some(old) = node.physical_id {
        ctx.store().release_remote_member(old).await?;
    }
    let changes = NodeChanges { physical: Some((None, None)), region: Some(region), ..Default::default() };
    let here = ctx.store().update_node(node.id, changes).await?;
    crate::node::create(ctx, here, None).await.map(drop)
}
