//! When a server role stops: on SIGINT (Ctrl-C) or SIGTERM.

use anyhow::{Context, Result};
use std::future::Future;
use tokio::signal::unix::{SignalKind, signal};

/// Listens for SIGINT and SIGTERM from now on; the future resolves at the first of them.
pub fn on_signal() -> Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "stopping");
    })
}
