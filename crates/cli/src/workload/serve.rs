//! `flotilla workload serve`: a tiny HTTP server that answers, burns CPU, fails its health check or
//! exits when asked, and logs every request on stdout. It often runs as PID 1 in a container, so it
//! handles SIGTERM itself: it stops at once, with exit code 0.

use crate::serve::shutdown;
use anyhow::{Context, Result};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Args;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long answers in flight may take to finish once the workload stops.
const GRACE: Duration = Duration::from_secs(2);
/// The most `/burn` accepts.
const MAX_BURN_SECONDS: u64 = 3600;
const MAX_BURN_CORES: usize = 256;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub listen: IpAddr,
}

/// What the handlers share.
#[derive(Clone)]
struct Workload {
    hostname: Arc<str>,
    requests: Arc<AtomicU64>,
    healthy: Arc<AtomicBool>,
    /// Where `POST /exit` sends the exit code it was given.
    exit: mpsc::Sender<u8>,
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let stopped = shutdown::on_signal()?;
    let listener = tokio::net::TcpListener::bind((args.listen, args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.listen, args.port))?;
    println!("workload listening on {}", listener.local_addr()?);
    let (exit, mut exits) = mpsc::channel(1);
    let app = router(Workload { hostname: hostname().into(), requests: Arc::default(), healthy: Arc::new(AtomicBool::new(true)), exit });
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(axum::serve(listener, app).with_graceful_shutdown(async move { drop(stopping.await) }).into_future());
    let code = tokio::select! {
        () = stopped => 0,
        Some(code) = exits.recv() => code,
    };
    let _ = stop.send(());
    let _ = tokio::time::timeout(GRACE, server).await;
    println!("workload exiting with code {code}");
    if code != 0 {
        std::process::exit(code.into());
    }
    Ok(())
}

fn router(workload: Workload) -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/healthz", get(healthz))
        .route("/fail", post(fail))
        .route("/recover", post(recover))
        .route("/burn", post(burn))
        .route("/exit", post(exit))
        .layer(middleware::from_fn(log_request))
        .with_state(workload)
}

/// The container's hostname (its short id under Docker).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Prints `METHOD URI STATUS` for every request, so that the container's logs show its traffic.
async fn log_request(request: Request, next: Next) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    let response = next.run(request).await;
    println!("{line} {}", response.status().as_u16());
    response
}

#[derive(Debug, serde::Serialize)]
struct Hello {
    hostname: String,
    /// How many times `/` was asked for, this one included.
    count: u64,
}

async fn hello(State(workload): State<Workload>) -> Json<Hello> {
    let count = workload.requests.fetch_add(1, Ordering::Relaxed) + 1;
    Json(Hello { hostname: workload.hostname.to_string(), count })
}

async fn healthz(State(workload): State<Workload>) -> (StatusCode, &'static str) {
    if workload.healthy.load(Ordering::Relaxed) { (StatusCode::OK, "ok\n") } else { (StatusCode::INTERNAL_SERVER_ERROR, "failing\n") }
}

async fn fail(State(workload): State<Workload>) -> &'static str {
    workload.healthy.store(false, Ordering::Relaxed);
    "/healthz now fails\n"
}

async fn recover(State(workload): State<Workload>) -> &'static str {
    workload.healthy.store(true, Ordering::Relaxed);
    "/healthz is ok again\n"
}

#[derive(Debug, Deserialize)]
struct Burn {
    #[serde(default = "ten")]
    seconds: u64,
    #[serde(default = "one")]
    cores: usize,
}

fn ten() -> u64 {
    10
}

fn one() -> usize {
    1
}

/// Keeps `cores` threads busy for `seconds`; answers at once.
async fn burn(Query(burn): Query<Burn>) -> Response {
    if burn.seconds > MAX_BURN_SECONDS || !(1..=MAX_BURN_CORES).contains(&burn.cores) {
        let message = format!("seconds must be at most {MAX_BURN_SECONDS} and cores 1 to {MAX_BURN_CORES}\n");
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    let until = Instant::now() + Duration::from_secs(burn.seconds);
    for _ in 0..burn.cores {
        std::thread::spawn(move || {
            let mut x = 0u64;
            while Instant::now() < until {
                for _ in 0..10_000 {
                    x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
            }
        });
    }
    (StatusCode::ACCEPTED, format!("burning {} cores for {} s\n", burn.cores, burn.seconds)).into_response()
}

#[derive(Debug, Deserialize)]
struct Exit {
    #[serde(default)]
    code: u8,
}

/// Answers, then the process exits with the code given (0-255).
async fn exit(State(workload): State<Workload>, Query(exit): Query<Exit>) -> String {
    let _ = workload.exit.try_send(exit.code);
    format!("exiting with code {}\n", exit.code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn workload() -> (Router, mpsc::Receiver<u8>) {
        let (exit, exits) = mpsc::channel(1);
        let workload = Workload { hostname: "box-1".into(), requests: Arc::default(), healthy: Arc::new(AtomicBool::new(true)), exit };
        (router(workload), exits)
    }

    async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
        let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn hello_counts_its_requests() {
        let (app, _) = workload();
        for expected in 1..=3 {
            let (status, body) = call(&app, "GET", "/").await;
            assert_eq!(status, StatusCode::OK);
            let hello: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(hello, serde_json::json!({"hostname": "box-1", "count": expected}));
        }
    }

    #[tokio::test]
    async fn health_fails_and_recovers_on_request() {
        let (app, _) = workload();
        assert_eq!(call(&app, "GET", "/healthz").await, (StatusCode::OK, "ok\n".into()));
        assert_eq!(call(&app, "POST", "/fail").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", "/healthz").await, (StatusCode::INTERNAL_SERVER_ERROR, "failing\n".into()));
        assert_eq!(call(&app, "GET", "/healthz").await.0, StatusCode::INTERNAL_SERVER_ERROR, "it stays failing");
        assert_eq!(call(&app, "POST", "/recover").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", "/healthz").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", "/fail").await.0, StatusCode::METHOD_NOT_ALLOWED, "only a POST fails it");
        assert_eq!(call(&app, "GET", "/healthz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn burn_answers_at_once_and_checks_its_numbers() {
        let (app, _) = workload();
        let started = Instant::now();
        let (status, body) = call(&app, "POST", "/burn?seconds=2&cores=2").await;
        assert_eq!((status, body.as_str()), (StatusCode::ACCEPTED, "burning 2 cores for 2 s\n"));
        assert!(started.elapsed() < Duration::from_secs(1), "answered before the burn ended");
        assert_eq!(call(&app, "POST", "/burn?seconds=0").await.1, "burning 1 cores for 0 s\n");
        for bad in ["/burn?seconds=99999", "/burn?cores=0", "/burn?cores=1000", "/burn?seconds=x", "/burn?seconds=-1"] {
            assert_eq!(call(&app, "POST", bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[tokio::test]
    async fn exit_hands_over_its_code() {
        let (app, mut exits) = workload();
        assert_eq!(call(&app, "POST", "/exit?code=3").await, (StatusCode::OK, "exiting with code 3\n".into()));
        assert_eq!(exits.try_recv().unwrap(), 3);
        assert_eq!(call(&app, "POST", "/exit").await.0, StatusCode::OK);
        assert_eq!(exits.try_recv().unwrap(), 0);
        assert_eq!(call(&app, "POST", "/exit?code=256").await.0, StatusCode::BAD_REQUEST);
        assert!(exits.try_recv().is_err());
    }

    #[test]
    fn the_hostname_is_known() {
        assert!(!hostname().is_empty());
    }
}
