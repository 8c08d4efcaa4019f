//! The CLI's session: the server URL and token from flags, environment or the user config file,
//! and the login that saves them.

use crate::cli::Globals;
use crate::config::UserConfig;
use crate::failure::CliError;
use crate::paths;
use anyhow::{Context, Result, anyhow};
use flotilla_api::{Token, TokenCreate};
use flotilla_client::Client;
use std::path::{Path, PathBuf};

/// The user config file and what it holds.
pub struct Session {
    pub path: PathBuf,
    pub config: UserConfig,
}

impl Session {
    pub fn load() -> Result<Self> {
        let path = paths::config_file()?;
        let config = UserConfig::load(&path)?;
        Ok(Self { path, config })
    }

    /// The server URL: `--url`/`FLOTILLA_URL`, else the saved one.
    pub fn url(&self, globals: &Globals) -> Result<String> {
        globals.url.clone().or_else(|| self.config.url.clone()).ok_or_else(|| anyhow!("no server URL: pass --url URL or set FLOTILLA_URL"))
    }

    /// The CA file trusted for HTTPS: `--ca-cert`/`FLOTILLA_CACERT`, else the one saved at login.
    pub fn ca_cert(&self, globals: &Globals) -> Option<PathBuf> {
        globals.ca_cert.clone().or_else(|| self.config.ca_cert.clone())
    }

    /// A client for `url` without a token, trusting the session's CA.
    pub fn anonymous(&self, url: &str, globals: &Globals) -> Result<Client> {
        client_trusting(url, self.ca_cert(globals).as_deref())
    }

    /// A client for the server carrying the token: `--token`/`FLOTILLA_TOKEN`, else the saved one.
    pub fn client(&self, globals: &Globals) -> Result<Client> {
        let token = globals.token.clone().or_else(|| self.config.token.clone()).ok_or(CliError::NotLoggedIn)?;
        Ok(self.anonymous(&self.url(globals)?, globals)?.with_token(token))
    }

    /// Asks `url` (trusting `ca_cert` for HTTPS) for a token and saves it with the server, the CA,
    /// the user and project it belongs to.
    pub async fn log_in(&mut self, url: &str, ca_cert: Option<PathBuf>, request: TokenCreate) -> Result<Token> {
        let token = client_trusting(url, ca_cert.as_deref())?.create_token(&request).await?;
        let secret = token.token.clone().ok_or_else(|| anyhow!("the server issued a token without its secret"))?;
        self.config = UserConfig {
            url: Some(url.trim_end_matches('/').to_owned()),
            ca_cert,
            token: Some(secret),
            user: Some(token.user.name.clone()),
            project: Some(token.project.name.clone()),
            expires_at: Some(token.expires_at),
        };
        self.config.save(&self.path)?;
        Ok(token)
    }
}

/// A client for `url` that also trusts the certificates of the PEM file `ca_cert`.
fn client_trusting(url: &str, ca_cert: Option<&Path>) -> Result<Client> {
    let pem = match ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read the CA certificate {}", path.display()))?),
        None => None,
    };
    Ok(Client::with_ca(url, pem.as_deref())?)
}
