//! The CLI's session: the server URL and token from flags, environment or the user config file,
//! and the login that saves them.

use crate::cli::Globals;
use crate::config::UserConfig;
use crate::failure::CliError;
use crate::paths;
use anyhow::{Result, anyhow};
use flotilla_api::{Token, TokenCreate};
use flotilla_client::Client;
use std::path::PathBuf;

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

    /// A client for the server carrying the token: `--token`/`FLOTILLA_TOKEN`, else the saved one.
    pub fn client(&self, globals: &Globals) -> Result<Client> {
        let token = globals.token.clone().or_else(|| self.config.token.clone()).ok_or(CliError::NotLoggedIn)?;
        Ok(Client::new(&self.url(globals)?)?.with_token(token))
    }

    /// Asks `url` for a token and saves it with the server, user and project it belongs to.
    pub async fn log_in(&mut self, url: &str, request: TokenCreate) -> Result<Token> {
        let token = Client::new(url)?.create_token(&request).await?;
        let secret = token.token.clone().ok_or_else(|| anyhow!("the server issued a token without its secret"))?;
        self.config = UserConfig {
            url: Some(url.trim_end_matches('/').to_owned()),
            token: Some(secret),
            user: Some(token.user.name.clone()),
            project: Some(token.project.name.clone()),
            expires_at: Some(token.expires_at),
        };
        self.config.save(&self.path)?;
        Ok(token)
    }
}
