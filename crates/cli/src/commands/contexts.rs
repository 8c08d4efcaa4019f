//! `flotilla context ...`: the contexts this CLI keeps (a server, its token, whom it belongs to and
//! the default region), listing them and choosing the one commands use.

use crate::cli::Globals;
use crate::completion;
use crate::config::Credentials;
use crate::output::{self, Row};
use crate::session::Session;
use anyhow::Result;
use clap::Subcommand;
use clap_complete::ArgValueCandidates;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the saved contexts; `*` marks the one in use. Tokens are never shown.
    List,
    /// Use this context from now on when no `--context` is given.
    Use {
        #[arg(value_name = "CONTEXT", add = ArgValueCandidates::new(completion::contexts))]
        name: String,
    },
    /// Show the context in use (or the one `--context` names).
    Current,
    /// Rename a context.
    Rename {
        #[arg(value_name = "CONTEXT", add = ArgValueCandidates::new(completion::contexts))]
        from: String,
        #[arg(value_name = "NEW_NAME")]
        to: String,
    },
    /// Forget a context and its token on this machine (`flotilla logout` also revokes the token).
    Delete {
        #[arg(value_name = "CONTEXT", add = ArgValueCandidates::new(completion::contexts))]
        name: String,
    },
}

/// A context as listed: everything saved but the token.
#[derive(Debug, Serialize)]
struct ContextView {
    name: String,
    current: bool,
    url: Option<String>,
    user: Option<String>,
    project: Option<String>,
    region: Option<String>,
    logged_in: bool,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ContextView {
    fn new(name: &str, saved: &Credentials, current: &str) -> Self {
        ContextView {
            name: name.to_owned(),
            current: name == current,
            url: saved.url.clone(),
            user: saved.user.clone(),
            project: saved.project.clone(),
            region: saved.region.clone(),
            logged_in: saved.token.is_some(),
            expires_at: saved.expires_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct ContextList {
    contexts: Vec<ContextView>,
    next: Option<String>,
}

output::listing!(ContextList, contexts, ContextView);

impl Row for ContextView {
    const HEADERS: &'static [&'static str] = &["CURRENT", "NAME", "SERVER", "USER", "PROJECT", "REGION", "EXPIRES"];
    fn cells(&self) -> Vec<String> {
        let expires = match (self.logged_in, &self.expires_at) {
            (false, _) => "logged out".to_owned(),
            (true, at) => at.as_ref().map(output::when).unwrap_or_default(),
        };
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        let current = if self.current { "*" } else { "" };
        vec![current.into(), self.name.clone(), text(&self.url), text(&self.user), text(&self.project), text(&self.region), expires]
    }
}

pub fn run(globals: &Globals, command: ContextCommand) -> Result<()> {
    let format = globals.format();
    match command {
        ContextCommand::List => {
            let session = Session::open(None)?;
            let (saved, current) = session.contexts();
            let contexts = saved.iter().map(|(name, creds)| ContextView::new(name, creds, current)).collect();
            output::list(format, &ContextList { contexts, next: None })
        }
        ContextCommand::Current => {
            let session = Session::load(globals)?;
            let current = session.contexts().1;
            output::one(format, &ContextView::new(&session.name, &session.config, current))
        }
        ContextCommand::Use { name } => {
            Session::open(None)?.use_context(&name)?;
            output::done(format, &format!("commands use context {name} unless --context says otherwise"))
        }
        ContextCommand::Rename { from, to } => {
            Session::open(None)?.rename_context(&from, &to)?;
            output::done(format, &format!("renamed context {from} to {to}"))
        }
        ContextCommand::Delete { name } => {
            Session::open(None)?.delete_context(&name)?;
            output::deleted(format, "context", &name)
        }
    }
}
