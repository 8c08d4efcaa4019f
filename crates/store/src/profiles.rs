//! Profiles: project-owned, immutable container specs under a changeable name.

use crate::codec::{get_id, get_json, get_name, get_time, metadata_json, millis, to_json};
use crate::list::Filter;
use crate::{Scope, Store, StoreError};
use flotilla_core::profile::Profile;
use flotilla_core::{ListParams, Metadata, Name, Page, ProfileId};
use sqlx::any::AnyRow;

/// What an update may change: the spec never does.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub name: Option<Name>,
    pub metadata: Option<Metadata>,
}

fn decode(row: &AnyRow) -> Result<Profile, StoreError> {
    Ok(Profile {
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
    pub async fn create_profile(&self, profile: &Profile) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO profiles (id, name, project_id, user_id, spec, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(profile.id.to_string())
        .bind(profile.name.to_string())
        .bind(profile.project_id.to_string())
        .bind(profile.user_id.to_string())
        .bind(to_json(&profile.spec))
        .bind(metadata_json(&profile.metadata))
        .bind(millis(profile.created_at))
        .bind(millis(profile.updated_at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::on_insert("profile", profile.name.as_str()))?;
        Ok(())
    }

    /// The profile whose id or name is `key`, seen from `scope`.
    pub async fn profile(&self, scope: Scope, key: &str) -> Result<Profile, StoreError> {
        decode(&self.find_one("profile", "profiles", Some(scope), key).await?)
    }

    pub async fn list_profiles(
        &self,
        scope: Scope,
        name: Option<&str>,
        type_name: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<Profile>, StoreError> {
        let mut filters = Vec::new();
        if let Scope::Project(project) = scope {
            filters.push(Filter::scope("project_id", project));
        }
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        if let Some(type_name) = type_name {
            filters.push(Filter::eq("type", type_name));
        }
        self.list_labelled("profile_view", "metadata", filters, params, decode).await
    }

    pub async fn update_profile(&self, id: ProfileId, changes: ProfileChanges) -> Result<Profile, StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "profile", "profiles", &id.to_string()).await?;
        let mut profile = decode(&row)?;
        if let Some(name) = changes.name {
            profile.name = name;
        }
        if let Some(metadata) = changes.metadata {
            profile.metadata = metadata;
        }
        profile.updated_at = flotilla_core::now();
        sqlx::query("UPDATE profiles SET name = $2, metadata = $3, updated_at = $4 WHERE id = $1")
            .bind(id.to_string())
            .bind(profile.name.to_string())
            .bind(metadata_json(&profile.metadata))
            .bind(millis(profile.updated_at))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::on_insert("profile", profile.name.as_str()))?;
        w.tx.commit().await?;
        Ok(profile)
    }

    /// Deletes a profile no cluster or node uses (409 names one that does).
    pub async fn delete_profile(&self, id: ProfileId) -> Result<(), StoreError> {
        for (table, kind) in [("clusters", "cluster"), ("nodes", "node")] {
            let user = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM {table} WHERE profile_id = $1 LIMIT 1")))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = user {
                let name: String = sqlx::Row::try_get(&row, "name")?;
                return Err(StoreError::Conflict(format!("profile {id} is used by {kind} {name}")));
            }
        }
        self.delete_by_id("profile", "profiles", &id.to_string()).await
    }
}
