//! The user config file: the contexts the CLI keeps (each a server, its token and whom it belongs
//! to) and the one in use.

use crate::private;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The context `flotilla login` saves to when none is named and none is in use.
pub const DEFAULT_CONTEXT: &str = "default";

/// One context: which server the CLI talks to and the token it logged in with. Unknown keys are
/// kept out of the way, not refused, so an older CLI can read a newer file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
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

impl Credentials {
    /// Forgets the session (token and expiry), keeping the server and user for the next login.
    pub fn forget_token(&mut self) {
        self.token = None;
        self.expires_at = None;
    }
}

/// What the file holds (TOML): the contexts by name and the one in use. A file written before
/// contexts existed (one session at the top level) reads as the context `default`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserConfig {
    /// The context commands use without `--context` (`flotilla context use`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: BTreeMap<String, Credentials>,
}

impl UserConfig {
    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            read => read.with_context(|| format!("cannot read {}", path.display()))?,
        };
        let mut config: UserConfig = toml::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
        let before_contexts: Credentials = toml::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
        if config.contexts.is_empty() && before_contexts != Credentials::default() {
            config.contexts.insert(DEFAULT_CONTEXT.to_owned(), before_contexts);
            config.current_context = Some(DEFAULT_CONTEXT.to_owned());
        }
        Ok(config)
    }

    /// Writes `path` with mode 0600 (see [`private::write_file`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(self).context("cannot encode the user config")?;
        private::write_file(path, text.as_bytes())
    }

    /// The name of the context in use: the current one, else `default`.
    pub fn current_name(&self) -> &str {
        self.current_context.as_deref().unwrap_or(DEFAULT_CONTEXT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn east() -> Credentials {
        Credentials {
            url: Some("https://127.0.0.1:7700".into()),
            ca_cert: Some("/etc/flotilla/ca.pem".into()),
            token: Some("secret".into()),
            user: Some("alice".into()),
            project: Some("demo".into()),
            expires_at: Some(DateTime::from_timestamp(1_900_000_000, 0).unwrap()),
            region: Some("east".into()),
            regions: [("east".to_owned(), "http://127.0.0.1:7801".to_owned()), ("west".into(), "http://127.0.0.1:7802".into())].into(),
        }
    }

    #[test]
    fn round_trip_and_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cli.toml");
        assert_eq!(UserConfig::load(&path).unwrap(), UserConfig::default());

        let mut other = east();
        other.url = Some("http://10.0.0.1:7700".into());
        let config = UserConfig { current_context: Some("east".into()), contexts: [("east".into(), east()), ("lab".into(), other)].into() };
        config.save(&path).unwrap();
        assert_eq!(UserConfig::load(&path).unwrap(), config);

        let mut out = config.clone();
        out.contexts.get_mut("east").unwrap().forget_token();
        out.contexts.remove("lab");
        out.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret") && text.contains("alice"), "{text}");
    }

    #[test]
    fn a_file_from_before_contexts_is_the_default_context() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cli.toml");
        std::fs::write(&path, "url = \"http://h:1\"\ntoken = \"t\"\nuser = \"bob\"\n[regions]\neast = \"http://e:1\"\n").unwrap();
        let config = UserConfig::load(&path).unwrap();
        assert_eq!(config.current_name(), DEFAULT_CONTEXT);
        let saved = &config.contexts[DEFAULT_CONTEXT];
        assert_eq!((saved.url.as_deref(), saved.token.as_deref(), saved.user.as_deref()), (Some("http://h:1"), Some("t"), Some("bob")));
        assert_eq!(saved.regions["east"], "http://e:1");
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
