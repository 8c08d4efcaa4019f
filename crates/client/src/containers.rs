//! Container endpoints: create/run, list, show, update, delete, the operations (start, stop...), and
//! the interactive calls (logs, exec, stats, top) and the container's files (archive).

use crate::websocket::{self, Socket};
use crate::{Call, Client, ClientError, Listing};
use bytes::Bytes;
use flotilla_api::{
    ArchiveQuery, Container, ContainerCreate, ContainerFilter, ContainerList, ContainerStats, ContainerTop, ContainerUpdate, DeleteQuery,
    ExecRequest, ExecResult, ExecSession, KillQuery, LogsQuery, RenameRequest, StopQuery,
};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use std::time::Duration;

/// A container's log output as it arrives, in chunks that need not end at line ends.
pub type LogStream = BoxStream<'static, Result<Bytes, ClientError>>;

/// How long an exec may run before the client gives up on its answer.
const EXEC_TIMEOUT: Duration = Duration::from_secs(600);

impl Client {
    /// `POST /v1/containers`: the container is written and scheduled; the answer (202) comes at once.
    pub async fn create_container(&self, body: &ContainerCreate) -> Result<Container, ClientError> {
        self.send(Call::post(&["containers"], body)).await
    }

    pub async fn list_containers(&self, query: impl Into<Listing<'_>>, filter: &ContainerFilter) -> Result<ContainerList, ClientError> {
        self.send(Call::listing(&["containers"], query.into(), filter)).await
    }

    /// A container by id or name.
    pub async fn container(&self, key: &str) -> Result<Container, ClientError> {
        self.send(Call::get(&["containers", key])).await
    }

    /// Renames it, changes its CPU or memory limits or replaces its metadata.
    pub async fn update_container(&self, key: &str, body: &ContainerUpdate) -> Result<Container, ClientError> {
        self.send(Call::patch(&["containers", key], body)).await
    }

    /// Deletes a container: `None` when it is gone at once (204), else the container on its way out (202).
    pub async fn delete_container(&self, key: &str, options: &DeleteQuery) -> Result<Option<Container>, ClientError> {
        self.send(Call::delete(&["containers", key]).query(options)).await
    }

