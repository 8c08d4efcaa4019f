//! Quota endpoints: a project's limits and usage.

use crate::{Call, Client, ClientError};
use flotilla_api::{Quota, QuotaLimits};

impl Client {
    /// The quota of a project (id or name): its limits and what it uses.
    pub async fn quota(&self, project: &str) -> Result<Quota, ClientError> {
        self.send(Call::get(&["quotas", project])).await
    }

    /// Replaces a project's limits (admins); `-1` is unlimited.
    pub async fn set_quota(&self, project: &str, limits: &QuotaLimits) -> Result<Quota, ClientError> {
        self.send(Call::put(&["quotas", project], limits)).await
    }
}
