//! The central's region registry: regions, their credentials and heartbeats, and the one-use
//! tokens they register with.

use crate::codec::{get_id, get_opt_time, get_time, millis, now_millis};
use crate::hosts::int;
use crate::{Store, StoreError};
use flotilla_core::ids::RegionId;
use flotilla_core::{JoinTokenId, ListParams, Page, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A region as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    pub id: RegionId,
    pub name: String,
    pub api_url: String,
    /// The region's own pool for projects' default networks (IPv4 CIDR).
    pub network_pool: String,
    pub last_heartbeat: Option<Timestamp>,
    pub host_count: u64,
    pub container_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a region tells about itself when it registers.
#[derive(Debug, Clone)]
pub struct RegionRegistration {
    pub name: String,
    pub api_url: String,
    pub network_pool: String,
}

/// What vouches for a registration: the digest of a region join token, of the credential the
/// region kept, or both (the token serves when the credential is no longer the region's).
#[derive(Debug, Clone, Default)]
pub struct RegionProof {
    pub token_digest: Option<String>,
    pub credential_digest: Option<String>,
}

/// A registered region, and whether it kept the credential it presented (else it gets a new one).
#[derive(Debug, Clone)]
pub struct RegionJoined {
    pub region: RegionRow,
    pub credential_kept: bool,
}

fn decode(row: &AnyRow) -> Result<RegionRow, StoreError> {
    Ok(RegionRow {
        id: get_id(row, "id")?,
        name: row.try_get("name")?,
        api_url: row.try_get("api_url")?,
        network_pool: row.try_get("network_pool")?,
        last_heartbeat: get_opt_time(row, "last_heartbeat")?,
        host_count: int(row, "host_count")?,
        container_count: int(row, "container_count")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    /// Stores a region join token's digest, valid until `expires_at` and for one registration.
    pub async fn create_region_join_token(&self, id: JoinTokenId, digest: &str, expires_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO region_join_tokens (id, digest, expires_at, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(digest.to_owned())
            .bind(millis(expires_at))
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Registers a region, or takes it back under its name: with the credential it holds (kept),
    /// else with a valid join token, which is spent, under a name no other region holds (a taken
    /// name is a conflict). Nothing valid is unauthenticated. `fresh_digest` is the digest of the
    /// credential handed out when the presented one is not kept.
    pub async fn join_region(&self, reg: RegionRegistration, proof: RegionProof, fresh_digest: &str) -> Result<RegionJoined, StoreError> {
        let mut w = self.begin_write().await?;
        let lock = crate::crud::lock_clause(&w.tx);
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id, credential_digest FROM regions WHERE name = $1{lock}")))
            .bind(reg.name.clone())
            .fetch_optional(&mut *w.tx)
            .await?;
        let now = now_millis();
        let current = existing.as_ref().map(|row| row.try_get::<String, _>("credential_digest")).transpose()?;
        let kept = current.is_some() && proof.credential_digest == current;
        let id = match existing {
            Some(row) if kept => row.try_get::<String, _>("id")?,
            taken => {
                let Some(token) = proof.token_digest else {
                    return Err(StoreError::Unauthenticated(format!(
                        "no region join token, and the credential presented is not region {}'s",
                        reg.name
                    )));
                };
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "region name {:?} is taken by another region: pick another name, or an admin deletes that region first",
                        reg.name
                    )));
                }
                let spent = sqlx::query("DELETE FROM region_join_tokens WHERE digest = $1 AND expires_at > $2")
                    .bind(token)
                    .bind(now)
                    .execute(&mut *w.tx)
                    .await?;
                if spent.rows_affected() == 0 {
                    return Err(StoreError::Unauthenticated("region join token is invalid, expired or already used".into()));
                }
                let id = RegionId::new().to_string();
                sqlx::query(
                    "INSERT INTO regions (id, name, api_url, network_pool, credential_digest, last_heartbeat, host_count,
                     container_count, created_at, updated_at) VALUES ($1, $2, '', '', $3, NULL, 0, 0, $4, $4)",
                )
                .bind(id.clone())
                .bind(reg.name.clone())
                .bind(fresh_digest.to_owned())
                .bind(now)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::on_insert("region", &reg.name))?;
                id
            }
        };
        sqlx::query("UPDATE regions SET api_url = $2, network_pool = $3, last_heartbeat = $4, updated_at = $4 WHERE id = $1")
            .bind(id.clone())
            .bind(reg.api_url)
            .bind(reg.network_pool)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        let row = sqlx::query("SELECT * FROM regions WHERE id = $1").bind(id).fetch_one(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(RegionJoined { region: decode(&row)?, credential_kept: kept })
    }

    /// The region holding the credential with this digest.
    pub async fn region_by_credential(&self, digest: &str) -> Result<Option<RegionRow>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM regions WHERE credential_digest = $1").bind(digest.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref().map(decode).transpose()
    }

    /// Records a region's heartbeat with what it runs.
    pub async fn region_heartbeat(&self, id: RegionId, host_count: u64, container_count: u64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE regions SET last_heartbeat = $2, host_count = $3, container_count = $4 WHERE id = $1")
            .bind(id.to_string())
            .bind(now_millis())
            .bind(i64::try_from(host_count).unwrap_or(i64::MAX))
            .bind(i64::try_from(container_count).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "region", key: id.to_string() });
        }
        Ok(())
    }

    /// The region whose id or name is `key`.
    pub async fn region(&self, key: &str) -> Result<RegionRow, StoreError> {
        decode(&self.find_one("region", "regions", None, key).await?)
    }

    /// Regions, optionally only the one named `name`.
    pub async fn list_regions(&self, name: Option<&str>, params: &ListParams) -> Result<Page<RegionRow>, StoreError> {
        let filters: Vec<crate::Filter> = name.map(|n| crate::Filter::eq("name", n)).into_iter().collect();
        self.list_page("regions", &filters, params, decode).await
    }

    /// Forgets a region and its endpoints on global networks: its credential stops working; it
    /// registers again with a new token.
    pub async fn delete_region(&self, id: RegionId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM global_endpoints WHERE region_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        let done = sqlx::query("DELETE FROM regions WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "region", key: id.to_string() });
        }
        w.tx.commit().await?;
        Ok(())
    }
}
