//! `remote_member`: makes a member of one of this region's clusters in another region as its row
//! says: created there under its id (`PUT`, which answers it as it is when it exists), or
//! removed there (`DELETE`; the peers task forgets the row once that region no longer lists it).

use super::{Handler, JobError};
use crate::federation::link::CentralLink;
use crate::federation::peers::observation;
use flotilla_api::region::MemberCreate;
use flotilla_store::{Job, MemberDesire, REMOTE_MEMBER, RemoteMember, Store};
use reqwest::Method;
use std::sync::Arc;

pub(crate) struct RemoteMemberJob {
    store: Store,
    link: Arc<CentralLink>,
}

impl RemoteMemberJob {
    pub(crate) fn new(store: Store, link: Arc<CentralLink>) -> Self {
        RemoteMemberJob { store, link }
    }

    async fn make(&self, member: &RemoteMember) -> Result<(), JobError> {
        let Some(peer) = self.store.peer_regions().await?.into_iter().find(|p| p.name == member.region) else {
            return Err(JobError::UnknownRegion(member.region.clone()));
        };
        let path = format!("/v1/federation/members/{}", member.container_id);
        match member.desired {
            MemberDesire::Running => {
                let body = MemberCreate {
                    name: member.name.clone(),
                    project_id: member.project_id.0,
                    project_name: self.store.project(&member.project_id.to_string()).await?.name.to_string(),
                    user_id: member.user_id.0,
                    user_name: self.store.user(&member.user_id.to_string()).await?.name.to_string(),
                    spec: member.spec.clone(),
                    metadata: member.metadata.clone(),
                };
                let made: flotilla_api::Container = self.link.call_region(&peer.api_url, Method::PUT, &path, Some(&body)).await?;
                self.store.observe_remote_members(&[observation(&made)]).await?;
            }
            MemberDesire::Deleted => self.link.call_region_no_reply::<()>(&peer.api_url, Method::DELETE, &path, None).await?,
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Handler for RemoteMemberJob {
    fn job_type(&self) -> &'static str {
        REMOTE_MEMBER
    }

    /// One at a time: a removal waiting for a lost region must not hold up creates elsewhere.
    fn batch_limit(&self) -> Option<usize> {
        Some(1)
    }

    async fn run(&self, jobs: &[Job]) -> Result<(), JobError> {
        for job in jobs {
            // A row already forgotten: its member is gone there, nothing to do.
            if let Some(member) = self.store.remote_member(flotilla_core::ContainerId(job.resource_id)).await? {
                self.make(&member).await?;
            }
        }
        Ok(())
    }
}
