//! The store's connection pool on PostgreSQL: a connection is not tested on every checkout, yet
//! one the database dropped while it sat idle (a restart, an administrator) is tested, found
//! dead and replaced, never handed to a caller.

use flotilla_store::Store;
use sqlx::Connection;
use std::time::Duration;

#[tokio::test]
async fn connections_dropped_while_idle_are_replaced_before_use() {
    let Ok(server) = std::env::var("FLOTILLA_TEST_POSTGRES_URL") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but FLOTILLA_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = flotilla_store::create_postgres_database(&server, &format!("pool_{}", uuid::Uuid::now_v7().simple())).await.unwrap();
    let store = Store::connect(&url).await.unwrap();
    // Several pooled connections, each used once.
    let (a, b, c, d) = tokio::join!(store.host_revisions(), store.host_revisions(), store.host_revisions(), store.host_revisions());
    for read in [a, b, c, d] {
        read.unwrap();
    }

    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let dropped: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!dropped.is_empty(), "the store held connections");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    for attempt in 0..2 * dropped.len() {
        store.host_revisions().await.unwrap_or_else(|e| panic!("read {attempt} got a dead connection: {e}"));
    }
}
