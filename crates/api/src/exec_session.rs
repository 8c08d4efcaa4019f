//! The interactive exec's WebSocket protocol (`GET /v1/containers/{container}/exec` with an
//! upgrade, relayed unchanged by the server to the agent's `GET /agent/v1/containers/{id}/exec`).
//!
//! The query names the session: `command` once per argument, in order, `tty` and `stdin`
//! (`true`/`false`), and the terminal's first size `cols` and `rows` (both or neither).
//! Then binary frames carry bytes: the caller's are the command's stdin, the agent's its output
//! (stdout and stderr together with a TTY, interleaved without one). Text frames carry one
//! [`ExecControl`] as JSON: `{"resize":{"cols":C,"rows":R}}` and `"eof"` from the caller;
//! `{"exit":N}` (the last frame) or `{"error":"..."}` from the agent.

use flotilla_core::ValidationError;
use serde::{Deserialize, Serialize};

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    pub cols: u16,
    pub rows: u16,
}

/// One control message of the session, sent as a text frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecControl {
    /// The caller's terminal changed size.
    Resize(TerminalSize),
    /// The caller's stdin ended: the command's stdin is closed.
    Eof,
    /// The command ended with this exit code; the session ends.
    Exit(i64),
    /// The session failed (the command could not start, or the agent lost it).
    Error(String),
}

/// What to run and how, as the upgrade's query names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSession {
    pub command: Vec<String>,
    /// Allocate a pseudo-terminal (stdout and stderr then arrive together).
    pub tty: bool,
    /// Attach the caller's input as the command's stdin.
    pub stdin: bool,
    /// The terminal's size at the start.
    pub size: Option<TerminalSize>,
}

impl ExecSession {
    /// The query's pairs, in order (a request builder's `.query(&pairs)` encodes them).
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<_> = self.command.iter().map(|argument| ("command", argument.clone())).collect();
        pairs.extend([("tty", self.tty.to_string()), ("stdin", self.stdin.to_string())]);
        if let Some(size) = self.size {
            pairs.extend([("cols", size.cols.to_string()), ("rows", size.rows.to_string())]);
        }
        pairs
    }

    /// Reads a query string; a bad or missing field is named with its value.
    pub fn from_query(query: &str) -> Result<Self, ValidationError> {
        let mut session = ExecSession { command: Vec::new(), tty: false, stdin: false, size: None };
        let (mut cols, mut rows) = (None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "command" => session.command.push(value.into_owned()),
                "tty" => session.tty = parse_bool("tty", &value)?,
                "stdin" => session.stdin = parse_bool("stdin", &value)?,
                "cols" => cols = Some(parse_cells("cols", &value)?),
                "rows" => rows = Some(parse_cells("rows", &value)?),
                other => return Err(ValidationError::new(other, value, "unknown field: expected command, tty, stdin, cols or rows")),
            }
        }
        if session.command.is_empty() {
            return Err(ValidationError::new("command", "[]", "give the command to run"));
        }
        session.size = match (cols, rows) {
            (Some(cols), Some(rows)) => Some(TerminalSize { cols, rows }),
            (None, None) => None,
            (Some(cols), None) => return Err(ValidationError::new("rows", "", format!("give rows with cols={cols}"))),
            (None, Some(rows)) => return Err(ValidationError::new("cols", "", format!("give cols with rows={rows}"))),
        };
        Ok(session)
    }
}

fn parse_bool(field: &str, value: &str) -> Result<bool, ValidationError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ValidationError::new(field, value, "expected true or false")),
    }
}

fn parse_cells(field: &str, value: &str) -> Result<u16, ValidationError> {
    value
        .parse()
        .ok()
        .filter(|cells| *cells > 0)
        .ok_or_else(|| ValidationError::new(field, value, "expected a number of cells, 1 to 65535"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_survives_its_query() {
        let session = ExecSession {
            command: vec!["sh".into(), "-c".into(), "echo a&b=c; exit 3".into()],
            tty: true,
            stdin: true,
            size: Some(TerminalSize { cols: 100, rows: 30 }),
        };
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(session.query_pairs()).finish();
        assert_eq!(ExecSession::from_query(&query).unwrap(), session);
    }

    #[test]
    fn bad_queries_name_the_field_and_value() {
        let error = |query: &str| ExecSession::from_query(query).unwrap_err();
        assert_eq!(error("tty=true").field, "command");
        let tty = error("command=sh&tty=yes");
        assert_eq!((tty.field.as_str(), tty.value.as_str()), ("tty", "yes"));
        let cols = error("command=sh&cols=0&rows=3");
        assert_eq!((cols.field.as_str(), cols.value.as_str()), ("cols", "0"));
        assert_eq!(error("command=sh&cols=80").field, "rows");
        assert_eq!(error("command=sh&user=root").field, "user");
    }

    #[test]
    fn controls_are_the_documented_json() {
        let resize = ExecControl::Resize(TerminalSize { cols: 80, rows: 24 });
        assert_eq!(serde_json::to_string(&resize).unwrap(), r#"{"resize":{"cols":80,"rows":24}}"#);
        assert_eq!(serde_json::to_string(&ExecControl::Exit(3)).unwrap(), r#"{"exit":3}"#);
        assert_eq!(serde_json::to_string(&ExecControl::Eof).unwrap(), r#""eof""#);
        assert_eq!(serde_json::from_str::<ExecControl>(r#"{"error":"x"}"#).unwrap(), ExecControl::Error("x".into()));
    }
}
