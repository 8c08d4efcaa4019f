//! Address blocks of global networks. At the central: handing a region the next free block of a
//! global subnet, and recording fixed addresses asked for outside the asker's blocks — both under
//! the subnet's row lock (PostgreSQL) or the writer lock (SQLite), the `(network_id, first_ip)` and
//! `(network_id, ip)` keys the last word. At a region: the blocks it holds, which its port
//! allocation draws from (see `ports.rs`).

use crate::codec::{get_id, get_json, get_time, millis, to_json};
use crate::networks::decode_subnet;
use crate::{Backend, Store, StoreError, Tx};
use flotilla_core::ipam::Cidr;
use flotilla_core::network::Subnet;
use flotilla_core::{NetworkId, Timestamp, ValidationError};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use uuid::Uuid;

/// A block of a global subnet and the region holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressBlock {
    pub network_id: NetworkId,
    pub cidr: Cidr,
    pub region_id: Uuid,
    /// Addresses of the block fixed in another region before it was handed out: never allocated.
    pub reserved: Vec<Ipv4Addr>,
    pub created_at: Timestamp,
}

fn decode_block(row: &AnyRow) -> Result<AddressBlock, StoreError> {
    let cidr: String = row.try_get("cidr")?;
    let reserved: Vec<Ipv4Addr> = get_json(row, "reserved")?;
    Ok(AddressBlock {
        network_id: get_id(row, "network_id")?,
        cidr: Cidr::parse("cidr", &cidr).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        region_id: get_id(row, "region_id")?,
        reserved,
        created_at: get_time(row, "created_at")?,
    })
}

/// The blocks of `network` this store keeps (at a region: those it holds).
pub(crate) async fn blocks_in(tx: &mut Tx, network: NetworkId) -> Result<Vec<AddressBlock>, StoreError> {
    let rows = sqlx::query("SELECT * FROM address_blocks WHERE network_id = $1 ORDER BY first_ip")
        .bind(network.to_string())
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(decode_block).collect()
}

/// A 409 while blocks or fixed addresses of global network `network` are held by regions.
pub(crate) async fn refuse_while_held(tx: &mut Tx, network: NetworkId) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM address_blocks WHERE network_id = $1) AS blocks,
                (SELECT COUNT(*) FROM global_fixed_ips WHERE network_id = $1) AS fixed",
    )
    .bind(network.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let (blocks, fixed): (i64, i64) = (row.try_get("blocks")?, row.try_get("fixed")?);
    if blocks + fixed > 0 {
        return Err(StoreError::Conflict(format!(
            "regions hold {blocks} address block(s) and {fixed} fixed address(es) of this global network: its ports go first"
        )));
    }
    Ok(())
}

