//! Job endpoints (admins): list, show, redo.

use crate::{Call, Client, ClientError};
use flotilla_api::ListQuery;
use flotilla_api::region::{Job, JobFilter, JobList};

impl Client {
    /// Jobs, oldest first.
    pub async fn list_jobs(&self, query: &ListQuery, filter: &JobFilter) -> Result<JobList, ClientError> {
        self.send(Call::list(&["jobs"], query, filter)).await
    }

    pub async fn job(&self, id: &str) -> Result<Job, ClientError> {
        self.send(Call::get(&["jobs", id])).await
    }

    /// Puts a FAIL job (or a NEW one waiting out its backoff) back to NEW, due now.
    pub async fn redo_job(&self, id: &str) -> Result<Job, ClientError> {
        self.send(Call::action(&["jobs", id, "redo"])).await
    }
}
