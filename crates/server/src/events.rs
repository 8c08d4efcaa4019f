//! Writing the event log: handlers record what they did in one line; a failure to record is
//! logged, never fails the request.

use crate::identity::principal::Principal;
use crate::state::AppState;
use flotilla_core::container::{Container, StatusChange};
use flotilla_core::event::{Event, EventAction, ObjectType};
use flotilla_core::host::Host;
use flotilla_core::image::Image;
use flotilla_core::router::Router;
use flotilla_store::ObservationChanges;

/// Appends `event` to the log.
pub async fn record(state: &AppState, event: Event) {
    record_all(state, vec![event]).await;
}

/// Appends `events` to the log in one write.
pub async fn record_all(state: &AppState, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    if let Err(error) = state.store.record_events(&events).await {
        let first = &events[0];
        tracing::warn!(%error, action = first.action.as_str(), object = %first.object_name, count = events.len(), "recording events failed");
    }
}

/// An event about container `c`, asked for by `caller`.
pub fn container(c: &Container, caller: &Principal, action: EventAction, status: &str) -> Event {
    Event::new(ObjectType::Container, c.id.0, c.name.as_str(), action, status).by(Some(c.project_id), Some(caller.user_id))
}

/// A region-level event about `host`, asked for by `caller` when someone did.
pub fn host(h: &Host, caller: Option<&Principal>, action: EventAction, status: &str) -> Event {
    Event::new(ObjectType::Host, h.id.0, &h.name, action, status).by(None, caller.map(|c| c.user_id))
}

/// An event about image `i`, done by `caller`.
pub fn image(i: &Image, caller: &Principal, action: EventAction, status: &str) -> Event {
    Event::new(ObjectType::Image, i.id.0, &i.name, action, status).by(Some(i.project_id), Some(caller.user_id))
}

/// An event about router `r`, done by `caller`.
pub fn router(r: &Router, caller: &Principal, action: EventAction) -> Event {
    Event::new(ObjectType::Router, r.id.0, r.name.as_str(), action, flotilla_core::event::END).by(Some(r.project_id), Some(caller.user_id))
}

/// Records the observed status changes worth an event (deleted, ERROR, UNKNOWN).
pub async fn observed(state: &AppState, changes: &[StatusChange]) {
    record_all(state, changes.iter().filter_map(Event::observed).collect()).await;
}

/// Records what agents' observations changed that is worth an event: the status changes of
/// [`observed`], and health turning unhealthy or healthy again.
pub async fn observations(state: &AppState, changes: &ObservationChanges) {
    let status = changes.status.iter().filter_map(Event::observed);
    record_all(state, status.chain(changes.health.iter().filter_map(Event::health)).collect()).await;
}
