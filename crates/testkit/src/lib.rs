//! Dev-only harness: start a region server in-process on SQLite or a real PostgreSQL, log users
//! in, add simulated hosts, wait for containers, and make scratch databases. Under `CI=true` a
//! missing PostgreSQL fails, never skips.

pub mod browser;
pub mod fault_proxy;
mod fixtures;
mod images;
mod sim;
pub mod testbed;

pub use fixtures::{global_copy, run_on, workload_profile};
pub use images::image_archive;
pub use sim::{SimHost, fast_timings, wait_for_container, wait_until};

use flotilla_api::{ProjectCreate, RoleAssignmentCreate, TokenCreate, UserCreate};
use flotilla_client::Client;
use flotilla_server::{Server, ServerConfig};
use flotilla_store::Store;

/// The bootstrap admin's password in every test region.
pub const ADMIN_PASSWORD: &str = "admin-secret-pw";
/// The password `add_user` gives every user it creates.
pub const USER_PASSWORD: &str = "user-secret-pw";

/// Which database a test region runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the test command started (`FLOTILLA_TEST_POSTGRES_URL`). `None` outside
/// CI when unset (the caller skips); under `CI=true` an unset URL panics.
pub fn postgres_server_url() -> Option<String> {
    match std::env::var("FLOTILLA_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but FLOTILLA_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh")
        }
        Err(_) => {
            eprintln!("FLOTILLA_TEST_POSTGRES_URL is not set: PostgreSQL test skipped outside CI (scripts/test.sh sets it)");
            None
        }
    }
}

/// A fresh, empty database for one test: a SQLite file in `dir`, or a new PostgreSQL database.
pub async fn database_url(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}", dir.join("flotilla.db").display())),
        Backend::Postgres => {
            let server = postgres_server_url()?;
            let name = format!("test_{}", uuid::Uuid::now_v7().simple());
            Some(flotilla_store::create_postgres_database(&server, &name).await.expect("create a scratch PostgreSQL database"))
        }
    }
}

/// A region server running in this process on a loopback port, with its admin logged in.
pub struct TestRegion {
    pub url: String,
    pub database_url: String,
    /// A client logged in as the bootstrap admin, on project `admin`.
    pub admin: Client,
    server: Option<Server>,
    _dir: tempfile::TempDir,
}

impl TestRegion {
    /// Starts a region on `backend`; `None` when that backend is unavailable outside CI.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a region on `backend` after `adjust` changed its configuration (grace period, limits).
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut ServerConfig)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = database_url(backend, dir.path()).await?;
        let mut config = ServerConfig {
            region: "test".into(),
            bootstrap_password: Some(ADMIN_PASSWORD.into()),
            ..ServerConfig::new("127.0.0.1:0".parse().expect("loopback address"), database_url.clone(), dir.path().join("data"))
        };
        adjust(&mut config);
        let server = Server::start(config).await.expect("start region server");
        let url = server.url();
        let admin = login(&url, "admin", ADMIN_PASSWORD, Some("admin")).await.expect("bootstrap admin logs in");
        Some(Self { url, database_url, admin, server: Some(server), _dir: dir })
    }

    pub async fn sqlite() -> Self {
        Self::start(Backend::Sqlite).await.expect("SQLite is always available")
    }

    /// The server's data directory (uploaded images live under `images/`).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    /// A join token for agents of this region.
    pub async fn join_token(&self) -> String {
        self.join_token_valid_for(std::time::Duration::from_secs(3600)).await
    }

    /// A join token valid for `ttl`, which may be shorter than the API allows (to see one expire).
    pub async fn join_token_valid_for(&self, ttl: std::time::Duration) -> String {
        let server = self.server.as_ref().expect("region is running");
        server.issue_join_token(ttl).await.expect("issue a join token")
    }

    /// A client with no token.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.url).expect("valid URL")
    }

    /// A second handle on the region's database, for tests that arrange state directly.
    pub async fn store(&self) -> Store {
        Store::connect(&self.database_url).await.expect("open the region's store")
    }

    /// Creates project `project` unless it exists, and user `name` with `role` on it; returns
    /// the user logged in there.
    pub async fn add_user(&self, name: &str, project: &str, role: flotilla_core::Role) -> Client {
        if self.admin.project(project).await.is_err() {
            let body = ProjectCreate { name: project.into(), description: String::new(), enabled: None, metadata: Default::default() };
            self.admin.create_project(&body).await.expect("create project");
        }
        let body = UserCreate {
            name: name.into(),
            password: USER_PASSWORD.into(),
            email: None,
            enabled: None,
            default_project: Some(project.into()),
            metadata: Default::default(),
        };
        self.admin.create_user(&body).await.expect("create user");
        let assignment = RoleAssignmentCreate { user: name.into(), project: project.into(), role };
        self.admin.assign_role(&assignment).await.expect("assign role");
        login(&self.url, name, USER_PASSWORD, Some(project)).await.expect("new user logs in")
    }

    /// Stops the server gracefully.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("graceful shutdown");
        }
    }
}

/// Logs `user` in at `url` and returns a client carrying the token.
pub async fn login(url: &str, user: &str, password: &str, project: Option<&str>) -> Result<Client, flotilla_client::ClientError> {
    let client = Client::new(url)?;
    let body = TokenCreate { user: user.into(), password: password.into(), project: project.map(Into::into), expires_in: None };
    let token = client.create_token(&body).await?;
    Ok(client.with_token(token.token.expect("a new token carries its secret")))
}
