//! Names asked of the region one at a time, as containers ask them: an answer is kept a second
//! (a name follows its containers within that), and longer, as the last one known, while the
//! region cannot be asked. A region answers one name in one indexed read, so a network of 10,000
//! containers costs its hosts nothing until a name of it is asked.

use super::names::Answer;
use crate::error::AgentError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// How long an answer is used without asking again.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long an answer stands in while the region cannot be asked.
const STALE_FOR: Duration = Duration::from_secs(300);
/// Answers kept before the older ones are dropped.
const MAX_KEPT: usize = 10_000;

/// Who answers a name: the region server (`GET /v1/agent/names`).
#[async_trait]
pub trait NameUpstream: Send + Sync {
    /// The addresses of `name` on `network`; empty when it is no name there.
    async fn addresses(&self, network: Uuid, name: &str) -> Result<Vec<Ipv4Addr>, AgentError>;
}

/// An answer as it was got.
struct Kept {
    at: Instant,
    addresses: Vec<Ipv4Addr>,
}

/// The names of every network the host carries, asked of `upstream` and kept briefly.
pub struct NameLookup {
    upstream: Arc<dyn NameUpstream>,
    kept: Mutex<HashMap<(Uuid, String), Kept>>,
}

impl NameLookup {
    pub fn new(upstream: Arc<dyn NameUpstream>) -> Self {
        Self { upstream, kept: Mutex::default() }
    }

    /// The answer to `name` (any case, with or without the final dot) on `network`, asking for an
    /// A record when `wants_a`.
    pub async fn answer(&self, network: Uuid, name: &str, wants_a: bool) -> Answer {
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        let key = (network, name);
        let kept = self.kept(&key, FRESH_FOR);
        let addresses = match kept {
            Some(addresses) => addresses,
            None => match self.upstream.addresses(network, &key.1).await {
                Ok(addresses) => {
                    self.keep(key, addresses.clone());
                    addresses
                }
                Err(error) => {
                    tracing::debug!(%network, name = %key.1, %error, "the region could not be asked for a name");
                    self.kept(&key, STALE_FOR).unwrap_or_default()
                }
            },
        };
        match (addresses.is_empty(), wants_a) {
            (true, _) => Answer::Refused,
            (false, true) => Answer::Addresses(addresses),
            (false, false) => Answer::NoData,
        }
    }

    /// The addresses kept for `key`, if got less than `within` ago.
    fn kept(&self, key: &(Uuid, String), within: Duration) -> Option<Vec<Ipv4Addr>> {
        let kept = self.kept.lock().ok()?;
        kept.get(key).filter(|k| k.at.elapsed() < within).map(|k| k.addresses.clone())
    }

    fn keep(&self, key: (Uuid, String), addresses: Vec<Ipv4Addr>) {
        let Ok(mut kept) = self.kept.lock() else { return };
        if kept.len() >= MAX_KEPT {
            kept.retain(|_, k| k.at.elapsed() < FRESH_FOR);
        }
        kept.insert(key, Kept { at: Instant::now(), addresses });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Answers `web` with one address, counts the questions, and fails while `down`.
    #[derive(Default)]
    struct Region {
        asked: AtomicUsize,
        down: AtomicBool,
    }

    #[async_trait]
    impl NameUpstream for Region {
        async fn addresses(&self, _network: Uuid, name: &str) -> Result<Vec<Ipv4Addr>, AgentError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(AgentError::Unreachable { url: "region".into(), message: "down".into() });
            }
            Ok(if name == "web" { vec![Ipv4Addr::new(10, 1, 0, 2)] } else { Vec::new() })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn names_are_asked_kept_a_second_and_stand_in_while_the_region_is_down() {
        let region = Arc::new(Region::default());
        let lookup = NameLookup::new(region.clone());
        let network = Uuid::now_v7();
        let web = Answer::Addresses(vec![Ipv4Addr::new(10, 1, 0, 2)]);
        assert_eq!(lookup.answer(network, "WEB.", true).await, web, "asked, in any case");
        assert_eq!(lookup.answer(network, "web", false).await, Answer::NoData, "AAAA of a known name");
        assert_eq!(region.asked.load(Ordering::SeqCst), 1, "the second answer was kept");
        assert_eq!(lookup.answer(network, "example.org", true).await, Answer::Refused, "not a name of the network");
        assert_eq!(lookup.answer(Uuid::now_v7(), "web", true).await, web, "another network is asked apart");
        assert_eq!(region.asked.load(Ordering::SeqCst), 3);

        tokio::time::advance(FRESH_FOR).await;
        assert_eq!(lookup.answer(network, "web", true).await, web);
        assert_eq!(region.asked.load(Ordering::SeqCst), 4, "asked again after a second");

        region.down.store(true, Ordering::SeqCst);
        tokio::time::advance(FRESH_FOR * 10).await;
        assert_eq!(lookup.answer(network, "web", true).await, web, "the last answer while the region is down");
        assert_eq!(lookup.answer(network, "never-asked", true).await, Answer::Refused);
        tokio::time::advance(STALE_FOR).await;
        assert_eq!(lookup.answer(network, "web", true).await, Answer::Refused, "not forever");
        assert_eq!(region.asked.load(Ordering::SeqCst), 7, "every question went to the region");
    }
}
