//! Projects: the tenants every other object belongs to.

use crate::codec::{get_bool, get_id, get_json, get_name, get_time, metadata_json, millis};
use crate::list::Filter;
use crate::{Store, StoreError};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::identity::Project;
use flotilla_core::{ListParams, Metadata, Name, Page, ProjectId};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

/// What an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub metadata: Option<Metadata>,
}

impl ProjectChanges {
    /// The names of the fields this update sets.
    fn changed(&self) -> String {
        crate::events::changed_fields(&[
            ("name", self.name.is_some()),
            ("description", self.description.is_some()),
            ("enabled", self.enabled.is_some()),
            ("metadata", self.metadata.is_some()),
        ])
    }
}

/// The audit event of a change to project `id`, in that project.
fn project_event(id: ProjectId, name: &str, action: EventAction) -> Event {
    Event::new(ObjectType::Project, id.0, name, action, END).by(Some(id), None)
}

fn decode(row: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        description: row.try_get("description")?,
        enabled: get_bool(row, "enabled")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    pub async fn create_project(&self, project: &Project) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO projects (id, name, description, enabled, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project.id.to_string())
        .bind(project.name.to_string())
        .bind(project.description.clone())
        .bind(i64::from(project.enabled))
        .bind(metadata_json(&project.metadata))
        .bind(millis(project.created_at))
        .bind(millis(project.updated_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("project", project.name.as_str()))?;
        self.audit(&mut w.tx, project_event(project.id, project.name.as_str(), EventAction::ProjectCreate)).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The project whose id or name is `key`.
    pub async fn project(&self, key: &str) -> Result<Project, StoreError> {
        decode(&self.find_one("project", "projects", None, key).await?)
    }

    pub async fn project_by_id(&self, id: ProjectId) -> Result<Project, StoreError> {
        self.project(&id.to_string()).await
    }

    /// Projects, optionally only `only` (what a non-admin may see) or those named `name`.
    pub async fn list_projects(
        &self,
        only: Option<ProjectId>,
        name: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<Project>, StoreError> {
        let mut filters = Vec::new();
        if let Some(id) = only {
            filters.push(Filter::scope("id", id));
        }
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        self.list_page("projects", &filters, params, decode).await
    }

    /// Changes a project; disabling it revokes every token on it, for good.
    pub async fn update_project(&self, id: ProjectId, changes: ProjectChanges) -> Result<Project, StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "project", "projects", &id.to_string()).await?;
        let mut project = decode(&row)?;
        let changed = changes.changed();
        if let Some(name) = changes.name {
            project.name = name;
        }
        if let Some(description) = changes.description {
            project.description = description;
        }
        if let Some(enabled) = changes.enabled {
            project.enabled = enabled;
        }
        if let Some(metadata) = changes.metadata {
            project.metadata = metadata;
        }
        project.updated_at = flotilla_core::now();
        sqlx::query("UPDATE projects SET name = $2, description = $3, enabled = $4, metadata = $5, updated_at = $6 WHERE id = $1")
            .bind(id.to_string())
            .bind(project.name.to_string())
            .bind(project.description.clone())
            .bind(i64::from(project.enabled))
            .bind(metadata_json(&project.metadata))
            .bind(millis(project.updated_at))
            .execute(&mut *w.tx)
            .await
            .map_err(StoreError::on_insert("project", project.name.as_str()))?;
        if changes.enabled == Some(false) {
            crate::tokens::revoke_project_tokens(&mut w.tx, id, None).await?;
        }
        let event = project_event(id, project.name.as_str(), EventAction::ProjectUpdate).meta("changed", changed);
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        Ok(project)
    }

    /// Deletes a project that owns no objects; its role assignments and tokens go with it.
    pub async fn delete_project(&self, id: ProjectId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let mut owned = Vec::new();
        for (table, kind) in [
            ("clusters", "cluster"),
            ("nodes", "node"),
            ("policies", "policy"),
            ("profiles", "profile"),
            ("containers", "container"),
            ("images", "image"),
        ] {
            let count: i64 = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE project_id = $1")))
                .bind(id.to_string())
                .fetch_one(&mut *w.tx)
                .await?
                .try_get(0)?;
            if count > 0 {
                owned.push(format!("{count} {kind}(s)"));
            }
        }
        if !owned.is_empty() {
            return Err(StoreError::Conflict(format!("project {id} still owns {}: delete them first", owned.join(", "))));
        }
        let name = crate::crud::delete_returning_name(&mut w.tx, "project", "projects", &id.to_string()).await?;
        self.audit(&mut w.tx, project_event(id, &name, EventAction::ProjectDelete)).await?;
        w.tx.commit().await?;
        Ok(())
    }
}
