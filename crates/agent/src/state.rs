//! The agent's state directory: the host credential saved at each join, one file per host name
//! (mode 0600 in a 0700 directory), so a restarted agent joins again as the same host without a
//! join token, and a name it joined under cannot be taken by another join token. A state directory
//! belongs to one region (whatever URL its server is reached at: `flotilla dev` picks a new port
//! at each start).

use crate::error::AgentError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// What one file holds.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    host_id: Uuid,
    credential: String,
}

/// Where the credential of one host is kept.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(dir: &Path, name: &str) -> Self {
        Self { path: dir.join(format!("{name}.json")) }
    }

    fn error(&self, source: std::io::Error) -> AgentError {
        AgentError::State { path: self.path.clone(), source }
    }

    /// The saved credential, if there is one.
    pub fn load(&self) -> Result<Option<String>, AgentError> {
        let text = match std::fs::read(&self.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            read => read.map_err(|e| self.error(e))?,
        };
        let saved: Saved = serde_json::from_slice(&text).map_err(|e| self.error(std::io::Error::other(e)))?;
        Ok(Some(saved.credential))
    }

    pub fn save(&self, host_id: Uuid, credential: &str) -> Result<(), AgentError> {
        let saved = Saved { host_id, credential: credential.to_owned() };
        let text = serde_json::to_vec_pretty(&saved).map_err(|e| self.error(std::io::Error::other(e)))?;
        flotilla_tls::private::write_file(&self.path, &text).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn credentials_are_kept_privately_per_host() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("agent");
        let file = StateFile::new(&dir, "host-1");
        assert_eq!(file.load().unwrap(), None);
        file.save(Uuid::now_v7(), "secret").unwrap();
        assert_eq!(file.load().unwrap().as_deref(), Some("secret"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("host-1.json")), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(StateFile::new(&dir, "host-2").load().unwrap(), None, "each host has its own");
    }
}
