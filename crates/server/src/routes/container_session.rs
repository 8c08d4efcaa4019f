//! `GET /v1/containers/{container}/exec` upgraded to a WebSocket: the interactive exec, relayed frame
//! for frame to the agent's own session (frames as `flotilla_api::exec_session` describes them).

use super::container_ops::for_read;
use crate::error::ApiError;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use flotilla_api::{ErrorBody, ExecSession};
use flotilla_client::websocket::Socket;
use flotilla_core::container::Operation;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite;

#[utoipa::path(get, path = "/v1/containers/{container}/exec", tag = "containers",
    params(("container" = String, Path, description = "id or name"),
        ("command" = Vec<String>, Query, description = "the command, one `command` per argument"),
        ("tty" = Option<bool>, Query, description = "allocate a pseudo-terminal"),
        ("stdin" = Option<bool>, Query, description = "attach stdin"),
        ("cols" = Option<u16>, Query, description = "the terminal's first width"),
        ("rows" = Option<u16>, Query, description = "the terminal's first height")),
    responses((status = 101, description = "a WebSocket: binary frames are bytes, text frames JSON controls ({\"resize\":{\"cols\":C,\"rows\":R}}, \"eof\", {\"exit\":N}, {\"error\":\"...\"})"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn exec_session(
    State(state): State<AppState>,
    caller: Principal,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    caller.require_write()?;
    let session = ExecSession::from_query(query.as_deref().unwrap_or_default())?;
    let (_, call) = for_read(&state, &caller, &key, Operation::Exec).await?;
    let upgrade = upgrade.map_err(|e| ApiError::BadRequest(format!("an interactive exec needs a WebSocket upgrade: {e}")))?;
    let agent = call.attach_exec(&session).await?;
    Ok(upgrade.on_upgrade(move |caller| relay(caller, agent)))
}

/// Copies frames both ways until either side ends; the agent's last frames (the exit code) are flushed.
async fn relay(caller: WebSocket, agent: Socket) {
    let (mut to_caller, mut from_caller) = caller.split();
    let (mut to_agent, mut from_agent) = agent.split();
    let upstream = async {
        while let Some(Ok(message)) = from_caller.next().await {
            let message = match message {
                ws::Message::Binary(bytes) => tungstenite::Message::Binary(bytes),
                ws::Message::Text(text) => tungstenite::Message::Text(text.as_str().into()),
                ws::Message::Close(_) => break,
                ws::Message::Ping(_) | ws::Message::Pong(_) => continue,
            };
            if to_agent.send(message).await.is_err() {
                break;
            }
        }
        // Err: the agent went first.
        let _ = to_agent.close().await;
    };
    let downstream = async {
        while let Some(Ok(message)) = from_agent.next().await {
            let message = match message {
                tungstenite::Message::Binary(bytes) => ws::Message::Binary(bytes),
                tungstenite::Message::Text(text) => ws::Message::Text(text.as_str().into()),
                tungstenite::Message::Close(_) => break,
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) | tungstenite::Message::Frame(_) => continue,
            };
            if to_caller.send(message).await.is_err() {
                break;
            }
        }
        // Err: the caller went first.
        let _ = to_caller.close().await;
    };
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}
