//! `flotilla event list`: the event log (who did what to which object), optionally followed as
//! events happen (`--follow`).

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Event, EventFilter, EventList, EventStreamQuery, ListQuery};
use flotilla_client::{Client, ClientError, EventStream};
use flotilla_core::event::ObjectType;
use futures::StreamExt;
use std::collections::HashSet;
use std::time::Duration;

/// Pause before a followed stream that broke is opened again.
const RECONNECT: Duration = Duration::from_secs(1);

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// List events, oldest first (--sort created_at:desc for the newest first).
    List {
        /// Only events about this kind of object (every kind the server records).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(ObjectType::ALL.map(ObjectType::as_str)), ignore_case = true)]
        object_type: Option<String>,
        /// Only events about this object (name or id).
        #[arg(long)]
        object: Option<String>,
        /// Only this action, e.g. CONTAINER_STOP or HOST_DOWN.
        #[arg(long)]
        action: Option<String>,
        /// Only events of this level.
        #[arg(long, value_parser = ["INFO", "WARNING", "ERROR"], ignore_case = true)]
        level: Option<String>,
        /// Keep printing new events until interrupted (JSON: one event per line).
        #[arg(short, long, conflicts_with = "all_regions")]
        follow: bool,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
}

pub async fn run(client: &Target, format: Format, command: EventCommand) -> Result<()> {
    let EventCommand::List { object_type, object, action, level, follow, list, spread } = command;
    let filter = EventFilter {
        object_type: object_type.map(|t| t.to_lowercase()),
        object,
        action: action.map(|a| a.to_uppercase()),
        level: level.map(|l| l.to_uppercase()),
    };
    if !follow {
        return client.list(format, &spread, async |c| c.list_events(&list.query(), &filter).await).await;
    }
    // The stream opens before the list is read, so that no event falls between the two; the
    // events both carry print once.
    let stream = client.stream_events(&filter, &EventStreamQuery { after: None, all_projects: list.all_projects.then_some(true) }).await?;
    let page = client.list_events(&list.query(), &filter).await?;
    if format.is_table() && !output::raw(line(Event::HEADERS.iter().map(|h| h.to_string()).collect()).as_bytes())? {
        return Ok(());
    }
    for event in &page.events {
        if !print(format, event)? {
            return Ok(());
        }
    }
    let listed: HashSet<String> = page.events.iter().map(|e| e.id.to_string()).collect();
    follow_events(client, format, &filter, list.all_projects, stream, listed).await
}

/// Prints every project's events from now on as aligned lines (`flotilla dev`'s terminal), until
/// stdout goes away or the server refuses.
pub async fn follow_from_now(client: &Client) -> Result<()> {
    let filter = EventFilter::default();
    let stream = client.stream_events(&filter, &EventStreamQuery { after: None, all_projects: Some(true) }).await?;
    follow_events(client, Format::Table, &filter, true, stream, HashSet::new()).await
}

/// Prints the events of `events` not `listed` already. A stream that broke is opened again
/// after the last event printed; ends only when the reader goes away or the server refuses.
async fn follow_events(
    client: &Client,
    format: Format,
    filter: &EventFilter,
    all_projects: bool,
    mut events: EventStream,
    listed: HashSet<String>,
) -> Result<()> {
    let mut last = None;
    loop {
        while let Some(next) = events.next().await {
            match next {
                Ok(event) if listed.contains(&event.id.to_string()) => {}
                Ok(event) => {
                    if !print(format, &event)? {
                        return Ok(());
                    }
                    last = Some(event.id.to_string());
                }
                Err(ClientError::Transport { .. }) => break,
                Err(other) => return Err(other.into()),
            }
        }
        tokio::time::sleep(RECONNECT).await;
        events =
            client.stream_events(filter, &EventStreamQuery { after: last.clone(), all_projects: all_projects.then_some(true) }).await?;
    }
}

/// Prints one followed event: an aligned line, one JSON object per line, a YAML document, or what
/// `-o name`, `-q` or a JSONPath picks from it. `false` when the reader went away.
fn print(format: Format, event: &Event) -> Result<bool> {
    match format {
        Format::Table | Format::Wide => output::raw(line(event.cells()).as_bytes()),
        Format::Json => output::raw(format!("{}\n", serde_json::to_string(event)?).as_bytes()),
        Format::Yaml => {
            let more = output::raw(b"---\n")?;
            output::one(Format::Yaml, event)?;
            Ok(more)
        }
        Format::Name | Format::Ids | Format::JsonPath(_) => {
            output::one(format, event)?;
            Ok(true)
        }
    }
}

/// The cells of a row as one line, in columns as wide as a typical value.
fn line(cells: Vec<String>) -> String {
    const WIDTHS: [usize; 5] = [19, 7, 28, 18, 8];
    let mut text = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match WIDTHS.get(i) {
            Some(&width) => text.push_str(&format!("{cell:<width$}  ")),
            None => text.push_str(cell),
        }
    }
    text.trim_end().to_owned() + "\n"
}

/// How many of an object's latest events a `show` prints under it for people.
const SHOWN_EVENTS: u32 = 10;

/// The latest events about object `id`, oldest first, for the end of a `show` (as `kubectl
/// describe`): none for scripts' formats, or when they cannot be read (the object shows all the same).
pub async fn recent(client: &Client, format: Format, id: &str) -> Vec<Event> {
    if !format.is_table() {
        return Vec::new();
    }
    let query = ListQuery { limit: Some(SHOWN_EVENTS), sort: Some("created_at:desc".into()), ..Default::default() };
    let filter = EventFilter { object: Some(id.to_owned()), ..Default::default() };
    let mut events = client.list_events(&query, &filter).await.map(|page| page.events).unwrap_or_default();
    events.reverse();
    events
}

impl Row for Event {
    const HEADERS: &'static [&'static str] = &["TIME", "LEVEL", "OBJECT", "ACTION", "STATUS", "REASON"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.timestamp.format("%Y-%m-%d %H:%M:%S").to_string(),
            self.level.clone(),
            format!("{}/{}", self.object_type, self.object_name),
            self.action.clone(),
            self.status.clone(),
            self.reason.clone(),
        ]
    }
}

output::listing!(EventList, events, Event);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn list_takes_filters_and_follow() {
        let cli = Cli::try_parse_from(["flotilla", "event", "list", "--object-type", "HOST", "--level", "error", "-f", "--all-projects"])
            .unwrap();
        let Command::Event(EventCommand::List { object_type, level, follow, list, .. }) = cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        assert_eq!((object_type.as_deref(), level.as_deref(), follow, list.all_projects), (Some("HOST"), Some("error"), true, true));
        assert!(Cli::try_parse_from(["flotilla", "event", "list", "--level", "LOUD"]).is_err());
        for kind in ["cluster", "node", "router"] {
            assert!(Cli::try_parse_from(["flotilla", "event", "list", "--object-type", kind]).is_ok(), "{kind}");
        }
        assert!(Cli::try_parse_from(["flotilla", "event", "list", "--object-type", "planet"]).is_err());
    }

    #[test]
    fn followed_lines_are_aligned() {
        let header = line(Event::HEADERS.iter().map(|h| h.to_string()).collect());
        let row = line(vec![
            "2025-01-01 00:00:00".into(),
            "INFO".into(),
            "container/web".into(),
            "CONTAINER_STOP".into(),
            "START".into(),
            String::new(),
        ]);
        assert_eq!(header.find("ACTION"), row.find("CONTAINER_STOP"));
        assert_eq!(header.find("STATUS"), row.find("START"));
        assert!(row.ends_with("START\n"), "{row:?}");
    }
}
