//! The dashboard's secrets (migration 0026): one-time sign-in links and browser sessions, kept
//! by the SHA-256 of their secret with the API token they stand for sealed by the caller.

use crate::codec::{get_bool, get_time, millis, now_millis};
use crate::{Store, StoreError};
use flotilla_core::Timestamp;
use sqlx::Row;

/// What a dashboard secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiSecretKind {
    /// A one-time sign-in link: taken (deleted) by its first use.
    Link,
    /// A browser session: lives until sign-out or its expiry.
    Session,
}

impl UiSecretKind {
    fn as_str(self) -> &'static str {
        match self {
            UiSecretKind::Link => "link",
            UiSecretKind::Session => "session",
        }
    }
}

/// A link's or a session's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSecret {
    /// The SHA-256 (hex) of the secret.
    pub digest: String,
    pub kind: UiSecretKind,
    /// The API token, sealed with the secret (opaque to the store).
    pub sealed_token: String,
    /// The token was issued for this session (a password sign-in): revoked when it ends.
    pub owns_token: bool,
    pub expires_at: Timestamp,
}

impl Store {
    /// Keeps a new link or session; expired rows of anyone are forgotten first.
    pub async fn put_ui_secret(&self, secret: &UiSecret) -> Result<(), StoreError> {
        let now = now_millis();
        sqlx::query("DELETE FROM ui_secrets WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO ui_secrets (digest, kind, sealed_token, owns_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(secret.digest.clone())
        .bind(secret.kind.as_str())
        .bind(secret.sealed_token.clone())
        .bind(i64::from(secret.owns_token))
        .bind(now)
        .bind(millis(secret.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the unexpired link with this digest: deleted by the same statement that reads it,
    /// so of two uses at once only one gets it.
    pub async fn take_ui_link(&self, digest: &str) -> Result<Option<UiSecret>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM ui_secrets WHERE digest = $1 AND kind = 'link' AND expires_at > $2 RETURNING sealed_token, owns_token, expires_at",
        )
        .bind(digest.to_owned())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| decode(&row, digest, UiSecretKind::Link)).transpose()
    }

    /// The unexpired session with this digest.
    pub async fn ui_session(&self, digest: &str) -> Result<Option<UiSecret>, StoreError> {
        let row = sqlx::query(
            "SELECT sealed_token, owns_token, expires_at FROM ui_secrets WHERE digest = $1 AND kind = 'session' AND expires_at > $2",
        )
        .bind(digest.to_owned())
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| decode(&row, digest, UiSecretKind::Session)).transpose()
    }

    /// Ends the session with this digest (sign-out, or its token no longer valid).
    pub async fn delete_ui_session(&self, digest: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM ui_secrets WHERE digest = $1 AND kind = 'session'").bind(digest.to_owned()).execute(&self.pool).await?;
        Ok(())
    }
}

fn decode(row: &sqlx::any::AnyRow, digest: &str, kind: UiSecretKind) -> Result<UiSecret, StoreError> {
    Ok(UiSecret {
        digest: digest.to_owned(),
        kind,
        sealed_token: row.try_get("sealed_token")?,
        owns_token: get_bool(row, "owns_token")?,
        expires_at: get_time(row, "expires_at")?,
    })
}
