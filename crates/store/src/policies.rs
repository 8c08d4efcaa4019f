//! Policies and their bindings to clusters (priority, enabled, and what a policy remembers).

use crate::codec::{get_bool, get_id, get_json, get_name, get_time, metadata_json, millis, to_json};
use crate::list::Filter;
use crate::{Scope, Store, StoreError};
use flotilla_core::policy::PolicySpec;
use flotilla_core::{ClusterId, ListParams, Metadata, Name, Page, PolicyId, ProjectId, Timestamp, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// A stored policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: PolicyId,
    pub name: Name,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub spec: PolicySpec,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A policy attached to a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub cluster_id: ClusterId,
    pub policy: Policy,
    pub priority: u32,
    pub enabled: bool,
    /// What the policy remembers between runs (last scaling, the autoscaler's history).
    pub data: BTreeMap<String, String>,
}

fn decode(row: &AnyRow) -> Result<Policy, StoreError> {
    Ok(Policy {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        spec: get_json(row, "spec")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    pub async fn create_policy(&self, p: &Policy) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO policies (id, name, project_id, user_id, type, spec, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(p.id.to_string())
        .bind(p.name.to_string())
        .bind(p.project_id.to_string())
        .bind(p.user_id.to_string())
        .bind(p.spec.type_name.as_str())
        .bind(to_json(&p.spec))
        .bind(metadata_json(&p.metadata))
        .bind(millis(p.created_at))
        .bind(millis(p.updated_at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::on_insert("policy", p.name.as_str()))?;
        Ok(())
    }

    /// The policy whose id or name is `key`, seen from `scope`.
    pub async fn policy(&self, scope: Scope, key: &str) -> Result<Policy, StoreError> {
        decode(&self.find_one("policy", "policies", Some(scope), key).await?)
    }

    pub async fn list_policies(&self, scope: Scope, name: Option<&str>, params: &ListParams) -> Result<Page<Policy>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(name) = name {
            f.push(Filter::eq("name", name));
        }
        self.list_page("policies", &f, params, decode).await
    }

    /// Renames a policy or changes its metadata (its spec never changes).
    pub async fn update_policy(&self, id: PolicyId, name: Option<Name>, metadata: Option<Metadata>) -> Result<Policy, StoreError> {
        let mut w = self.begin_write().await?;
        let mut p = decode(&crate::crud::row_for_update(&mut w.tx, "policy", "policies", &id.to_string()).await?)?;
        p.name = name.unwrap_or(p.name);
        p.metadata = metadata.unwrap_or(p.metadata);
        p.updated_at = flotilla_core::now();
        sqlx::query("UPDATE policies SET name = $2, metadata = $3, updated_at = $4 WHERE id = $1")
            .bind(id.to_string())
            .bind(p.name.to_string())
            .bind(metadata_json(&p.metadata))
            .bind(millis(p.updated_at))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::on_insert("policy", p.name.as_str()))?;
        w.tx.commit().await?;
        Ok(p)
    }

    /// Deletes a policy attached to no cluster (409 names the clusters otherwise).
    pub async fn delete_policy(&self, id: PolicyId) -> Result<(), StoreError> {
        let rows = sqlx::query("SELECT c.name FROM cluster_policies b JOIN clusters c ON c.id = b.cluster_id WHERE b.policy_id = $1")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        if !rows.is_empty() {
            let names: Vec<String> = rows.iter().map(|r| r.try_get("name")).collect::<Result<_, _>>()?;
            return Err(StoreError::Conflict(format!("policy {id} is attached to clusters {}: detach it first", names.join(", "))));
        }
        self.delete_by_id("policy", "policies", &id.to_string()).await
    }

    /// The policies attached to `cluster`, by priority.
    pub async fn cluster_policies(&self, cluster: ClusterId) -> Result<Vec<Binding>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.*, b.cluster_id AS b_cluster, b.priority AS b_priority, b.enabled AS b_enabled, b.data AS b_data
             FROM cluster_policies b JOIN policies p ON p.id = b.policy_id WHERE b.cluster_id = $1 ORDER BY b.priority, p.id",
        )
        .bind(cluster.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Binding {
                    cluster_id: get_id(row, "b_cluster")?,
                    policy: decode(row)?,
                    priority: row.try_get::<i64, _>("b_priority")? as u32,
                    enabled: get_bool(row, "b_enabled")?,
                    data: get_json(row, "b_data")?,
                })
            })
            .collect()
    }

    /// Attaches `policy` to `cluster`; one policy of each type per cluster.
    pub async fn attach_policy(&self, cluster: ClusterId, policy: &Policy, enabled: bool) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let same = sqlx::query(
            "SELECT p.name FROM cluster_policies b JOIN policies p ON p.id = b.policy_id WHERE b.cluster_id = $1 AND p.type = $2",
        )
        .bind(cluster.to_string())
        .bind(policy.spec.type_name.as_str())
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(row) = same {
            let name: String = row.try_get("name")?;
            return Err(StoreError::Conflict(format!(
                "a {} policy ({name}) is already attached to this cluster",
                policy.spec.type_name.as_str()
            )));
        }
        sqlx::query("INSERT INTO cluster_policies (cluster_id, policy_id, priority, enabled, data) VALUES ($1, $2, $3, $4, '{}')")
            .bind(cluster.to_string())
            .bind(policy.id.to_string())
            .bind(i64::from(policy.spec.priority()))
            .bind(i64::from(enabled))
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(())
    }

    pub async fn detach_policy(&self, cluster: ClusterId, policy: PolicyId) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM cluster_policies WHERE cluster_id = $1 AND policy_id = $2")
            .bind(cluster.to_string())
            .bind(policy.to_string())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "policy binding", key: policy.to_string() });
        }
        Ok(())
    }

    /// Enables or disables an attached policy.
    pub async fn set_policy_enabled(&self, cluster: ClusterId, policy: PolicyId, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE cluster_policies SET enabled = $3 WHERE cluster_id = $1 AND policy_id = $2")
            .bind(cluster.to_string())
            .bind(policy.to_string())
            .bind(i64::from(enabled))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "policy binding", key: policy.to_string() });
        }
        Ok(())
    }

    /// Replaces what an attached policy remembers.
    pub async fn set_policy_data(&self, cluster: ClusterId, policy: PolicyId, data: &BTreeMap<String, String>) -> Result<(), StoreError> {
        sqlx::query("UPDATE cluster_policies SET data = $3 WHERE cluster_id = $1 AND policy_id = $2")
            .bind(cluster.to_string())
            .bind(policy.to_string())
            .bind(to_json(data))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
