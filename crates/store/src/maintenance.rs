//! Operators' work on the database: the migrations pending and applying them, and SQLite's
//! online backup (`VACUUM INTO`).

use crate::{Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError};
use std::path::Path;

/// A schema migration this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

impl Store {
    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The migrations this binary carries that the database has not applied, oldest first.
    pub async fn pending_migrations(&self) -> Result<Vec<Migration>, StoreError> {
        let exists = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()"
            }
        };
        let applied: Vec<i64> = if sqlx::query_scalar::<_, i64>(exists).fetch_one(&self.pool).await? > 0 {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE").fetch_all(&self.pool).await?
        } else {
            Vec::new()
        };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .map(|m| Migration { version: m.version, description: m.description.to_string() })
            .collect())
    }

    /// Applies the pending migrations; answers those it applied.
    pub async fn migrate(&self) -> Result<Vec<Migration>, StoreError> {
        let pending = self.pending_migrations().await?;
        self.migrator().run(&self.pool).await?;
        Ok(pending)
    }

    /// Writes a consistent copy of the SQLite database to `file` (which must not exist) while
    /// the database stays in use.
    pub async fn backup_into(&self, file: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::NoOnlineBackup);
        }
        sqlx::query("VACUUM INTO ?").bind(file.to_string_lossy().into_owned()).execute(&self.pool).await?;
        Ok(())
    }
}
