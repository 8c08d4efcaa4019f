//! Role assignments: which role a user holds on a project.

use crate::codec::{get_id, get_time, millis};
use crate::list::Filter;
use crate::{Store, StoreError, Tx};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::identity::RoleAssignment;
use flotilla_core::{ListParams, Page, ProjectId, Role, RoleAssignmentId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

fn decode(row: &AnyRow) -> Result<RoleAssignment, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(RoleAssignment {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        user_name: row.try_get("user_name")?,
        project_id: get_id(row, "project_id")?,
        project_name: row.try_get("project_name")?,
        role: role.parse().map_err(|e| StoreError::Corrupt(format!("role: {e}")))?,
        created_at: get_time(row, "created_at")?,
    })
}

/// The assignment `id` with its user's and project's names, read inside `tx`.
async fn assignment_in(tx: &mut Tx, id: RoleAssignmentId) -> Result<RoleAssignment, StoreError> {
    let row = sqlx::query("SELECT * FROM role_assignment_view WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind: "role assignment", key: id.to_string() })?;
    decode(&row)
}

/// The audit event of granting or removing `a`: on its project, named `user@project`.
fn assignment_event(a: &RoleAssignment, action: EventAction) -> Event {
    let name = format!("{}@{}", a.user_name, a.project_name);
    Event::new(ObjectType::RoleAssignment, a.id.0, &name, action, END)
        .by(Some(a.project_id), None)
        .meta("user", &a.user_name)
        .meta("role", a.role.as_str())
}

impl Store {
    /// Grants `role` on `project` to `user`; granting a role already held is a conflict.
    pub async fn assign_role(&self, user: UserId, project: ProjectId, role: Role) -> Result<RoleAssignment, StoreError> {
        let id = RoleAssignmentId::new();
        let mut w = self.begin_write().await?;
        sqlx::query("INSERT INTO role_assignments (id, user_id, project_id, role, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(user.to_string())
            .bind(project.to_string())
            .bind(role.as_str())
            .bind(millis(flotilla_core::now()))
            .execute(&mut *w.tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::Conflict(format!("user {user} already holds role {role} on project {project}"))
                }
                _ => StoreError::Database(e),
            })?;
        let assignment = assignment_in(&mut w.tx, id).await?;
        self.audit(&mut w.tx, assignment_event(&assignment, EventAction::RoleAssign)).await?;
        w.tx.commit().await?;
        Ok(assignment)
    }

    pub async fn role_assignment(&self, id: RoleAssignmentId) -> Result<RoleAssignment, StoreError> {
        decode(&self.find_one("role assignment", "role_assignment_view", None, &id.to_string()).await?)
    }

    pub async fn list_role_assignments(
        &self,
        user: Option<UserId>,
        project: Option<ProjectId>,
        params: &ListParams,
    ) -> Result<Page<RoleAssignment>, StoreError> {
        let mut filters = Vec::new();
        if let Some(user) = user {
            filters.push(Filter::eq("user_id", user));
        }
        if let Some(project) = project {
            filters.push(Filter::scope("project_id", project));
        }
        self.list_page("role_assignment_view", &filters, params, decode).await
    }

    /// Removes an assignment and, in the same transaction, revokes its user's tokens on its
    /// project: a later assignment does not revive them.
    pub async fn delete_role_assignment(&self, id: RoleAssignmentId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let assignment = assignment_in(&mut w.tx, id).await?;
        sqlx::query("DELETE FROM role_assignments WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        crate::tokens::revoke_project_tokens(&mut w.tx, assignment.project_id, Some(assignment.user_id)).await?;
        self.audit(&mut w.tx, assignment_event(&assignment, EventAction::RoleUnassign)).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The highest role `user` holds on `project`, if any.
    pub async fn effective_role(&self, user: UserId, project: ProjectId) -> Result<Option<Role>, StoreError> {
        let rows = sqlx::query("SELECT role FROM role_assignments WHERE user_id = $1 AND project_id = $2")
            .bind(user.to_string())
            .bind(project.to_string())
            .fetch_all(&self.pool)
            .await?;
        let mut best = None;
        for row in rows {
            let text: String = row.try_get(0)?;
            let role: Role = text.parse().map_err(|e| StoreError::Corrupt(format!("role: {e}")))?;
            best = best.max(Some(role));
        }
        Ok(best)
    }
}
