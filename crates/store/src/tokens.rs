//! Tokens: issued, looked up by the hash of their secret, revoked, expired.

use crate::codec::{get_bool, get_id, get_time, millis, now_millis};
use crate::{Store, StoreError, Tx};
use flotilla_core::event::{END, Event, EventAction, ObjectType};
use flotilla_core::identity::TokenRecord;
use flotilla_core::{Name, ProjectId, Role, TokenId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A token with what a request needs of its user and project, read in one query.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub token: TokenRecord,
    pub user_name: Name,
    pub project_name: Name,
    /// Both the user and the project are enabled.
    pub enabled: bool,
    /// The user's highest role in the project; `None`: no assignment left.
    pub role: Option<Role>,
}

fn decode(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        id: get_id(row, "id")?,
        secret_hash: row.try_get("secret_hash")?,
        user_id: get_id(row, "user_id")?,
        project_id: get_id(row, "project_id")?,
        created_at: get_time(row, "created_at")?,
        expires_at: get_time(row, "expires_at")?,
        revoked: get_bool(row, "revoked")?,
    })
}

/// Revokes every token of `user` but `keep` (a password change or a disable: for good, so
/// re-enabling the user does not revive them).
pub(crate) async fn revoke_user_tokens(tx: &mut Tx, user: UserId, keep: Option<TokenId>) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = $1 AND id <> $2 AND revoked = 0")
        .bind(user.to_string())
        .bind(keep.map(|t| t.to_string()).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// Revokes every token on `project`, of `user` only when given (a role assignment removed, or
/// the project disabled: for good, so a new assignment or a re-enable does not revive them).
pub(crate) async fn revoke_project_tokens(tx: &mut Tx, project: ProjectId, user: Option<UserId>) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE project_id = $1 AND ($2 = '' OR user_id = $2) AND revoked = 0")
        .bind(project.to_string())
        .bind(user.map(|u| u.to_string()).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

impl Store {
    pub async fn create_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (id, secret_hash, user_id, project_id, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id.to_string())
        .bind(token.secret_hash.clone())
        .bind(token.user_id.to_string())
        .bind(token.project_id.to_string())
        .bind(millis(token.created_at))
        .bind(millis(token.expires_at))
        .bind(i64::from(token.revoked))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The token whose secret hashes to `secret_hash` with its user, project and the user's
    /// highest role there: one query (a row per role assignment).
    pub async fn token_holder(&self, secret_hash: &str) -> Result<Option<TokenHolder>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.*, u.name AS user_name, u.enabled AS user_enabled, p.name AS project_name, p.enabled AS project_enabled, \
             ra.role FROM tokens t JOIN users u ON u.id = t.user_id JOIN projects p ON p.id = t.project_id \
             LEFT JOIN role_assignments ra ON ra.user_id = t.user_id AND ra.project_id = t.project_id WHERE t.secret_hash = $1",
        )
        .bind(secret_hash.to_owned())
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let name = |column: &str| -> Result<Name, StoreError> {
            let text: String = first.try_get(column)?;
            Name::parse(column, &text).map_err(|e| StoreError::Corrupt(e.to_string()))
        };
        let mut role = None;
        for row in &rows {
            if let Some(text) = row.try_get::<Option<String>, _>("role")? {
                role = role.max(Some(text.parse::<Role>().map_err(|e| StoreError::Corrupt(format!("role: {e}")))?));
            }
        }
        Ok(Some(TokenHolder {
            token: decode(first)?,
            user_name: name("user_name")?,
            project_name: name("project_name")?,
            enabled: get_bool(first, "user_enabled")? && get_bool(first, "project_enabled")?,
            role,
        }))
    }

    /// Revokes token `id`; its audit event is named after its user (never its secret).
    pub async fn revoke_token(&self, id: TokenId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE tokens SET revoked = 1 WHERE id = $1 \
             RETURNING project_id, (SELECT name FROM users WHERE users.id = tokens.user_id) AS user_name",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { kind: "token", key: id.to_string() })?;
        let user: String = row.try_get("user_name")?;
        let event = Event::new(ObjectType::Token, id.0, &user, EventAction::TokenRevoke, END).by(Some(get_id(&row, "project_id")?), None);
        self.audit(&mut w.tx, event).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Forgets tokens that expired before now; returns how many.
    pub async fn purge_expired_tokens(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM tokens WHERE expires_at < $1").bind(now_millis()).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
