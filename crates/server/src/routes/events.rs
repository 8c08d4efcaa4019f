//! `/v1/events`: the event log, listed in time order or streamed as server-sent events. A project
//! sees its own events; admins asking for all projects also see region-level ones (hosts).

use super::{convert, list_params};
use crate::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::identity::principal::Principal;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use flotilla_api::{EVENT_STREAM_NAME, ErrorBody, Event, EventFilter, EventList, EventStreamQuery, ListQuery};
use flotilla_core::event::{self, EventAction, EventLevel, ObjectType};
use flotilla_core::{EventId, SortKey, Timestamp, ValidationError};
use flotilla_store::{EventFilters, Scope};
use futures::Stream;
use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

/// How often a stream looks for new events.
const POLL: Duration = Duration::from_millis(500);
/// Events are read again this long after their id's time, so that one committed late (another
/// server, a slow transaction) is still sent; those already sent are skipped.
const LOOKBACK: Duration = Duration::from_secs(5);
/// Most events read per poll.
const BATCH: u32 = 200;

/// The filters of a request, checked and owned.
#[derive(Debug, Clone)]
struct Wanted {
    object_type: Option<ObjectType>,
    object: Option<String>,
    action: Option<EventAction>,
    level: Option<EventLevel>,
}

impl Wanted {
    fn parse(filter: EventFilter) -> Result<Self, ValidationError> {
        fn check<T>(field: &str, text: Option<&str>, parse: impl Fn(&str) -> Option<T>, names: &str) -> Result<Option<T>, ValidationError> {
            text.map(|t| parse(t).ok_or_else(|| ValidationError::new(field, t, format!("must be one of {names}")))).transpose()
        }
        let actions: Vec<&str> = EventAction::ALL.iter().map(|a| a.as_str()).collect();
        let types: Vec<&str> = ObjectType::ALL.iter().map(|t| t.as_str()).collect();
        Ok(Wanted {
            object_type: check("object_type", filter.object_type.as_deref(), ObjectType::parse, &types.join(", "))?,
            object: filter.object,
            action: check("action", filter.action.as_deref(), EventAction::parse, &actions.join(", "))?,
            level: check("level", filter.level.as_deref(), EventLevel::parse, "INFO, WARNING, ERROR")?,
        })
    }

    fn filters(&self) -> EventFilters<'_> {
        EventFilters { object_type: self.object_type, object: self.object.as_deref(), action: self.action, level: self.level, after: None }
    }
}

#[utoipa::path(get, path = "/v1/events", tag = "events", params(ListQuery, EventFilter),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
    ApiQuery(filter): ApiQuery<EventFilter>,
) -> Result<Json<EventList>, ApiError> {
    let params = list_params(&query)?;
    if params.sort != SortKey::CreatedAt {
        return Err(ValidationError::new("sort", query.sort.unwrap_or_default(), "events sort by created_at (time) only").into());
    }
    let scope = caller.scope(query.all_projects)?;
    let wanted = Wanted::parse(EventFilter { object: filter.object.or(query.name), ..filter })?;
    let page = state.store.list_events(scope, wanted.filters(), &params).await?.map(convert::event);
    Ok(Json(EventList { events: page.items, next: page.next }))
}

/// Streams events as they happen: one `event: flotilla` message each, its `id:` the event's id,
/// its data the event as JSON; comments keep the connection alive.
#[utoipa::path(get, path = "/v1/events/stream", tag = "events", params(EventFilter, EventStreamQuery),
    responses((status = 200, content_type = "text/event-stream", body = Event, description = "server-sent events, one per event"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn stream_events(
    State(state): State<AppState>,
    caller: Principal,
    headers: HeaderMap,
    ApiQuery(filter): ApiQuery<EventFilter>,
    ApiQuery(query): ApiQuery<EventStreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let scope = caller.scope(query.all_projects)?;
    let wanted = Wanted::parse(filter)?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let start = match query.after.or(resume) {
        Some(id) => id.parse::<EventId>().map_err(|_| ValidationError::new("after", &id, "is not an event id"))?,
        None => event::id_floor(flotilla_core::now()),
    };
    let follower = Follower {
        state,
        scope,
        wanted,
        until: caller.expires_at,
        settled: start,
        paging: None,
        sent: BTreeSet::new(),
        queue: VecDeque::new(),
    };
    let stream = futures::stream::unfold(follower, |mut f| async move {
        let next = f.next().await?;
        let id = next.id.to_string();
        let data = serde_json::to_string(&convert::event(next)).expect("events serialize to JSON");
        Some((Ok(SseEvent::default().event(EVENT_STREAM_NAME).id(id).data(data)), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// One stream's reading of the log. Every matching event after `settled` is either in `sent` or
/// not read yet; `settled` only moves up to what is older than [`LOOKBACK`].
struct Follower {
    state: AppState,
    scope: Scope,
    wanted: Wanted,
    /// The stream ends when the caller's token expires.
    until: Timestamp,
    settled: EventId,
    /// Where the next read starts while a backlog is paged through.
    paging: Option<EventId>,
    sent: BTreeSet<EventId>,
    queue: VecDeque<flotilla_core::event::Event>,
}

impl Follower {
    /// The next event to send, once there is one; `None` when the stream ends (shutdown, expiry).
    async fn next(&mut self) -> Option<flotilla_core::event::Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if flotilla_core::now() >= self.until || self.state.shutdown.is_cancelled() {
                return None;
            }
            self.read().await;
            if self.queue.is_empty() && self.paging.is_none() {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = self.state.shutdown.cancelled() => return None,
                }
            }
        }
    }

    /// Reads one batch, queueing the events not sent yet.
    async fn read(&mut self) {
        let lookback = chrono::Duration::from_std(LOOKBACK).unwrap_or_default();
        let floor = event::id_floor(flotilla_core::now() - lookback).max(self.settled);
        let from = self.paging.unwrap_or(self.settled);
        let batch = match self.state.store.events_after(self.scope, self.wanted.filters(), from, BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "reading events for a stream failed");
                return;
            }
        };
        let last = batch.last().map(|e| e.id);
        self.paging = if batch.len() == BATCH as usize { last } else { None };
        // Read up to `last` (a full batch) or to now: what is also older than the floor is settled.
        self.settled = self.paging.map_or(floor, |last| last.min(floor)).max(self.settled);
        for event in batch {
            if self.sent.insert(event.id) {
                self.queue.push_back(event);
            }
        }
        let settled = self.settled;
        self.sent.retain(|id| *id > settled);
    }
}
