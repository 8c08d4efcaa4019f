//! WebSockets opened over a reqwest request (an HTTP/1.1 upgrade), so they ride the client's own
//! TLS (a CA, a pinned certificate) and headers. Used for `container exec -it`, by the CLI towards
//! the server and by the server towards the agent.

use reqwest::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use reqwest::{RequestBuilder, Response, StatusCode};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// An open WebSocket, client side.
pub type Socket = WebSocketStream<reqwest::Upgraded>;

/// Why an answer did not become a WebSocket.
#[derive(Debug, thiserror::Error)]
pub enum WebSocketError {
    #[error("answered {0} instead of switching to a WebSocket")]
    NotSwitched(StatusCode),
    #[error("its Sec-WebSocket-Accept does not answer the request's key")]
    BadAccept,
    #[error("the connection could not be taken over: {0}")]
    Upgrade(#[source] reqwest::Error),
}

/// `request` with the WebSocket handshake's headers, and the key its answer must acknowledge.
pub fn handshake(request: RequestBuilder) -> (RequestBuilder, String) {
    let key = generate_key();
    let request = request
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "websocket")
        .header(SEC_WEBSOCKET_VERSION, "13")
        .header(SEC_WEBSOCKET_KEY, &key);
    (request, key)
}

/// The WebSocket of a `101 Switching Protocols` answer to a [`handshake`] request with `key`.
pub async fn open(response: Response, key: &str) -> Result<Socket, WebSocketError> {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(WebSocketError::NotSwitched(response.status()));
    }
    let accept = response.headers().get(SEC_WEBSOCKET_ACCEPT).and_then(|v| v.to_str().ok());
    if accept != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err(WebSocketError::BadAccept);
    }
    let upgraded = response.upgrade().await.map_err(WebSocketError::Upgrade)?;
    Ok(WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await)
}
