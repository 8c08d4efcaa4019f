//! `flotilla job ...` (admins): the server's background jobs (cross-region work): list, show, redo.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_api::region::{Job, JobFilter, JobList};
use flotilla_client::Client;

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List jobs, oldest first.
    List {
        /// Only jobs in this status: NEW, RUNNING, SUCCESS or FAIL.
        #[arg(long)]
        status: Option<String>,
        /// Only jobs of this type, e.g. route_sync.
        #[arg(long = "type", value_name = "TYPE")]
        job_type: Option<String>,
        /// Only jobs about this object (an id).
        #[arg(long, value_name = "ID")]
        resource: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show a job: its attempts, last error and when it runs next.
    Show {
        /// Id of the job.
        job: String,
    },
    /// Run a FAIL job again (or a NEW one now, without waiting out its backoff).
    Redo {
        /// Id of the job.
        job: String,
    },
}

pub async fn run(client: &Client, format: Format, command: JobCommand) -> Result<()> {
    match command {
        JobCommand::List { status, job_type, resource, list } => {
            let resource_id = resource.map(|r| r.parse()).transpose().context("--resource: expected an id")?;
            let filter = JobFilter { status: status.map(|s| s.to_uppercase()), job_type, resource_id };
            output::list(format, &client.list_jobs(&list.query(), &filter).await?)
        }
        JobCommand::Show { job } => output::one(format, &client.job(&job).await?),
        JobCommand::Redo { job } => output::one(format, &client.redo_job(&job).await?),
    }
}

impl Row for Job {
    const HEADERS: &'static [&'static str] = &["ID", "TYPE", "RESOURCE", "STATUS", "ATTEMPTS", "LAST ERROR", "RUN AFTER"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.job_type.clone(),
            self.resource_id.to_string(),
            self.status.clone(),
            self.attempts.to_string(),
            self.last_error.clone().unwrap_or_default(),
            output::when(&self.run_after),
        ]
    }
}

output::listing!(JobList, jobs, Job);
