//! Where a region command goes: the chosen region's API (`--region`, else the default region, else
//! the server logged in to), every known region at once for a list with `--all-regions`, and for an
//! id the chosen region does not hold, the region the central's routing table names.

use crate::failure::CliError;
use crate::output::{self, Format, Listing};
use anyhow::{Context, Result};
use clap::Args;
use flotilla_api::{EventFilter, EventStreamQuery};
use flotilla_client::{Client, ClientError};
use futures::StreamExt;
use std::ops::Deref;
use std::time::Duration;

/// How long `--all-regions` waits for one region before reporting it as not answering.
const REGION_ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// How long `--watch` waits without an event before it lists again anyway (changes in other
/// projects, for admins listing all, carry no event of the caller's).
const WATCH_RESYNC: Duration = Duration::from_secs(5);
/// How long `--watch` gathers events before listing again, so a burst lists once.
const WATCH_SETTLE: Duration = Duration::from_millis(200);

/// `--all-regions` and `--watch` of a region list command.
#[derive(Debug, Clone, Args)]
pub struct Spread {
    /// List in every region of the federation at once, with a REGION column (`region` in each JSON
    /// object). A region that does not answer is reported on stderr and the others are still listed;
    /// the exit code is 0 when at least one region answered.
    #[arg(long)]
    pub all_regions: bool,
    /// Keep listing: print the list again whenever it changed, as events arrive (after a blank
    /// line; YAML as a new `---` document, JSON as the next object of a stream); Ctrl-C ends it.
    #[arg(short, long, conflicts_with = "all_regions")]
    pub watch: bool,
}

/// The chosen region's client (commands use it as a [`Client`]), the central's and every known
/// region's.
pub struct Target {
    /// The chosen region's name; `None` for the server logged in to.
    chosen: Option<String>,
    client: Client,
    central: Client,
    regions: Vec<(String, Client)>,
}

impl Deref for Target {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Target {
    /// `client` for the region named `chosen` (the server logged in to when `None`), `central` for
    /// the routing table, `regions` every known region by name.
    pub fn new(chosen: Option<String>, client: Client, central: Client, regions: Vec<(String, Client)>) -> Self {
        Target { chosen, client, central, regions }
    }

    /// Runs `call` on `key` in the chosen region; when that answers 404 and the central's routing
    /// table places `key` (an id: names are not global) in another known region, runs it there instead (said on
    /// stderr). Answers the result and the client of the region that answered, for what follows
    /// (a `--wait`).
    pub async fn found<T>(&self, key: &str, call: impl AsyncFn(&Client) -> Result<T, ClientError>) -> Result<(T, &Client), ClientError> {
        let missing = match call(&self.client).await {
            Err(err) if err.status() == Some(404) => err,
            answered => return answered.map(|value| (value, &self.client)),
        };
        let Ok(route) = self.central.routing(key).await else { return Err(missing) };
        match self.regions.iter().find(|(name, _)| *name == route.region && self.chosen.as_ref() != Some(name)) {
            Some((name, client)) => {
                eprintln!("{} {key} is in region {name} (from the routing table)", route.resource_type);
                Ok((call(client).await?, client))
            }
            None => Err(missing),
        }
    }

    /// Prints the page `fetch` gets from the chosen region, or with `--all-regions` what it gets
    /// from every region, asked concurrently: a region that fails or does not answer in time is
    /// named on stderr with the reason, and the command fails only when none answered.
    pub async fn list<L: Listing>(
        &self,
        format: Format,
        spread: &Spread,
        fetch: impl AsyncFn(&Client) -> Result<L, ClientError>,
    ) -> Result<()> {
        if spread.watch {
            return self.watch(format, fetch).await;
        }
        if !spread.all_regions {
            return output::list(format, &fetch(&self.client).await?);
        }
        if self.regions.is_empty() {
            return Err(CliError::NoRegions.into());
        }
        let asked = self
            .regions
            .iter()
            .map(async |(name, client)| (name.as_str(), tokio::time::timeout(REGION_ANSWER_TIMEOUT, fetch(client)).await));
        let mut pages = Vec::new();
        for (region, answer) in futures::future::join_all(asked).await {
            match answer {
                Ok(Ok(page)) => pages.push((region, page)),
                Ok(Err(err)) => eprintln!("error: region {region} did not answer: {err}"),
                Err(_) => eprintln!("error: region {region} did not answer within {} s", REGION_ANSWER_TIMEOUT.as_secs()),
            }
        }
        if pages.is_empty() {
            return Err(CliError::NoRegionAnswered(self.regions.len()).into());
        }
        output::regional_list(format, &pages)
    }

    /// `--watch`: the list, then again each time an event came (a burst once) or every
    /// [`WATCH_RESYNC`], printed only when it differs from the last one printed. A broken event
    /// stream is opened again at the next round.
    async fn watch<L: Listing>(&self, format: Format, fetch: impl AsyncFn(&Client) -> Result<L, ClientError>) -> Result<()> {
        let mut events = None;
        let mut last = None;
        loop {
            if events.is_none() {
                events = self.client.stream_events(&EventFilter::default(), &EventStreamQuery::default()).await.ok();
            }
            let page = fetch(&self.client).await?;
            let shown = serde_json::to_string(&page).context("cannot render the list")?;
            if last.as_ref() != Some(&shown) {
                let separator: &[u8] = match format {
                    Format::Json => b"",
                    Format::Yaml => b"---\n",
                    _ => b"\n",
                };
                if last.is_some() {
                    output::raw(separator)?;
                }
                output::list(format, &page)?;
                last = Some(shown);
            }
            let Some(stream) = events.as_mut() else {
                tokio::time::sleep(WATCH_RESYNC).await;
                continue;
            };
            match tokio::time::timeout(WATCH_RESYNC, stream.next()).await {
                Ok(Some(Ok(_))) => {
                    let settle = tokio::time::sleep(WATCH_SETTLE);
                    tokio::pin!(settle);
                    while tokio::select! { _ = &mut settle => false, next = stream.next() => next.is_some() } {}
                }
                Ok(_) => events = None,
                Err(_) => {}
            }
        }
    }
}