    pub async fn start_container(&self, key: &str) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "start"])).await
    }

    pub async fn stop_container(&self, key: &str, options: &StopQuery) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "stop"]).query(options)).await
    }

    pub async fn restart_container(&self, key: &str, options: &StopQuery) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "restart"]).query(options)).await
    }

    pub async fn pause_container(&self, key: &str) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "pause"])).await
    }

    pub async fn unpause_container(&self, key: &str) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "unpause"])).await
    }

    pub async fn kill_container(&self, key: &str, options: &KillQuery) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "kill"]).query(options)).await
    }

    /// Recreates the container from its image and spec, on the same host.
    pub async fn rebuild_container(&self, key: &str) -> Result<Container, ClientError> {
        self.send(Call::action(&["containers", key, "rebuild"])).await
    }

    pub async fn rename_container(&self, key: &str, body: &RenameRequest) -> Result<Container, ClientError> {
        self.send(Call::post(&["containers", key, "rename"], body)).await
    }

    /// The container's output; with `follow`, the stream stays open and new output keeps coming.
    pub async fn container_logs(&self, key: &str, options: &LogsQuery) -> Result<LogStream, ClientError> {
        let path = ["containers", key, "logs"];
        let call = Call::get(&path).query(options).timeout(None);
        let url = self.endpoint(call.path).to_string();
        let response = self.answer(&url, self.request(&call)).await?;
        Ok(response.bytes_stream().map_err(move |error| ClientError::Transport { url: url.clone(), error }).boxed())
    }

    /// Runs a command in the running container and answers its output and exit code once it ended.
    pub async fn exec_container(&self, key: &str, body: &ExecRequest) -> Result<ExecResult, ClientError> {
        self.send(Call::post(&["containers", key, "exec"], body).timeout(Some(EXEC_TIMEOUT))).await
    }

    /// `GET /v1/containers/{key}/exec` upgraded to a WebSocket: an interactive `session`, its frames
    /// as [`flotilla_api::exec_session`] describes them.
    pub async fn attach_exec(&self, key: &str, session: &ExecSession) -> Result<Socket, ClientError> {
        let path = ["containers", key, "exec"];
        let call = Call::get(&path).query(session.query_pairs()).timeout(None);
        let url = self.endpoint(&path).to_string();
        let (request, accept_key) = websocket::handshake(self.request(&call));
        let response = self.answer(&url, request).await?;
        websocket::open(response, &accept_key).await.map_err(|error| ClientError::WebSocket { url, error })
    }

    pub async fn container_stats(&self, key: &str) -> Result<ContainerStats, ClientError> {
        self.send(Call::get(&["containers", key, "stats"])).await
    }

    /// `GET /v1/containers/{key}/archive?path=`: a tar of the file or directory `path`.
    pub async fn download_archive(&self, key: &str, path: &str) -> Result<Bytes, ClientError> {
        let (url, response) =
            self.respond(Call::get(&["containers", key, "archive"]).query(ArchiveQuery { path: path.to_owned() })).await?;
        response.bytes().await.map_err(|error| ClientError::Transport { url, error })
    }

    /// `PUT /v1/containers/{key}/archive?path=`: extracts `tar` into the directory `path`.
    pub async fn upload_archive(&self, key: &str, path: &str, tar: Vec<u8>) -> Result<(), ClientError> {
        let segments = ["containers", key, "archive"];
        let call = Call::new(Method::PUT, &segments, None::<&()>).query(ArchiveQuery { path: path.to_owned() });
        let url = self.endpoint(call.path).to_string();
        let request = self.request(&call).header(CONTENT_TYPE, "application/x-tar").body(tar);
        self.answer(&url, request).await.map(drop)
    }

    /// The container's processes, as `ps` shows them.
    pub async fn container_top(&self, key: &str) -> Result<ContainerTop, ClientError> {
        self.send(Call::get(&["containers", key, "top"])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn logs_arrive_as_a_stream() {
        let (url, server) = crate::fake_server::serve_once("200 OK", "text/plain", "line one\nline two\n");
        let client = Client::new(&url).unwrap();
        let options = LogsQuery { tail: Some(10), since: None, follow: Some(true), timestamps: None };
        let chunks: Vec<Bytes> = client.container_logs("web", &options).await.unwrap().try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"line one\nline two\n");
        assert!(server.join().unwrap().head.starts_with("GET /v1/containers/web/logs?tail=10&follow=true HTTP/1.1"));
    }

    #[tokio::test]
    async fn a_missing_container_has_no_logs() {
        let body = r#"{"error":{"code":404,"title":"Not Found","message":"container \"web\" not found","request_id":"r1"}}"#;
        let (url, _server) = crate::fake_server::serve_once("404 Not Found", "application/json", body);
        let Err(err) = Client::new(&url).unwrap().container_logs("web", &LogsQuery::default()).await else { panic!("no error") };
        assert_eq!(err.to_string(), r#"container "web" not found (404, request r1)"#);
    }

    #[tokio::test]
    async fn operations_are_posts_with_their_options() {
        let (url, server) = crate::fake_server::serve_once("204 No Content", "application/json", "");
        let client = Client::new(&url).unwrap();
        let gone = client.delete_container("web", &DeleteQuery { stop: Some(true), force: None }).await.unwrap();
        assert!(gone.is_none());
        assert!(server.join().unwrap().head.starts_with("DELETE /v1/containers/web?stop=true HTTP/1.1"));

        let (url, server) = crate::fake_server::serve_once("500 Internal Server Error", "text/plain", "boom");
        let client = Client::new(&url).unwrap();
        let err = client.kill_container("web", &KillQuery { signal: Some("SIGTERM".into()) }).await.unwrap_err();
        assert_eq!(err.to_string(), "internal server error: boom (500)");
        let head = server.join().unwrap().head;
        assert!(head.starts_with("POST /v1/containers/web/kill?signal=SIGTERM HTTP/1.1"), "{head}");
        assert!(!head.contains("content-type"), "a body-less POST: {head}");
    }
}
