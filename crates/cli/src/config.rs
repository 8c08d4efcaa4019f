//! The user config file: which server the CLI talks to and the token it logged in with.

use crate::private;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What `flotilla login` saves (TOML). Unknown keys are kept out of the way, not refused, so an
/// older CLI can read a newer file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A CA certificate file trusted for the server's HTTPS (`--ca-cert` at login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<std::path::PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The region that region commands go to without `--region` (`flotilla region use`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Every region's API URL by name, learnt from the central at login and by `flotilla region list`
    /// (last: TOML writes tables after plain keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, String>,
}

impl UserConfig {
    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            read => read.with_context(|| format!("cannot read {}", path.display()))?,
        };
        toml::from_str(&text).with_context(|| format!("cannot read {}", path.display()))
    }

    /// Writes `path` with mode 0600 (see [`private::write_file`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(self).context("cannot encode the user config")?;
        private::write_file(path, text.as_bytes())
    }

    /// Forgets the session (token and expiry), keeping the server and user for the next login.
    pub fn forget_token(&mut self) {
        self.token = None;
        self.expires_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cli.toml");
        assert_eq!(UserConfig::load(&path).unwrap(), UserConfig::default());

        let config = UserConfig {
            url: Some("https://127.0.0.1:7700".into()),
            ca_cert: Some("/etc/flotilla/ca.pem".into()),
            token: Some("secret".into()),
            user: Some("alice".into()),
            project: Some("demo".into()),
            expires_at: Some(DateTime::from_timestamp(1_900_000_000, 0).unwrap()),
            region: Some("east".into()),
            regions: [("east".to_owned(), "http://127.0.0.1:7801".to_owned()), ("west".into(), "http://127.0.0.1:7802".into())].into(),
        };
        config.save(&path).unwrap();
        assert_eq!(UserConfig::load(&path).unwrap(), config);

        let mut out = config.clone();
        out.forget_token();
        out.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret") && text.contains("alice"), "{text}");
    }

    #[test]
    fn broken_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cli.toml");
        std::fs::write(&path, "url = [").unwrap();
        let err = UserConfig::load(&path).unwrap_err();
        assert!(format!("{err:#}").contains("cli.toml"), "{err:#}");
    }
}
