//! Users: who may log in, with a password hash and an optional default project.

use crate::codec::{get_bool, get_id, get_json, get_name, get_opt_id, get_time, metadata_json, millis};
use crate::list::Filter;
use crate::{Store, StoreError};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::identity::User;
use flotilla_core::{ListParams, Metadata, Name, Page, ProjectId, TokenId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// What an update may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<Name>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub enabled: Option<bool>,
    pub default_project_id: Option<ProjectId>,
    pub metadata: Option<Metadata>,
    /// A change of password or a disable revokes the user's tokens, in the same transaction;
    /// this one (the caller's, changing their own password) is kept.
    pub keep_token: Option<TokenId>,
}

impl UserChanges {
    /// The names of the fields this update sets (never their values: one is a password hash).
    fn changed(&self) -> String {
        crate::events::changed_fields(&[
            ("name", self.name.is_some()),
            ("email", self.email.is_some()),
            ("password", self.password_hash.is_some()),
            ("enabled", self.enabled.is_some()),
            ("default_project", self.default_project_id.is_some()),
            ("metadata", self.metadata.is_some()),
        ])
    }
}

/// The audit event of a change to user `id` (region-level: users belong to no project).
fn user_event(id: UserId, name: &str, action: EventAction) -> Event {
    Event::new(ObjectType::User, id.0, name, action, END)
}

fn decode(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        enabled: get_bool(row, "enabled")?,
        default_project_id: get_opt_id(row, "default_project_id")?,
        metadata: get_json(row, "metadata")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

impl Store {
    pub async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users (id, name, email, password_hash, enabled, default_project_id, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(user.id.to_string())
        .bind(user.name.to_string())
        .bind(user.email.clone())
        .bind(user.password_hash.clone())
        .bind(i64::from(user.enabled))
        .bind(user.default_project_id.map(|p| p.to_string()))
        .bind(metadata_json(&user.metadata))
        .bind(millis(user.created_at))
        .bind(millis(user.updated_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("user", user.name.as_str()))?;
        self.audit(&mut w.tx, user_event(user.id, user.name.as_str(), EventAction::UserCreate)).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// The user whose id or name is `key`.
    pub async fn user(&self, key: &str) -> Result<User, StoreError> {
        decode(&self.find_one("user", "users", None, key).await?)
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<User, StoreError> {
        self.user(&id.to_string()).await
    }

    /// How many users exist (0 means the region still needs its bootstrap admin).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// Users; with `member_of`, only those holding a role on that project.
    pub async fn list_users(
        &self,
        member_of: Option<ProjectId>,
        name: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<User>, StoreError> {
        let mut filters = Vec::new();
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        match member_of {
            None => self.list_page("users", &filters, params, decode).await,
            Some(project) => {
                filters.push(Filter::scope("member_of", project));
                self.list_page("user_membership_view", &filters, params, decode).await
            }
        }
    }

    pub async fn update_user(&self, id: UserId, changes: UserChanges) -> Result<User, StoreError> {
        let mut w = self.begin_write().await?;
        let row = crate::crud::row_for_update(&mut w.tx, "user", "users", &id.to_string()).await?;
        let mut user = decode(&row)?;
        let revokes = changes.password_hash.is_some() || changes.enabled == Some(false);
        let changed = changes.changed();
        if let Some(name) = changes.name {
            user.name = name;
        }
        if let Some(email) = changes.email {
            user.email = Some(email);
        }
        if let Some(hash) = changes.password_hash {
            user.password_hash = hash;
        }
        if let Some(enabled) = changes.enabled {
            user.enabled = enabled;
        }
        if let Some(project) = changes.default_project_id {
            user.default_project_id = Some(project);
        }
        if let Some(metadata) = changes.metadata {
            user.metadata = metadata;
        }
        user.updated_at = flotilla_core::now();
        sqlx::query(
            "UPDATE users SET name = $2, email = $3, password_hash = $4, enabled = $5, default_project_id = $6, metadata = $7, updated_at = $8 \
             WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(user.name.to_string())
        .bind(user.email.clone())
        .bind(user.password_hash.clone())
        .bind(i64::from(user.enabled))
        .bind(user.default_project_id.map(|p| p.to_string()))
        .bind(metadata_json(&user.metadata))
        .bind(millis(user.updated_at))
        .execute(&mut *w.tx)
        .await
        .map_err(StoreError::on_insert("user", user.name.as_str()))?;
        if revokes {
            crate::tokens::revoke_user_tokens(&mut w.tx, id, changes.keep_token).await?;
        }
        let event = user_event(id, user.name.as_str(), EventAction::UserUpdate).meta("changed", changed);
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        Ok(user)
    }

    /// Deletes a user with their role assignments and tokens.
    pub async fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let name = crate::crud::delete_returning_name(&mut w.tx, "user", "users", &id.to_string()).await?;
        self.audit(&mut w.tx, user_event(id, &name, EventAction::UserDelete)).await?;
        w.tx.commit().await?;
        Ok(())
    }
}
