//! `flotilla project ...`: list, create, show, update and delete projects.

use super::common::{EnableArgs, ListArgs, MetadataArgs};
use crate::output::{self, Format, Row};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Project, ProjectCreate, ProjectList, ProjectUpdate};
use flotilla_client::Client;

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// List the projects you can see (every project with --all-projects).
    List(ListArgs),
    /// Create a project.
    Create {
        /// Name of the new project.
        name: String,
        /// What the project is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Create the project disabled.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Show a project by name or id.
    Show {
        /// Name or id of the project.
        project: String,
    },
    /// Change a project; only what is given changes.
    Update {
        /// Name or id of the project.
        project: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        enable: EnableArgs,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a project.
    Delete {
        /// Name or id of the project.
        project: String,
    },
}

pub async fn run(client: &Client, format: Format, command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::List(args) => output::list(format, &client.list_projects(&args.query()).await?),
        ProjectCommand::Create { name, description, disabled, metadata } => {
            let body = ProjectCreate { name, description, enabled: disabled.then_some(false), metadata: metadata.metadata() };
            output::one(format, &client.create_project(&body).await?)
        }
        ProjectCommand::Show { project } => output::one(format, &client.project(&project).await?),
        ProjectCommand::Update { project, name, description, enable, metadata } => {
            let body = ProjectUpdate { name, description, enabled: enable.enabled(), metadata: metadata.update() };
            output::one(format, &client.update_project(&project, &body).await?)
        }
        ProjectCommand::Delete { project } => {
            client.delete_project(&project).await?;
            output::deleted(format, "project", &project)
        }
    }
}

impl Row for Project {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "DESCRIPTION", "ENABLED", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![self.id.to_string(), self.name.clone(), self.description.clone(), self.enabled.to_string(), output::when(&self.created_at)]
    }
}

output::listing!(ProjectList, projects, Project);
