//! `flotilla user ...`: list, create, show, update and delete users.

use super::common::{EnableArgs, ListArgs, MetadataArgs};
use crate::output::{self, Format, Row};
use crate::secret::{self, Source};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{User, UserCreate, UserList, UserUpdate};
use flotilla_client::Client;

const NEW_PASSWORD: Source = Source { flag: "--password", env: "FLOTILLA_NEW_PASSWORD" };

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users (of the current project; every user with --all-projects).
    List(ListArgs),
    /// Create a user.
    Create {
        /// Name of the new user.
        name: String,
        /// Password; else FLOTILLA_NEW_PASSWORD; else a prompt.
        #[arg(long, env = "FLOTILLA_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Default project, used when the user logs in without naming one.
        #[arg(long)]
        project: Option<String>,
        /// Create the user disabled.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Show a user by name or id.
    Show {
        /// Name or id of the user.
        user: String,
    },
    /// Change a user; only what is given changes.
    Update {
        /// Name or id of the user.
        user: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// Set a new password: the value given, else FLOTILLA_NEW_PASSWORD, else a prompt.
        #[arg(long, num_args = 0..=1, value_name = "PASSWORD")]
        password: Option<Option<String>>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// New default project.
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        enable: EnableArgs,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a user.
    Delete {
        /// Name or id of the user.
        user: String,
    },
}

pub async fn run(client: &Client, format: Format, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::List(args) => output::list(format, &client.list_users(&args.query()).await?),
        UserCommand::Create { name, password, email, project, disabled, metadata } => {
            let password = secret::obtain(password, &NEW_PASSWORD, &format!("New password for {name}: "), true)?;
            let body = UserCreate {
                name,
                password,
                email,
                enabled: disabled.then_some(false),
                default_project: project,
                metadata: metadata.metadata(),
            };
            output::one(format, &client.create_user(&body).await?)
        }
        UserCommand::Show { user } => output::one(format, &client.user(&user).await?),
        UserCommand::Update { user, name, password, email, project, enable, metadata } => {
            let password = match password {
                None => None,
                Some(given) => {
                    let given = given.or_else(|| std::env::var(NEW_PASSWORD.env).ok());
                    Some(secret::obtain(given, &NEW_PASSWORD, &format!("New password for {user}: "), true)?)
                }
            };
            let body =
                UserUpdate { name, password, email, enabled: enable.enabled(), default_project: project, metadata: metadata.update() };
            output::one(format, &client.update_user(&user, &body).await?)
        }
        UserCommand::Delete { user } => {
            client.delete_user(&user).await?;
            output::deleted(format, "user", &user)
        }
    }
}

impl Row for User {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "EMAIL", "ENABLED", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.email.clone().unwrap_or_default(),
            self.enabled.to_string(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(UserList, users, User);
