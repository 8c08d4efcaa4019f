//! How a failed command ends: one `error: ...` line on stderr and an exit code that says what kind.

use flotilla_client::ClientError;
/// API and other errors.
pub const EXIT_ERROR: u8 = 1;
/// Not logged in, or the token was refused (401).
pub const EXIT_UNAUTHENTICATED: u8 = 3;
/// Logged in, but the role does not allow it (403).
pub const EXIT_FORBIDDEN: u8 = 4;
/// A `--wait` ran out of time before the object got where it was going.
pub const EXIT_TIMEOUT: u8 = 5;

/// Failures the CLI itself detects.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("not logged in: run `flotilla login --url URL --user NAME`")]
    NotLoggedIn,
    /// `--region NAME` (or the default region) names no region the central knows.
    #[error("unknown region {name:?}: the central knows {}", if .known.is_empty() { "none (is the server logged in to a central?)" } else { .known.as_str() })]
    UnknownRegion { name: String, known: String },
    /// `--context NAME` (or `context use NAME`) names no saved context.
    #[error("unknown context {name:?}: saved contexts are {known}")]
    UnknownContext { name: String, known: String },
    /// `context rename` to a name already taken.
    #[error("context {0:?} already exists: delete it first or choose another name")]
    ContextExists(String),
    /// `--all-regions` without any region to ask.
    #[error(
        "--all-regions: no regions known; the server logged in to is not a central, or no region had joined it (`flotilla region list` looks again)"
    )]
    NoRegions,
    /// `--all-regions`: not one region answered (each was reported on stderr).
    #[error("--all-regions: none of the {0} regions answered")]
    NoRegionAnswered(usize),
    /// The server refused the saved token (expired or revoked).
    #[error("{0}; log in again with `flotilla login`")]
    TokenRejected(ClientError),
    /// `container exec`: the command ran and failed; its exit code becomes the CLI's (1 when it
    /// does not fit one).
    #[error("command exited with code {0}")]
    CommandExited(i64),
    /// A `--wait` saw the container go to ERROR.
    #[error("container {container} failed: {reason}")]
    ContainerFailed { container: String, reason: String },
    /// A `--wait` ran out of time; the operation itself goes on.
    #[error("container {container} is still {status} after {seconds} s, not {wanted}; it may yet get there")]
    WaitTimedOut { container: String, status: String, wanted: String, seconds: u64 },
    /// A `--wait` saw the action end FAILED or CANCELLED.
    #[error("action {id} ({kind}) {status}{}", reason_suffix(.reason))]
    ActionFailed { id: String, kind: String, status: String, reason: String },
    /// A `--wait` ran out of time before the action ended; the action goes on.
    #[error("action {id} ({kind}) is still {status} after {seconds} s; it goes on: `flotilla action wait {id}` follows it")]
    ActionTimedOut { id: String, kind: String, status: String, seconds: u64 },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() { String::new() } else { format!(": {reason}") }
}

/// Wraps a 401 answer to a call made with a saved token, so the message says how to recover.
pub fn token_rejected(err: anyhow::Error) -> anyhow::Error {
    match err.downcast::<ClientError>() {
        Ok(client) if client.status() == Some(401) => CliError::TokenRejected(client).into(),
        Ok(client) => client.into(),
        Err(other) => other,
    }
}

/// The exit code for `err`.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let cli = err.chain().find_map(|e| e.downcast_ref::<CliError>());
    let status = match cli {
        Some(CliError::CommandExited(code)) => return u8::try_from(*code).ok().filter(|c| *c != 0).unwrap_or(EXIT_ERROR),
        Some(CliError::WaitTimedOut { .. } | CliError::ActionTimedOut { .. }) => return EXIT_TIMEOUT,
        Some(CliError::ContainerFailed { .. } | CliError::ActionFailed { .. }) => return EXIT_ERROR,
        Some(CliError::NotLoggedIn) => Some(401),
        Some(
            CliError::UnknownRegion { .. }
            | CliError::NoRegions
            | CliError::NoRegionAnswered(_)
            | CliError::UnknownContext { .. }
            | CliError::ContextExists(_),
        ) => None,
        Some(CliError::TokenRejected(inner)) => inner.status(),
        None => err.chain().find_map(|e| e.downcast_ref::<ClientError>().and_then(ClientError::status)),
    };
    match status {
        Some(401) => EXIT_UNAUTHENTICATED,
        Some(403) => EXIT_FORBIDDEN,
        _ => EXIT_ERROR,
    }
}

