//! `flotilla role ...`: grant a role to a user on a project, list and remove role assignments.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{RoleAssignment, RoleAssignmentCreate, RoleAssignmentList};
use flotilla_client::Client;
use flotilla_core::Role;

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give a user a role on a project: admin, member (read and write) or reader (read only).
    Assign {
        /// User name or id.
        #[arg(long)]
        user: String,
        /// Project name or id.
        #[arg(long)]
        project: String,
        /// admin, member or reader.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// List role assignments, optionally of one user and/or one project.
    List {
        /// Only this user's (name or id).
        #[arg(long)]
        user: Option<String>,
        /// Only on this project (name or id).
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Remove a role assignment by id.
    Remove {
        /// Id of the role assignment (see `flotilla role list`).
        id: String,
    },
}

fn parse_role(text: &str) -> Result<Role, flotilla_core::role::UnknownRole> {
    text.parse()
}

pub async fn run(client: &Client, format: Format, command: RoleCommand) -> Result<()> {
    match command {
        RoleCommand::Assign { user, project, role } => {
            output::one(format, &client.assign_role(&RoleAssignmentCreate { user, project, role }).await?)
        }
        RoleCommand::List { user, project, list } => {
            output::list(format, &client.list_role_assignments(user.as_deref(), project.as_deref(), &list.query()).await?)
        }
        RoleCommand::Remove { id } => {
            client.delete_role_assignment(&id).await?;
            output::deleted(format, "role assignment", &id)
        }
    }
}

impl Row for RoleAssignment {
    const HEADERS: &'static [&'static str] = &["ID", "USER", "PROJECT", "ROLE", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![self.id.to_string(), self.user.name.clone(), self.project.name.clone(), self.role.to_string(), output::when(&self.created_at)]
    }
}

output::listing!(RoleAssignmentList, role_assignments, RoleAssignment);
