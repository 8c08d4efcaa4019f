//! Store errors: what went wrong, in terms the API can map to a status.

/// Everything a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("{kind} {key:?} not found")]
    NotFound { kind: &'static str, key: String },
    #[error("{kind} named {name:?} already exists")]
    NameTaken { kind: &'static str, name: String },
    #[error("{0}")]
    Conflict(String),
    /// Another action holds the cluster's or node's lock (a 409 too, counted apart).
    #[error("{0}")]
    Locked(String),
    /// A join that proves nothing: no valid join token, no matching host credential.
    #[error("{0}")]
    Unauthenticated(String),
    #[error("name {name:?} matches {count} {kind}s in different projects: use the id")]
    Ambiguous { kind: &'static str, name: String, count: usize },
    /// A request names something that cannot be (an unknown network, an address outside the subnet).
    #[error("{0}")]
    Invalid(#[from] flotilla_core::ValidationError),
    /// Every address of the blocks this region holds of a global network is taken: the central
    /// must hand it another block.
    #[error("the address blocks this region holds of global network {name} are all taken")]
    BlocksExhausted { network: flotilla_core::NetworkId, name: String },
    #[error("{0}")]
    Quota(flotilla_core::quota::QuotaExceeded),
    #[error("marker {0:?} is not an object of this list")]
    BadMarker(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// An online backup of a database that is not SQLite's.
    #[error("online backups are SQLite's: back PostgreSQL up with pg_dump")]
    NoOnlineBackup,
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Maps a unique-constraint violation to `NameTaken`, anything else to `Database`.
    pub(crate) fn on_insert<'a>(kind: &'static str, name: &'a str) -> impl FnOnce(sqlx::Error) -> StoreError + 'a {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::NameTaken { kind, name: name.to_owned() },
            _ => StoreError::Database(error),
        }
    }
}