/// The one line to print: the context chain joined by `: `, whitespace (and so newlines) collapsed.
pub fn message(err: &anyhow::Error) -> String {
    format!("{err:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn api(status: u16) -> ClientError {
        ClientError::Api { status, title: "t".into(), message: "refused".into(), request_id: "r1".into() }
    }

    #[test]
    fn exit_codes_follow_the_status() {
        let code = |e: anyhow::Error| exit_code(&e);
        assert_eq!(code(api(401).into()), 3);
        assert_eq!(code(token_rejected(api(401).into())), 3);
        assert_eq!(code(CliError::NotLoggedIn.into()), 3);
        assert_eq!(code(anyhow::Error::new(api(403)).context("creating profile")), 4);
        assert_eq!(code(api(404).into()), 1);
        assert_eq!(code(anyhow::anyhow!("disk full")), 1);
        assert_eq!(code(CliError::CommandExited(3).into()), 3);
        assert_eq!(code(CliError::CommandExited(255).into()), 255);
        assert_eq!(code(CliError::CommandExited(-1).into()), 1, "no exit code of its own");
        assert_eq!(code(CliError::CommandExited(256).into()), 1);
        let failed = CliError::ContainerFailed { container: "web".into(), reason: "image not found".into() };
        assert_eq!(failed.to_string(), "container web failed: image not found");
        assert_eq!(code(anyhow::Error::new(failed).context("waiting")), 1);
        let late = CliError::WaitTimedOut { container: "web".into(), status: "CREATING".into(), wanted: "RUNNING".into(), seconds: 5 };
        assert_eq!(code(late.into()), 5);
        let failed = CliError::ActionFailed {
            id: "a1".into(),
            kind: "CLUSTER_SCALE_OUT".into(),
            status: "FAILED".into(),
            reason: "no host fits".into(),
        };
        assert_eq!(failed.to_string(), "action a1 (CLUSTER_SCALE_OUT) FAILED: no host fits");
        assert_eq!(code(failed.into()), 1);
        let cancelled =
            CliError::ActionFailed { id: "a1".into(), kind: "CLUSTER_RESIZE".into(), status: "CANCELLED".into(), reason: String::new() };
        assert_eq!(cancelled.to_string(), "action a1 (CLUSTER_RESIZE) CANCELLED");
        let late = CliError::ActionTimedOut { id: "a1".into(), kind: "CLUSTER_CREATE".into(), status: "RUNNING".into(), seconds: 9 };
        assert!(late.to_string().starts_with("action a1 (CLUSTER_CREATE) is still RUNNING after 9 s"), "{late}");
        assert_eq!(code(anyhow::Error::new(late).context("waiting")), 5);
    }

    #[test]
    fn region_failures_name_what_is_known() {
        let unknown = CliError::UnknownRegion { name: "mars".into(), known: "east, west".into() };
        assert_eq!(unknown.to_string(), "unknown region \"mars\": the central knows east, west");
        let nothing = CliError::UnknownRegion { name: "mars".into(), known: String::new() };
        assert!(nothing.to_string().contains("none (is the server logged in to a central?)"), "{nothing}");
        for err in [unknown, CliError::NoRegions, CliError::NoRegionAnswered(3)] {
            assert_eq!(exit_code(&err.into()), EXIT_ERROR);
        }
    }

    #[test]
    fn messages_are_one_line() {
        let err = token_rejected(api(401).into());
        assert_eq!(message(&err), "refused (401, request r1); log in again with `flotilla login`");
        let err = token_rejected(api(404).into());
        assert_eq!(message(&err), "refused (404, request r1)");
        let err = Err::<(), _>(std::io::Error::other("line one\nline two")).context("cannot read spec.yaml").unwrap_err();
        assert_eq!(message(&err), "cannot read spec.yaml: line one line two");
    }
}
