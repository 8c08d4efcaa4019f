//! `flotilla login`, `logout` and `whoami`.

use crate::cli::Globals;
use crate::failure::CliError;
use crate::output;
use crate::secret::{self, Source};
use crate::session::Session;
use anyhow::{Context, Result, anyhow};
use clap::Args;
use flotilla_api::{Token, TokenCreate};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// User name (default: the user of the last login).
    #[arg(long)]
    pub user: Option<String>,
    /// Password; else FLOTILLA_PASSWORD; else a prompt.
    #[arg(long, env = "FLOTILLA_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Project to work in (default: the user's default project).
    #[arg(long)]
    pub project: Option<String>,
    /// Token lifetime in seconds (default: the server's, 12 hours).
    #[arg(long, value_name = "SECONDS")]
    pub expires_in: Option<u64>,
}

/// What `whoami` and `login` show: the token without its secret.
#[derive(Debug, Serialize)]
struct Identity<'a> {
    url: &'a str,
    user: &'a str,
    project: &'a str,
    role: String,
    expires_at: String,
    token_id: String,
}

impl<'a> Identity<'a> {
    fn new(url: &'a str, token: &'a Token) -> Self {
        Identity {
            url,
            user: &token.user.name,
            project: &token.project.name,
            role: token.role.to_string(),
            expires_at: token.expires_at.to_rfc3339(),
            token_id: token.id.to_string(),
        }
    }
}

pub async fn login(globals: &Globals, args: LoginArgs) -> Result<()> {
    let mut session = Session::open(globals.context.as_deref())?;
    let url = session.url(globals)?;
    let user = args.user.or_else(|| session.config.user.clone()).ok_or_else(|| anyhow!("no user: pass --user NAME"))?;
    let source = Source { flag: "--password", env: "FLOTILLA_PASSWORD" };
    let password = secret::obtain(args.password, &source, &format!("Password for {user}: "), false)?;
    let request = TokenCreate { user, password, project: args.project, expires_in: args.expires_in };
    let token = session.log_in(&url, session.ca_cert(globals), request).await?;
    if let Some(region) = &globals.region {
        session.choose_region(&session.client(globals)?, Some(region)).await?;
    }
    if globals.format().is_table() {
        let until = token.expires_at.format("%Y-%m-%d %H:%M UTC");
        println!("logged in to {url} as {} on project {} ({}) until {until}", token.user.name, token.project.name, token.role);
        let regions = &session.config.regions;
        if !regions.is_empty() {
            let names = regions.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
            let default = session.config.region.as_deref().map(|r| format!("; region commands go to {r}")).unwrap_or_default();
            println!("regions: {names}{default} (choose one with --region NAME or `flotilla region use NAME`)");
        }
        Ok(())
    } else {
        output::one(globals.format(), &Identity::new(&url, &token))
    }
}

pub async fn logout(globals: &Globals) -> Result<()> {
    let mut session = Session::load(globals)?;
    let client = match session.client(globals) {
        Err(e) if matches!(e.downcast_ref(), Some(CliError::NotLoggedIn)) => return output::done(globals.format(), "not logged in"),
        client => client?,
    };
    let revoked = match client.revoke_token().await {
        Err(e) if e.status() == Some(401) => Ok(()), // already expired or revoked: logged out all the same
        revoked => revoked,
    };
    session.config.forget_token();
    session.save()?;
    revoked.context("the token was removed from this machine, but the server could not revoke it")?;
    output::done(globals.format(), "logged out")
}

pub async fn whoami(globals: &Globals) -> Result<()> {
    let session = Session::load(globals)?;
    let client = session.client(globals)?;
    let token = client.current_token().await?;
    let url = session.url(globals)?;
    output::one(globals.format(), &Identity::new(&url, &token))
}
