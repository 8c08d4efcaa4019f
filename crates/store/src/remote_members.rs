//! Clusters across regions, in the store. At a cluster's home region: the members it runs in
//! other regions (`remote_members`, the container's id as it is there), written with the node's
//! change and a [`REMOTE_MEMBER`] job in one transaction; the other regions as the central lists
//! them (`peer_regions`). At the region running such a member: its home region (`hosted_members`).

use crate::codec::{get_bool, get_id, get_json, get_opt_id, get_time, metadata_json, now_millis, to_json};
use crate::{Store, StoreError, Tx};
use flotilla_core::container::ContainerStatus;
use flotilla_core::node::Node;
use flotilla_core::profile::ContainerProperties;
use flotilla_core::{ContainerId, Metadata, NodeId, ProjectId, Timestamp, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The job type that makes a remote member as its row says: created there, or removed there.
pub const REMOTE_MEMBER: &str = "remote_member";

/// What the home region wants of a remote member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberDesire {
    Running,
    /// Removed there: the node let go of it (scale-in, delete, or moved away after a region loss).
    Deleted,
}

/// An address of a remote member, as its region reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteAddress {
    pub network: String,
    pub ip: String,
    pub mac: String,
}

/// A member of a home region's cluster running in another region.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMember {
    /// The container's id, the same in both regions.
    pub container_id: ContainerId,
    pub node_id: Option<NodeId>,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub region: String,
    pub name: String,
    pub spec: ContainerProperties,
    pub metadata: Metadata,
    pub desired: MemberDesire,
    /// As last seen there; `Unknown` while the region cannot be reached.
    pub status: ContainerStatus,
    pub status_reason: String,
    pub host: Option<String>,
    pub addresses: Vec<RemoteAddress>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What the member's region last said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberObservation {
    pub container_id: ContainerId,
    pub status: ContainerStatus,
    pub status_reason: String,
    pub host: Option<String>,
    pub addresses: Vec<RemoteAddress>,
}

/// Another region of the federation, as this region last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRegion {
    pub name: String,
    pub api_url: String,
    /// Listed UP by the central and answering this region's calls.
    pub up: bool,
    pub reason: String,
    /// When this region's view of it last changed.
    pub checked_at: Timestamp,
}

