//! A fake region server: just enough of `/v1/agent` to drive real agents, recording what they send.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use flotilla_api::agent::{
    AgentJoin, AgentJoined, Assignment, Assignments, AssignmentsQuery, Heartbeat, HostRouter, HostVolume, Observed, Reports,
};
use flotilla_api::{ErrorBody, ErrorDetail};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

pub const JOIN_TOKEN: &str = "join-secret";

#[derive(Default)]
struct Inner {
    hosts: HashMap<String, Uuid>,
    credentials: HashMap<String, Uuid>,
    joins: Vec<AgentJoin>,
    heartbeats: Vec<(Uuid, Heartbeat)>,
    reports: Vec<(Uuid, Observed)>,
    assignments: HashMap<Uuid, watch::Sender<Assignments>>,
    images: HashMap<Uuid, Vec<u8>>,
    /// Join attempts to refuse with 503 before accepting.
    unavailable_joins: usize,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.0.lock().unwrap())
    }

    fn channel(&self, host: Uuid) -> watch::Sender<Assignments> {
        self.with(|i| i.assignments.entry(host).or_insert_with(|| watch::channel(Assignments::default()).0).clone())
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: status.as_u16(),
            title: status.canonical_reason().unwrap_or("").into(),
            message: message.into(),
            request_id: "test".into(),
        },
    };
    (status, Json(body)).into_response()
}

fn host_of(shared: &Shared, headers: &HeaderMap) -> Option<Uuid> {
    let credential = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    shared.with(|i| i.credentials.get(credential).copied())
}

/// The certificate this fake server presents on its calls to agents (one per test process).
pub fn server_identity() -> &'static flotilla_tls::Identity {
    static IDENTITY: std::sync::OnceLock<flotilla_tls::Identity> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| flotilla_tls::Identity::self_signed(&["fake-region".into()]).unwrap())
}

/// A host's credential is kept when it is presented again; else the join token must be valid.
async fn join(State(shared): State<Shared>, Json(join): Json<AgentJoin>) -> Response {
    let known = join.credential.as_ref().is_some_and(|c| shared.with(|i| i.credentials.contains_key(c)));
    if !known && join.join_token.as_deref() != Some(JOIN_TOKEN) {
        return error(StatusCode::UNAUTHORIZED, "join token is not valid");
    }
    if shared.with(|i| i.unavailable_joins.checked_sub(1).map(|left| i.unavailable_joins = left)).is_some() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "starting up");
    }
    let credential = if known { join.credential.clone().unwrap_or_default() } else { Uuid::now_v7().simple().to_string() };
    let host_id = shared.with(|i| {
        let id = *i.hosts.entry(join.name.clone()).or_insert_with(Uuid::now_v7);
        i.credentials.insert(credential.clone(), id);
        i.joins.push(join);
        id
    });
    let server_certificate = server_identity().cert_pem.clone();
    Json(AgentJoined { host_id, credential, heartbeat_interval_ms: 200, server_certificate }).into_response()
}

async fn heartbeat(State(shared): State<Shared>, headers: HeaderMap, Json(beat): Json<Heartbeat>) -> Response {
    let Some(host) = host_of(&shared, &headers) else { return error(StatusCode::UNAUTHORIZED, "bad credential") };
    shared.with(|i| i.heartbeats.push((host, beat)));
    StatusCode::NO_CONTENT.into_response()
}

async fn assignments(State(shared): State<Shared>, headers: HeaderMap, Query(q): Query<AssignmentsQuery>) -> Response {
    let Some(host) = host_of(&shared, &headers) else { return error(StatusCode::UNAUTHORIZED, "bad credential") };
    let mut rx = shared.channel(host).subscribe();
    if q.since == Some(rx.borrow().revision) {
        let wait = Duration::from_secs(q.wait.unwrap_or(30).min(60));
        // Timeout or change: answer what there is.
        let _ = tokio::time::timeout(wait, rx.changed()).await;
    }
    let current = rx.borrow().clone();
    Json(current).into_response()
}

async fn reports(State(shared): State<Shared>, headers: HeaderMap, Json(reports): Json<Reports>) -> Response {
    let Some(host) = host_of(&shared, &headers) else { return error(StatusCode::UNAUTHORIZED, "bad credential") };
    shared.with(|i| i.reports.extend(reports.containers.into_iter().map(|o| (host, o))));
    StatusCode::NO_CONTENT.into_response()
}

async fn image(State(shared): State<Shared>, headers: HeaderMap, Path(id): Path<Uuid>) -> Response {
    if host_of(&shared, &headers).is_none() {
        return error(StatusCode::UNAUTHORIZED, "bad credential");
    }
    match shared.with(|i| i.images.get(&id).cloned()) {
        None => error(StatusCode::NOT_FOUND, "no such image"),
        Some(bytes) => {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            Body::from_stream(futures::stream::iter(chunks)).into_response()
        }
    }
}

/// The fake region, serving on a loopback port until dropped.
pub struct FakeRegion {
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRegion {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRegion {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/agent/join", post(join))
            .route("/v1/agent/heartbeat", post(heartbeat))
            .route("/v1/agent/assignments", get(assignments))
            .route("/v1/agent/reports", post(reports))
            .route("/v1/agent/images/{id}", get(image))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, shared, task }
    }

    /// Replaces host `host`'s assignments, bumping its revision.
    pub fn assign(&self, host: Uuid, containers: Vec<Assignment>) {
        self.shared.channel(host).send_modify(|a| {
            a.revision += 1;
            a.containers = containers;
        });
    }

    /// Replaces host `host`'s pool volumes, bumping its revision.
    pub fn assign_pool(&self, host: Uuid, volumes: Vec<HostVolume>) {
        self.shared.channel(host).send_modify(|a| {
            a.revision += 1;
            a.volumes = volumes;
        });
    }

    /// Replaces host `host`'s routers, bumping its revision.
    pub fn route(&self, host: Uuid, routers: Vec<HostRouter>) {
        self.shared.channel(host).send_modify(|a| {
            a.revision += 1;
            a.routers = routers;
        });
    }

    pub fn add_image(&self, id: Uuid, archive: Vec<u8>) {
        self.shared.with(|i| i.images.insert(id, archive));
    }

    /// Forgets every credential: the next call of every agent gets 401.
    pub fn revoke_credentials(&self) {
        self.shared.with(|i| i.credentials.clear());
    }

    pub fn refuse_joins_with_503(&self, times: usize) {
        self.shared.with(|i| i.unavailable_joins = times);
    }

    pub fn joins(&self) -> Vec<AgentJoin> {
        self.shared.with(|i| i.joins.clone())
    }

    pub fn heartbeats(&self, host: Uuid) -> Vec<Heartbeat> {
        self.shared.with(|i| i.heartbeats.iter().filter(|(h, _)| *h == host).map(|(_, b)| b.clone()).collect())
    }

    pub fn reports(&self, host: Uuid) -> Vec<Observed> {
        self.shared.with(|i| i.reports.iter().filter(|(h, _)| *h == host).map(|(_, o)| o.clone()).collect())
    }

    /// Waits (up to `timeout`) for a report from `host` that `pred` accepts.
    pub async fn wait_report(&self, host: Uuid, timeout: Duration, pred: impl Fn(&Observed) -> bool) -> Observed {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.reports(host).into_iter().rev().find(|o| pred(o)) {
                return found;
            }
            assert!(tokio::time::Instant::now() < deadline, "no such report within {timeout:?}; got {:#?}", self.reports(host));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `cond` holds.
    pub async fn wait(&self, timeout: Duration, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !cond(self) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
