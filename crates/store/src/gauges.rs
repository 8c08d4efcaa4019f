//! Region-wide counts for the metrics, read at scrape time: hosts by state, containers by status,
//! unfinished actions by status and each subnet's use, each one grouped query.

use crate::codec::get_bool;
use crate::networks::decode_subnet;
use crate::{Store, StoreError};
use flotilla_core::SubnetId;
use flotilla_core::host::Schedulable;
use flotilla_core::ipam::Cidr;
use flotilla_core::scheduler::HostState;
use sqlx::Row;
use std::collections::BTreeMap;

/// One subnet's addresses: held by ports, and how many it can hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetUse {
    pub id: SubnetId,
    pub network: String,
    pub cidr: Cidr,
    pub allocated: u64,
    pub size: u64,
}

/// What the region holds, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionCounts {
    pub hosts: BTreeMap<&'static str, u64>,
    pub containers: BTreeMap<String, u64>,
    /// READY, RUNNING and WAITING actions (the engines' queue).
    pub actions: BTreeMap<String, u64>,
    pub subnets: Vec<SubnetUse>,
}

impl Store {
    /// Counts the region's hosts by state, containers by status, unfinished actions by status,
    /// and the addresses of every subnet.
    pub async fn scrape_counts(&self) -> Result<RegionCounts, StoreError> {
        let mut counts = RegionCounts::default();
        let hosts = "SELECT alive, schedulable, CAST(COUNT(*) AS BIGINT) AS n FROM hosts GROUP BY alive, schedulable";
        for row in sqlx::query(hosts).fetch_all(&self.pool).await? {
            let schedulable: String = row.try_get("schedulable")?;
            let schedulable =
                Schedulable::parse(&schedulable).ok_or_else(|| StoreError::Corrupt(format!("schedulable = {schedulable:?}")))?;
            *counts.hosts.entry(HostState::of(get_bool(&row, "alive")?, schedulable).as_str()).or_default() += count(&row)?;
        }
        let containers = "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM containers GROUP BY status";
        for row in sqlx::query(containers).fetch_all(&self.pool).await? {
            counts.containers.insert(row.try_get("status")?, count(&row)?);
        }
        let actions =
            "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM actions WHERE status IN ('READY', 'RUNNING', 'WAITING') GROUP BY status";
        for row in sqlx::query(actions).fetch_all(&self.pool).await? {
            counts.actions.insert(row.try_get("status")?, count(&row)?);
        }
        let subnets = "SELECT s.*, n.name AS network_name, (SELECT CAST(COUNT(*) AS BIGINT) FROM ports p WHERE p.subnet_id = s.id) AS n \
                       FROM subnets s JOIN networks n ON n.id = s.network_id ORDER BY s.id";
        for row in sqlx::query(subnets).fetch_all(&self.pool).await? {
            let subnet = decode_subnet(&row)?;
            counts.subnets.push(SubnetUse {
                id: subnet.id,
                network: row.try_get("network_name")?,
                cidr: subnet.plan.cidr,
                allocated: count(&row)?,
                size: subnet.plan.capacity() as u64,
            });
        }
        Ok(counts)
    }
}

fn count(row: &sqlx::any::AnyRow) -> Result<u64, StoreError> {
    Ok(row.try_get::<i64, _>("n")?.max(0) as u64)
}
