//! Receivers: webhooks that run a stored cluster action, found by the digest of their secret.

use crate::codec::{get_id, get_json, get_name, get_time, metadata_json, millis, to_json};
use crate::list::Filter;
use crate::{Scope, Store, StoreError};
use flotilla_core::{ClusterId, ListParams, Metadata, Name, Page, ProjectId, ReceiverId, Timestamp, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A stored receiver; its secret is kept only as a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub id: ReceiverId,
    pub name: Name,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub type_name: String,
    pub cluster_id: ClusterId,
    /// The cluster action's API name (`scale_out`, ...).
    pub action: String,
    /// Stored parameters, a JSON object as text.
    pub params: String,
    /// The parameters a trigger's body may override.
    pub overridable: Vec<String>,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn decode(row: &AnyRow) -> Result<Receiver, StoreError> {
    Ok(Receiver {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        type_name: row.try_get("type")?,
        cluster_id: get_id(row, "cluster_id")?,
        action: row.try_get("action")?,
        params: row.try_get("params")?,
        overridable: get_json(row, "overridable")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    pub async fn create_receiver(&self, r: &Receiver, secret_digest: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO receivers (id, name, project_id, user_id, type, cluster_id, action, params, secret_digest, metadata, created_at, updated_at, overridable)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(r.id.to_string())
        .bind(r.name.to_string())
        .bind(r.project_id.to_string())
        .bind(r.user_id.to_string())
        .bind(r.type_name.clone())
        .bind(r.cluster_id.to_string())
        .bind(r.action.clone())
        .bind(r.params.clone())
        .bind(secret_digest.to_owned())
        .bind(metadata_json(&r.metadata))
        .bind(millis(r.created_at))
        .bind(millis(r.updated_at))
        .bind(to_json(&r.overridable))
        .execute(&self.pool)
        .await
        .map_err(StoreError::on_insert("receiver", r.name.as_str()))?;
        Ok(())
    }

    pub async fn receiver(&self, scope: Scope, key: &str) -> Result<Receiver, StoreError> {
        decode(&self.find_one("receiver", "receivers", Some(scope), key).await?)
    }

    /// The receiver whose secret has this digest (a trigger).
    pub async fn receiver_by_secret(&self, digest: &str) -> Result<Receiver, StoreError> {
        let row =
            sqlx::query("SELECT * FROM receivers WHERE secret_digest = $1").bind(digest.to_owned()).fetch_optional(&self.pool).await?;
        decode(&row.ok_or_else(|| StoreError::NotFound { kind: "receiver", key: "(secret)".to_owned() })?)
    }

    pub async fn list_receivers(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<Receiver>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::eq("project_id", project));
        }
        if let Some(name) = name {
            f.push(Filter::eq("name", name));
        }
        self.list_page("receivers", &f, params, decode).await
    }

    pub async fn delete_receiver(&self, id: ReceiverId) -> Result<(), StoreError> {
        self.delete_by_id("receiver", "receivers", &id.to_string()).await
    }
}
