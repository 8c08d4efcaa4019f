//! What a federated region keeps of its central: the credential it registered with, the rows of
//! the users and projects the central vouched for (same ids), and the counts its heartbeat reports.

use crate::codec::{get_id, now_millis};
use crate::{Store, StoreError};
use flotilla_core::ids::RegionId;
use flotilla_core::{Name, ProjectId, UserId};
use sqlx::Row;

/// The credential a region holds, and the id the central knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralCredential {
    pub region_id: RegionId,
    /// The central's URL when it was issued.
    pub central_url: String,
    pub credential: String,
}

/// A user acting in a project, as the central vouched for them.
#[derive(Debug, Clone)]
pub struct VouchedIdentity {
    pub user_id: UserId,
    pub user_name: Name,
    pub project_id: ProjectId,
    pub project_name: Name,
}

impl Store {
    /// The credential this region registered with, if it has.
    pub async fn central_credential(&self) -> Result<Option<CentralCredential>, StoreError> {
        let row =
            sqlx::query("SELECT region_id, central_url, credential FROM central_link WHERE id = 1").fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(CentralCredential {
                region_id: get_id(&row, "region_id")?,
                central_url: row.try_get("central_url")?,
                credential: row.try_get("credential")?,
            })
        })
        .transpose()
    }

    /// Keeps (or replaces) the credential the central gave this region.
    pub async fn save_central_credential(&self, credential: &CentralCredential) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO central_link (id, central_url, region_id, credential, created_at) VALUES (1, $1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET central_url = excluded.central_url, region_id = excluded.region_id,
             credential = excluded.credential, created_at = excluded.created_at",
        )
        .bind(credential.central_url.clone())
        .bind(credential.region_id.to_string())
        .bind(credential.credential.clone())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes (or renames) the rows of a user and a project the central vouched for, under the
    /// central's ids, so the region's objects and quotas can refer to them. The user gets no
    /// password here: logins happen at the central.
    pub async fn keep_vouched_identity(&self, who: &VouchedIdentity) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let now = now_millis();
        sqlx::query(
            "INSERT INTO projects (id, name, description, enabled, metadata, created_at, updated_at) VALUES ($1, $2, '', 1, '{}', $3, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = 1, updated_at = excluded.updated_at",
        )
        .bind(who.project_id.to_string())
        .bind(who.project_name.to_string())
        .bind(now)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("project", who.project_name.as_str()))?;
        sqlx::query(
            "INSERT INTO users (id, name, email, password_hash, enabled, default_project_id, metadata, created_at, updated_at)
             VALUES ($1, $2, NULL, '', 1, NULL, '{}', $3, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, enabled = 1, updated_at = excluded.updated_at",
        )
        .bind(who.user_id.to_string())
        .bind(who.user_name.to_string())
        .bind(now)
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("user", who.user_name.as_str()))?;
        w.tx.commit().await?;
        Ok(())
    }

    /// How many hosts and containers the region has: what its heartbeat to the central reports.
    pub async fn region_counts(&self) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM hosts) AS hosts, (SELECT CAST(COUNT(*) AS BIGINT) FROM containers) AS containers",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((crate::hosts::int(&row, "hosts")?, crate::hosts::int(&row, "containers")?))
    }
}
