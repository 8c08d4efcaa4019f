//! Host endpoints: listing and managing the region's hosts, and join tokens for new agents.

use crate::{Accepted, Call, Client, ClientError, Filters, Listing};
use flotilla_api::{Host, HostDrain, HostList, JoinToken, JoinTokenCreate};

impl Client {
    /// `POST /v1/hosts/join-tokens` (admins): a token an agent joins the region with, shown once.
    pub async fn create_join_token(&self, body: &JoinTokenCreate) -> Result<JoinToken, ClientError> {
        self.send(Call::post(&["hosts", "join-tokens"], body)).await
    }

    /// Hosts, optionally only those in `state` (`UP`, `DOWN`, `DRAINING` or `DISABLED`).
    pub async fn list_hosts(&self, state: Option<&str>, query: impl Into<Listing<'_>>) -> Result<HostList, ClientError> {
        self.send(Call::listing(&["hosts"], query.into(), Filters { state, ..Filters::default() })).await
    }

    /// Every host, optionally only those in `state`, page after page.
    pub async fn all_hosts(&self, state: Option<&str>) -> Result<Vec<Host>, ClientError> {
        crate::every_page(|query| async move {
            let page = self.list_hosts(state, &query).await?;
            Ok((page.hosts, page.next))
        })
        .await
    }

    /// A host by id or name.
    pub async fn host(&self, key: &str) -> Result<Host, ClientError> {
        self.send(Call::get(&["hosts", key])).await
    }

    /// Lets the scheduler place containers on the host again.
    pub async fn enable_host(&self, key: &str) -> Result<Host, ClientError> {
        self.send(Call::action(&["hosts", key, "enable"])).await
    }

    /// Keeps the scheduler from placing new containers on the host; its containers stay.
    pub async fn disable_host(&self, key: &str) -> Result<Host, ClientError> {
        self.send(Call::action(&["hosts", key, "disable"])).await
    }

    /// Drains the host: nothing new lands there; with `migrate`, its containers move elsewhere,
    /// by the HOST_DRAIN action named in the answer.
    pub async fn drain_host(&self, key: &str, body: &HostDrain) -> Result<Accepted<Host>, ClientError> {
        self.send_accepted(Call::post(&["hosts", key, "drain"], body)).await
    }

    /// Forgets a host; refused (409) while containers remain on it.
    pub async fn delete_host(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["hosts", key])).await
    }
}
