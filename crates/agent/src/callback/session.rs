//! The interactive exec on the agent: the server's WebSocket relayed to an attached exec, with the
//! frames of `flotilla_api::exec_session` (bytes both ways, resize and EOF in, the exit code last).

use super::handlers::find;
use super::{CallbackError, CallbackState};
use crate::runtime::{AttachedExec, ContainerRuntime};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use flotilla_api::{ExecControl, ExecSession};
use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// `GET /agent/v1/containers/{id}/exec` upgraded: starts the exec first, so a refusal is an HTTP error.
pub async fn exec_session(
    State(state): State<CallbackState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Result<Response, CallbackError> {
    let session = ExecSession::from_query(query.as_deref().unwrap_or_default())
        .map_err(|e| CallbackError::BadRequest(format!("{}: {} ({:?})", e.field, e.reason, e.value)))?;
    let c = find(&state, &id).await?;
    let exec = state.runtime.exec_attached(&c.runtime_id, &session).await?;
    let (runtime, shutdown) = (state.runtime.clone(), state.shutdown.clone());
    Ok(upgrade.on_upgrade(move |socket| relay(runtime, exec, socket, shutdown)))
}

/// Relays until the command's output ends (then sends its exit code), the caller goes, or the agent stops.
async fn relay(runtime: Arc<dyn ContainerRuntime>, exec: AttachedExec, socket: WebSocket, mut shutdown: watch::Receiver<bool>) {
    let AttachedExec { id, mut output, input } = exec;
    let mut input = Some(input);
    let (mut to_caller, mut from_caller) = socket.split();
    let end = loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    if to_caller.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => break ExecControl::Error(e.to_string()),
                None => break match runtime.exec_exit_code(&id).await {
                    Ok(code) => ExecControl::Exit(code),
                    Err(e) => ExecControl::Error(e.to_string()),
                },
            },
            message = from_caller.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some(writer) = input.as_mut()
                        && writer.write_all(&bytes).await.is_err()
                    {
                        input = None;
                    }
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                    Ok(ExecControl::Resize(size)) => {
                        if let Err(error) = runtime.resize_exec(&id, size).await {
                            tracing::debug!(exec = %id, %error, "resizing an exec failed");
                        }
                    }
                    Ok(ExecControl::Eof) => {
                        if let Some(mut writer) = input.take() {
                            // Err: the command closed its stdin already.
                            let _ = writer.shutdown().await;
                        }
                    }
                    _ => break ExecControl::Error(format!("unexpected control frame {text}: expected a resize or \"eof\"")),
                },
                // The caller is gone: dropping the input closes the command's stdin.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
            () = stopping(&mut shutdown) => break ExecControl::Error("the agent is stopping".into()),
        }
    };
    if let Ok(text) = serde_json::to_string(&end) {
        // Err: the caller went meanwhile; nothing is left to tell.
        let _ = to_caller.send(Message::Text(text.into())).await;
    }
    let _ = to_caller.close().await;
}

/// Resolves when the agent stops (or its stop signal is gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // Err: the sender is gone, which is a stop too.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