async fn insert_block(tx: &mut Tx, b: &AddressBlock) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO address_blocks (network_id, cidr, first_ip, last_ip, region_id, reserved, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (network_id, first_ip) DO NOTHING",
    )
    .bind(b.network_id.to_string())
    .bind(b.cidr.to_string())
    .bind(i64::from(b.cidr.first()))
    .bind(i64::from(b.cidr.last()))
    .bind(b.region_id.to_string())
    .bind(to_json(&b.reserved))
    .bind(millis(b.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Global network `network`'s name and subnet, its subnet's row locked on PostgreSQL: every
/// change to the network's blocks and fixed addresses takes this lock first.
async fn lock_global_subnet(backend: Backend, tx: &mut Tx, network: NetworkId) -> Result<(String, Subnet), StoreError> {
    let not_found = || StoreError::NotFound { kind: "global network", key: network.to_string() };
    let row = sqlx::query("SELECT name FROM networks WHERE id = $1 AND is_global = 1")
        .bind(network.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(not_found)?;
    let name: String = row.try_get("name")?;
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let subnet = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM subnets WHERE network_id = $1 LIMIT 1{lock}")))
        .bind(network.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::Conflict(format!("global network {name} has no subnet")))?;
    Ok((name, decode_subnet(&subnet)?))
}

impl Store {
    /// At the central: hands `region` the next free block of global network `network` (with the
    /// addresses other regions already fixed inside it as its reserved ones); 409 when none is left.
    pub async fn allocate_block(&self, network: NetworkId, region: Uuid) -> Result<AddressBlock, StoreError> {
        let mut w = self.begin_write().await?;
        let (name, subnet) = lock_global_subnet(self.backend, &mut w.tx, network).await?;
        let taken: Vec<Cidr> = blocks_in(&mut w.tx, network).await?.into_iter().map(|b| b.cidr).collect();
        let cidr = subnet.plan.next_block(&taken).ok_or_else(|| {
            StoreError::Conflict(format!(
                "global network {name} has no free address block left: every block of {} is held by a region",
                subnet.plan.cidr
            ))
        })?;
        // Addresses other regions fixed inside the block stay theirs; the asker's own fold into the
        // block (its ports table keeps them, and only it hands out the block's addresses now).
        let reserved =
            sqlx::query("SELECT ip FROM global_fixed_ips WHERE network_id = $1 AND ip >= $2 AND ip <= $3 AND region_id != $4 ORDER BY ip")
                .bind(network.to_string())
                .bind(i64::from(cidr.first()))
                .bind(i64::from(cidr.last()))
                .bind(region.to_string())
                .fetch_all(&mut *w.tx)
                .await?
                .iter()
                .map(|r| Ok(Ipv4Addr::from(r.try_get::<i64, _>("ip")? as u32)))
                .collect::<Result<_, StoreError>>()?;
        sqlx::query("DELETE FROM global_fixed_ips WHERE network_id = $1 AND ip >= $2 AND ip <= $3 AND region_id = $4")
            .bind(network.to_string())
            .bind(i64::from(cidr.first()))
            .bind(i64::from(cidr.last()))
            .bind(region.to_string())
            .execute(&mut *w.tx)
            .await?;
        let block = AddressBlock { network_id: network, cidr, region_id: region, reserved, created_at: flotilla_core::now() };
        insert_block(&mut w.tx, &block).await?;
        w.tx.commit().await?;
        Ok(block)
    }

    /// At the central: records fixed address `ip` of global network `network` for `region`. Fine
    /// when it lies in a block `region` holds (only it hands those out) or is already `region`'s;
    /// 409 naming the address when another region holds it or its block; 400 when the subnet
    /// cannot give it.
    pub async fn reserve_global_ip(&self, network: NetworkId, ip: Ipv4Addr, region: Uuid) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let (name, subnet) = lock_global_subnet(self.backend, &mut w.tx, network).await?;
        let plan = &subnet.plan;
        if !plan.assignable(ip) {
            let reason = format!("is not an assignable address of {} (gateway {}, reserved excluded)", plan.cidr, plan.gateway);
            return Err(StoreError::Invalid(ValidationError::new("ip_address", ip, reason)));
        }
        let value = i64::from(u32::from(ip));
        if let Some(row) = sqlx::query("SELECT * FROM address_blocks WHERE network_id = $1 AND first_ip <= $2 AND last_ip >= $2")
            .bind(network.to_string())
            .bind(value)
            .fetch_optional(&mut *w.tx)
            .await?
        {
            let block = decode_block(&row)?;
            if block.region_id == region {
                return Ok(());
            }
            return Err(StoreError::Conflict(format!(
                "ip_address {ip} is in use on global network {name}: it lies in address block {} held by region {}",
                block.cidr, block.region_id
            )));
        }
        let held = sqlx::query("SELECT region_id FROM global_fixed_ips WHERE network_id = $1 AND ip = $2")
            .bind(network.to_string())
            .bind(value)
            .fetch_optional(&mut *w.tx)
            .await?;
        match held {
            Some(row) if get_id::<Uuid>(&row, "region_id")? == region => return Ok(()),
            Some(row) => {
                return Err(StoreError::Conflict(format!(
                    "ip_address {ip} is already in use on global network {name} (fixed in region {})",
                    get_id::<Uuid>(&row, "region_id")?
                )));
            }
            None => {}
        }
        sqlx::query("INSERT INTO global_fixed_ips (network_id, ip, ip_address, region_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(network.to_string())
            .bind(value)
            .bind(ip.to_string())
            .bind(region.to_string())
            .bind(millis(flotilla_core::now()))
            .execute(&mut *w.tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::Conflict(format!("ip_address {ip} is already in use on global network {name}"))
                }
                _ => StoreError::Database(e),
            })?;
        w.tx.commit().await?;
        Ok(())
    }

    /// At the central: frees fixed address `ip` of `network` that `region` recorded (nothing when
    /// it holds none).
    pub async fn release_global_ip(&self, network: NetworkId, ip: Ipv4Addr, region: Uuid) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM global_fixed_ips WHERE network_id = $1 AND ip = $2 AND region_id = $3")
            .bind(network.to_string())
            .bind(i64::from(u32::from(ip)))
            .bind(region.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// At the central: frees the fixed addresses of `network` that `region` recorded before
    /// `settled` and no longer uses (not in `in_use`: every address its ports hold there, as it
    /// reported). Answers how many it recorded since `settled`, which a report read before their
    /// port was made could miss: they are judged by a later report.
    pub async fn release_unused_global_ips(
        &self,
        network: NetworkId,
        region: Uuid,
        in_use: &BTreeSet<Ipv4Addr>,
        settled: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut w = self.begin_write().await?;
        let rows = sqlx::query("SELECT ip_address, created_at FROM global_fixed_ips WHERE network_id = $1 AND region_id = $2")
            .bind(network.to_string())
            .bind(region.to_string())
            .fetch_all(&mut *w.tx)
            .await?;
        let mut unsettled = 0;
        for row in &rows {
            let text: String = row.try_get("ip_address")?;
            let ip: Ipv4Addr = text.parse().map_err(|_| StoreError::Corrupt(format!("fixed address {text:?}")))?;
            if in_use.contains(&ip) {
                continue;
            }
            if get_time(row, "created_at")? > settled {
                unsettled += 1;
                continue;
            }
            sqlx::query("DELETE FROM global_fixed_ips WHERE network_id = $1 AND ip = $2 AND region_id = $3")
                .bind(network.to_string())
                .bind(i64::from(u32::from(ip)))
                .bind(region.to_string())
                .execute(&mut *w.tx)
                .await?;
        }
        w.tx.commit().await?;
        Ok(unsettled)
    }

    /// At a region: every address its ports hold on each of `networks`.
    pub async fn addresses_in_use(&self, networks: &[NetworkId]) -> Result<BTreeMap<NetworkId, BTreeSet<Ipv4Addr>>, StoreError> {
        let mut found = BTreeMap::new();
        for network in networks {
            let rows =
                sqlx::query("SELECT ip_address FROM ports WHERE network_id = $1").bind(network.to_string()).fetch_all(&self.pool).await?;
            let addresses = rows
                .iter()
                .map(|r| {
                    let text: String = r.try_get("ip_address")?;
                    text.parse().map_err(|_| StoreError::Corrupt(format!("port address {text:?}")))
                })
                .collect::<Result<_, StoreError>>()?;
            found.insert(*network, addresses);
        }
        Ok(found)
    }

    /// At a region: keeps a block the central handed it (again: nothing changes).
    pub async fn hold_block(&self, block: &AddressBlock) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        insert_block(&mut w.tx, block).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// At a region: how many addresses of the blocks it holds of `network` are still free; `None`
    /// when it is not a global network with a subnet, or no block is held yet.
    pub async fn held_free(&self, network: NetworkId) -> Result<Option<usize>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT s.* FROM subnets s JOIN networks n ON n.id = s.network_id WHERE s.network_id = $1 AND n.is_global = 1 LIMIT 1",
        )
        .bind(network.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let plan = decode_subnet(&row)?.plan;
        let blocks = blocks_in(&mut tx, network).await?;
        if blocks.is_empty() {
            return Ok(None);
        }
        let cidrs: Vec<Cidr> = blocks.iter().map(|b| b.cidr).collect();
        let held = plan.within(&cidrs, blocks.iter().flat_map(|b| b.reserved.iter().copied()));
        let taken: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM ports p JOIN address_blocks b ON b.network_id = p.network_id AND p.ip >= b.first_ip AND p.ip <= b.last_ip
             WHERE p.network_id = $1",
        )
        .bind(network.to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        tx.commit().await?;
        Ok(Some(held.capacity().saturating_sub(usize::try_from(taken).unwrap_or(usize::MAX))))
    }

    /// The blocks of `network` kept here (at the central every block handed out, at a region those
    /// it holds), in address order.
    pub async fn blocks(&self, network: NetworkId) -> Result<Vec<AddressBlock>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let blocks = blocks_in(&mut tx, network).await?;
        tx.commit().await?;
        Ok(blocks)
    }
}
