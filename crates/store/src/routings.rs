//! The central's routing table: where each global id lives (region, type, project), one row per
//! id, written by the regions each for its own objects only.

use crate::codec::{get_id, get_time, now_millis};
use crate::list::{Filter, Order};
use crate::{Scope, Store, StoreError};
use flotilla_core::{ListParams, Page, ProjectId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

/// One entry of the routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub id: Uuid,
    pub region_id: Uuid,
    pub region: String,
    pub resource_type: String,
    pub project_id: ProjectId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Filters of a routing list.
#[derive(Debug, Clone, Default)]
pub struct RoutingFilters<'a> {
    /// A region's name.
    pub region: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub project_id: Option<ProjectId>,
}

fn decode(row: &AnyRow) -> Result<Routing, StoreError> {
    Ok(Routing {
        id: get_id(row, "id")?,
        region_id: get_id(row, "region_id")?,
        region: row.try_get("region")?,
        resource_type: row.try_get("resource_type")?,
        project_id: get_id(row, "project_id")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    /// Applies what region `region_id` (named `region`) reports: `upsert` (id, type, project)
    /// entries are written as its own, `delete` ids are removed. An id another region holds is
    /// left alone either way. Answers the ids that were left alone.
    pub async fn apply_routings(
        &self,
        region_id: Uuid,
        region: &str,
        upsert: &[(Uuid, String, ProjectId)],
        delete: &[Uuid],
    ) -> Result<Vec<Uuid>, StoreError> {
        let now = now_millis();
        let mut refused = Vec::new();
        let mut w = self.begin_write().await?;
        for (id, resource_type, project) in upsert {
            let done = sqlx::query(
                "INSERT INTO routings (id, region_id, region, resource_type, project_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)
                 ON CONFLICT (id) DO UPDATE SET region = excluded.region, resource_type = excluded.resource_type,
                    project_id = excluded.project_id, updated_at = excluded.updated_at
                 WHERE routings.region_id = excluded.region_id",
            )
            .bind(id.to_string())
            .bind(region_id.to_string())
            .bind(region.to_owned())
            .bind(resource_type.clone())
            .bind(project.to_string())
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
            if done.rows_affected() == 0 {
                refused.push(*id);
            }
        }
        for id in delete {
            let done = sqlx::query("DELETE FROM routings WHERE id = $1 AND region_id = $2")
                .bind(id.to_string())
                .bind(region_id.to_string())
                .execute(&mut *w.tx)
                .await?;
            if done.rows_affected() == 0 {
                let held = sqlx::query("SELECT id FROM routings WHERE id = $1").bind(id.to_string()).fetch_optional(&mut *w.tx).await?;
                if held.is_some() {
                    refused.push(*id);
                }
            }
        }
        w.tx.commit().await?;
        Ok(refused)
    }

    /// The routing of `id`, when `scope` sees its project.
    pub async fn routing(&self, scope: Scope, id: Uuid) -> Result<Routing, StoreError> {
        let row = sqlx::query("SELECT * FROM routings WHERE id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        let routing = row.as_ref().map(decode).transpose()?;
        match (routing, scope) {
            (Some(r), Scope::All) => Ok(r),
            (Some(r), Scope::Project(p)) if r.project_id == p => Ok(r),
            _ => Err(StoreError::NotFound { kind: "routing", key: id.to_string() }),
        }
    }

    /// A page of the routing table, by id.
    pub async fn list_routings(&self, filters: RoutingFilters<'_>, params: &ListParams) -> Result<Page<Routing>, StoreError> {
        let mut f = Vec::new();
        if let Some(region) = filters.region {
            f.push(Filter::eq("region", region));
        }
        if let Some(resource_type) = filters.resource_type {
            f.push(Filter::eq("resource_type", resource_type));
        }
        if let Some(project) = filters.project_id {
            f.push(Filter::eq("project_id", project));
        }
        self.list_ordered("routings", Order::Id, &f, params, decode).await
    }
}
