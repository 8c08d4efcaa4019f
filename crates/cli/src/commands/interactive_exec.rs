//! `container exec -i/-t`: the interactive session, a WebSocket through the server to the agent.
//! With `-t` the local terminal is put in raw mode (restored however the session ends) and its
//! size follows the window (SIGWINCH); stdin is read on a thread of its own, so a pending read
//! never holds the program open after the command ended.

use crate::failure::CliError;
use crate::output;
use crate::target::Target;
use anyhow::{Context, Result};
use flotilla_api::{ExecControl, ExecSession, TerminalSize};
use flotilla_client::Client;
use flotilla_client::websocket::Socket;
use futures::{SinkExt, StreamExt};
use std::io::{IsTerminal, Read};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How the session ended other than by the command's exit.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the exec failed: {0}")]
    Failed(String),
    #[error("the session closed before the command's exit code came")]
    Lost,
    #[error("the agent sent a frame this CLI does not understand: {0}")]
    BadFrame(String),
}

/// Runs `command` in `container` interactively; fails with the command's exit code as the one-shot exec does.
pub async fn run(client: &Target, container: &str, command: Vec<String>, tty: bool, stdin: bool) -> Result<()> {
    let session = ExecSession { command, tty, stdin, size: if tty { terminal_size() } else { None } };
    let (socket, _) = client.found(container, async |c: &Client| c.attach_exec(container, &session).await).await?;
    let raw = if tty && stdin && std::io::stdin().is_terminal() { Some(RawMode::enable()?) } else { None };
    let ended = relay(socket, tty, stdin).await;
    drop(raw);
    match ended? {
        0 => Ok(()),
        code => Err(CliError::CommandExited(code).into()),
    }
}

/// The local terminal in raw mode until dropped.
struct RawMode;

impl RawMode {
    fn enable() -> std::io::Result<Self> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Err: the terminal is gone; nothing is left to restore.
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The local terminal's size, when there is one.
fn terminal_size() -> Option<TerminalSize> {
    crossterm::terminal::size().ok().filter(|(cols, rows)| *cols > 0 && *rows > 0).map(|(cols, rows)| TerminalSize { cols, rows })
}

fn control(control: &ExecControl) -> Message {
    Message::Text(serde_json::to_string(control).unwrap_or_default().into())
}

/// Sends stdin (and its end) as frames, from a thread: a blocking read cannot be cancelled.
fn read_stdin(frames: mpsc::Sender<Message>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 4096];
        loop {
            let frame = match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => control(&ExecControl::Eof),
                Ok(n) => Message::Binary(buffer[..n].to_vec().into()),
            };
            let last = matches!(frame, Message::Text(_));
            if frames.blocking_send(frame).is_err() || last {
                return;
            }
        }
    });
}

/// Sends the terminal's new size whenever the window changes.
fn follow_resizes(frames: mpsc::Sender<Message>) -> std::io::Result<()> {
    let mut changes = signal(SignalKind::window_change())?;
    tokio::spawn(async move {
        while changes.recv().await.is_some() {
            if let Some(size) = terminal_size()
                && frames.send(control(&ExecControl::Resize(size))).await.is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

/// Relays stdin and resizes out and the output in until the command's exit code comes.
async fn relay(socket: Socket, tty: bool, stdin: bool) -> Result<i64> {
    let (mut to_agent, mut from_agent) = socket.split();
    let (frames, mut outgoing) = mpsc::channel(16);
    if stdin {
        read_stdin(frames.clone());
    }
    if tty {
        follow_resizes(frames.clone()).context("cannot follow the terminal's size")?;
    }
    drop(frames);
    loop {
        tokio::select! {
            Some(frame) = outgoing.recv() => to_agent.send(frame).await?,
            message = from_agent.next() => match message.transpose()? {
                Some(Message::Binary(bytes)) => {
                    output::raw(&bytes)?;
                }
                Some(Message::Text(text)) => match serde_json::from_str(text.as_str()) {
                    Ok(ExecControl::Exit(code)) => return Ok(code),
                    Ok(ExecControl::Error(message)) => return Err(SessionError::Failed(message).into()),
                    _ => return Err(SessionError::BadFrame(text.as_str().to_owned()).into()),
                },
                Some(Message::Close(_)) | None => return Err(SessionError::Lost.into()),
                Some(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            },
        }
    }
}