fn decode(row: &AnyRow) -> Result<RemoteMember, StoreError> {
    let desired: String = row.try_get("desired")?;
    let status: String = row.try_get("status")?;
    Ok(RemoteMember {
        container_id: get_id(row, "container_id")?,
        node_id: get_opt_id(row, "node_id")?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        region: row.try_get("region")?,
        name: row.try_get("name")?,
        spec: get_json(row, "spec")?,
        metadata: get_json(row, "metadata")?,
        desired: if desired == "deleted" { MemberDesire::Deleted } else { MemberDesire::Running },
        status: ContainerStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("remote member status = {status:?}")))?,
        status_reason: row.try_get("status_reason")?,
        host: row.try_get("host")?,
        addresses: get_json(row, "addresses")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn decode_peer(row: &AnyRow) -> Result<PeerRegion, StoreError> {
    Ok(PeerRegion {
        name: row.try_get("name")?,
        api_url: row.try_get("api_url")?,
        up: get_bool(row, "up")?,
        reason: row.try_get("reason")?,
        checked_at: get_time(row, "checked_at")?,
    })
}

/// A new remote member: what the home region sends to `region` for `node`.
#[derive(Debug, Clone)]
pub struct NewRemoteMember {
    pub container_id: ContainerId,
    pub region: String,
    pub spec: ContainerProperties,
    pub metadata: Metadata,
}

impl Store {
    /// Records that `node` runs `member` in another region, points the node at it (its region,
    /// its container, no host here), lets go of the member it ran before (if remote: removed
    /// there later), and queues the jobs, all in one transaction.
    pub async fn place_remote_member(&self, node: &Node, member: &NewRemoteMember) -> Result<RemoteMember, StoreError> {
        let mut w = self.begin_write().await?;
        let now = now_millis();
        if let Some(old) = node.physical_id {
            self.let_go(&mut w.tx, old).await?;
        }
        sqlx::query(
            "INSERT INTO remote_members (container_id, node_id, project_id, user_id, region, name, spec, metadata, desired, status,
             status_reason, host, addresses, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', 'CREATING', $9, NULL, '[]', $10, $10)",
        )
        .bind(member.container_id.to_string())
        .bind(node.id.to_string())
        .bind(node.project_id.to_string())
        .bind(node.user_id.to_string())
        .bind(member.region.clone())
        .bind(node.name.to_string())
        .bind(to_json(&member.spec))
        .bind(metadata_json(&member.metadata))
        .bind(format!("being created in region {}", member.region))
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE nodes SET region = $2, physical_id = $3, host_id = NULL, updated_at = $4 WHERE id = $1")
            .bind(node.id.to_string())
            .bind(member.region.clone())
            .bind(member.container_id.to_string())
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        self.enqueue(&mut w.tx, REMOTE_MEMBER, member.container_id.0, Some(node.project_id)).await?;
        let row = sqlx::query("SELECT * FROM remote_members WHERE container_id = $1")
            .bind(member.container_id.to_string())
            .fetch_one(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        decode(&row)
    }

    /// Lets go of the remote member `container` (if it is one): its node no longer counts on it
    /// and it is removed in its region as soon as that region answers. Answers whether it was one.
    pub async fn release_remote_member(&self, container: ContainerId) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let released = self.let_go(&mut w.tx, container).await?;
        w.tx.commit().await?;
        Ok(released)
    }

    async fn let_go(&self, tx: &mut Tx, container: ContainerId) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE remote_members SET desired = 'deleted', node_id = NULL, updated_at = $2 WHERE container_id = $1 RETURNING project_id",
        )
        .bind(container.to_string())
        .bind(now_millis())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = done else { return Ok(false) };
        self.enqueue(tx, REMOTE_MEMBER, container.0, Some(get_id(&row, "project_id")?)).await?;
        Ok(true)
    }

    /// The remote member `container`, if it is one.
    pub async fn remote_member(&self, container: ContainerId) -> Result<Option<RemoteMember>, StoreError> {
        let row = sqlx::query("SELECT * FROM remote_members WHERE container_id = $1")
            .bind(container.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every remote member in `region`, wanted or waiting to be removed.
    pub async fn remote_members_in(&self, region: &str) -> Result<Vec<RemoteMember>, StoreError> {
        let rows = sqlx::query("SELECT * FROM remote_members WHERE region = $1 ORDER BY container_id")
            .bind(region.to_owned())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Whether a wanted member has not been seen running yet (its node action waits for it).
    pub async fn remote_members_pending(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS pending FROM remote_members WHERE desired = 'running' AND status = 'CREATING' LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The regions this region has members in.
    pub async fn remote_member_regions(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT region FROM remote_members ORDER BY region").fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get("region").map_err(StoreError::from)).collect()
    }

    /// Records what the members' region said of them; a change of status is a change the engine's
    /// waits see (the row's `updated_at` moves only then).
    pub async fn observe_remote_members(&self, seen: &[MemberObservation]) -> Result<(), StoreError> {
        if seen.is_empty() {
            return Ok(());
        }
        let mut w = self.begin_write().await?;
        let now = now_millis();
        for s in seen {
            sqlx::query(
                "UPDATE remote_members SET status = $2, status_reason = $3, host = $4, addresses = $5, updated_at = $6
                 WHERE container_id = $1 AND (status <> $2 OR status_reason <> $3 OR COALESCE(host, '') <> COALESCE($4, '')
                 OR addresses <> $5)",
            )
            .bind(s.container_id.to_string())
            .bind(s.status.as_str())
            .bind(s.status_reason.clone())
            .bind(s.host.clone())
            .bind(to_json(&s.addresses))
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    /// Marks the wanted members in `region` UNKNOWN, saying why: the region cannot be reached.
    pub async fn remote_region_unreachable(&self, region: &str, reason: &str) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE remote_members SET status = 'UNKNOWN', status_reason = $2, updated_at = $3
             WHERE region = $1 AND desired = 'running' AND status <> 'UNKNOWN'",
        )
        .bind(region.to_owned())
        .bind(reason.to_owned())
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Forgets a remote member its region removed (or never made): the fence is done.
    pub async fn forget_remote_member(&self, container: ContainerId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM remote_members WHERE container_id = $1").bind(container.to_string()).execute(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Replaces what this region knows of the other regions with `peers` (the central's list,
    /// each judged up or down by the caller).
    pub async fn set_peer_regions(&self, peers: &[PeerRegion]) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM peer_regions").execute(&mut *w.tx).await?;
        for p in peers {
            sqlx::query("INSERT INTO peer_regions (name, api_url, up, reason, checked_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(p.name.clone())
                .bind(p.api_url.clone())
                .bind(i64::from(p.up))
                .bind(p.reason.clone())
                .bind(crate::codec::millis(p.checked_at))
                .execute(&mut *w.tx)
                .await?;
        }
        w.tx.commit().await?;
        Ok(())
    }

    /// The other regions, by name.
    pub async fn peer_regions(&self) -> Result<Vec<PeerRegion>, StoreError> {
        let rows = sqlx::query("SELECT * FROM peer_regions ORDER BY name").fetch_all(&self.pool).await?;
        rows.iter().map(decode_peer).collect()
    }

    /// Records that container `container`, here, is a member of a cluster of `home_region`.
    pub async fn host_member(&self, container: ContainerId, home_region: &str) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO hosted_members (container_id, home_region, created_at) VALUES ($1, $2, $3) ON CONFLICT (container_id) DO NOTHING",
        )
        .bind(container.to_string())
        .bind(home_region.to_owned())
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The containers here that are members of `home_region`'s clusters.
    pub async fn hosted_members(&self, home_region: &str) -> Result<Vec<ContainerId>, StoreError> {
        let rows = sqlx::query("SELECT container_id FROM hosted_members WHERE home_region = $1 ORDER BY container_id")
            .bind(home_region.to_owned())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| get_id(r, "container_id")).collect()
    }
}
