//! A federated region's side of the link: register with the central (the join token once, the
//! kept credential after), retried in the background while the central is unreachable, then
//! heartbeat with the region's host and container counts.

use super::RegionLinkSettings;
use super::link::{CentralLink, LinkError};
use flotilla_api::region::{RegionHeartbeat, RegionJoin, RegionJoined};
use flotilla_store::{CentralCredential, Store, StoreError};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

/// The longest wait between two registration attempts.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// The first wait after a failed registration.
const FIRST_RETRY: Duration = Duration::from_millis(250);

/// Why a region cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RegionStartError {
    #[error("the first start of a federated region needs --region-join-token (its store holds no credential from {central})")]
    NoJoinToken { central: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// What the region tells the central about itself.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub api_url: String,
    pub network_pool: String,
    pub join_token: Option<String>,
}

impl Registration {
    pub fn new(name: &str, settings: &RegionLinkSettings, network_pool: String) -> Registration {
        Registration {
            name: name.to_owned(),
            api_url: settings.advertise_url.clone(),
            network_pool,
            join_token: settings.join_token.clone(),
        }
    }
}

/// Loads the kept credential into the link (so calls carry it from the start) and checks that a
/// first start has a join token.
pub async fn prepare(store: &Store, link: &CentralLink, registration: &Registration) -> Result<(), RegionStartError> {
    match store.central_credential().await? {
        Some(kept) => link.set_credential(kept.credential),
        None if registration.join_token.is_none() => return Err(RegionStartError::NoJoinToken { central: link.url().to_owned() }),
        None => {}
    }
    Ok(())
}

/// Registers, then heartbeats for ever; registers again whenever the central stops knowing the
/// region's credential.
pub async fn run(store: Store, link: Arc<CentralLink>, registration: Registration) {
    loop {
        let interval = register(&store, &link, &registration).await;
        heartbeat_until_refused(&store, &link, interval).await;
    }
}

/// Registration, retried with backoff until the central accepts it; answers the heartbeat interval.
async fn register(store: &Store, link: &CentralLink, registration: &Registration) -> Duration {
    let mut wait = FIRST_RETRY;
    loop {
        match try_register(store, link, registration).await {
            Ok(joined) => {
                tracing::info!(central = %link.url(), region_id = %joined.region_id, "registered with the central");
                return Duration::from_millis(joined.heartbeat_interval_ms.max(100));
            }
            Err(RegisterError::Link(e)) if e.is_unreachable() => {
                tracing::warn!(error = %e, retry_in = ?wait, "cannot register with the central yet");
            }
            Err(e) => tracing::error!(error = %e, retry_in = ?wait, "the central refused this region's registration"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY);
    }
}

#[derive(Debug, thiserror::Error)]
enum RegisterError {
    #[error("{0}")]
    Link(#[from] LinkError),
    #[error("cannot keep the credential: {0}")]
    Store(#[from] StoreError),
}

async fn try_register(store: &Store, link: &CentralLink, registration: &Registration) -> Result<RegionJoined, RegisterError> {
    let kept = store.central_credential().await?;
    let request = RegionJoin {
        name: registration.name.clone(),
        api_url: registration.api_url.clone(),
        join_token: registration.join_token.clone(),
        credential: kept.as_ref().map(|k| k.credential.clone()),
        network_pool: registration.network_pool.clone(),
    };
    let joined: RegionJoined = link.call_unregistered("/v1/federation/join", &request).await?;
    let fresh = CentralCredential {
        region_id: flotilla_core::ids::RegionId(joined.region_id),
        central_url: link.url().to_owned(),
        credential: joined.credential.clone(),
    };
    if kept.as_ref() != Some(&fresh) {
        store.save_central_credential(&fresh).await?;
    }
    link.set_credential(joined.credential.clone());
    Ok(joined)
}

/// Heartbeats every `interval` until the central no longer knows the credential (a 401: the
/// region was deleted there); an unreachable central is only logged by the link.
async fn heartbeat_until_refused(store: &Store, link: &CentralLink, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (host_count, container_count) = match store.region_counts().await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count hosts and containers for the heartbeat");
                continue;
            }
        };
        let beat = RegionHeartbeat { host_count, container_count };
        match link.call_no_reply(Method::POST, "/v1/federation/heartbeat", Some(&beat)).await {
            Ok(()) | Err(LinkError::Unreachable { .. }) => {}
            Err(LinkError::Refused { status: 401, message }) => {
                tracing::error!(%message, "the central no longer knows this region's credential: registering again");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat to the central failed"),
        }
    }
}
