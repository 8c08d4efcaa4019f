//! The event log: appended to, listed in time (id) order, and read after an id for streaming.

use crate::codec::{get_id, get_json, get_opt_id, get_time, metadata_json, millis};
use crate::group_commit::Batched;
use crate::list::{Filter, Order};
use crate::{Scope, Store, StoreError, Tx};
use flotilla_core::event::{Event, EventAction, EventLevel, ObjectType};
use flotilla_core::{EventId, ListParams, Page};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Filters of an event list or stream; each `Some` must match.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilters<'a> {
    pub object_type: Option<ObjectType>,
    /// The object's id, or its name.
    pub object: Option<&'a str>,
    pub action: Option<EventAction>,
    pub level: Option<EventLevel>,
    /// Only events after this one (in time order).
    pub after: Option<EventId>,
}

fn decode(row: &AnyRow) -> Result<Event, StoreError> {
    let text = |column: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(column)?) };
    let corrupt = |column: &str, value: String| StoreError::Corrupt(format!("{column} = {value:?}"));
    let (level, object_type, action) = (text("level")?, text("object_type")?, text("action")?);
    Ok(Event {
        id: get_id(row, "id")?,
        timestamp: get_time(row, "timestamp")?,
        level: EventLevel::parse(&level).ok_or_else(|| corrupt("level", level))?,
        project_id: get_opt_id(row, "project_id")?,
        user_id: get_opt_id(row, "user_id")?,
        object_type: ObjectType::parse(&object_type).ok_or_else(|| corrupt("object_type", object_type))?,
        object_id: get_id(row, "object_id")?,
        object_name: text("object_name")?,
        action: EventAction::parse(&action).ok_or_else(|| corrupt("action", action))?,
        status: text("status")?,
        reason: text("reason")?,
        metadata: get_json(row, "metadata")?,
    })
}

/// The names of the `(field, set)` pairs that are set, comma-separated: an update event's `changed`.
pub(crate) fn changed_fields(fields: &[(&str, bool)]) -> String {
    fields.iter().filter(|(_, set)| *set).map(|(name, _)| *name).collect::<Vec<_>>().join(",")
}

/// Appends one event inside `tx`.
async fn insert(tx: &mut Tx, e: &Event) -> Result<(), StoreError> {
    insert_all(tx, std::slice::from_ref(e)).await
}

/// Appends `events` inside `tx`: a statement per [`rows_per_statement`](crate::codec::rows_per_statement) of them.
pub(crate) async fn insert_all(tx: &mut Tx, events: &[Event]) -> Result<(), StoreError> {
    for chunk in events.chunks(crate::codec::rows_per_statement(tx, 12)) {
        let sql = format!(
            "INSERT INTO events (id, timestamp, level, project_id, user_id, object_type, object_id, object_name, action, status,
                     reason, metadata) VALUES {}",
            crate::codec::value_rows(chunk.len(), 12)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            query = query
                .bind(e.id.to_string())
                .bind(millis(e.timestamp))
                .bind(e.level.as_str())
                .bind(e.project_id.map(|p| p.to_string()))
                .bind(e.user_id.map(|u| u.to_string()))
                .bind(e.object_type.as_str())
                .bind(e.object_id.to_string())
                .bind(e.object_name.clone())
                .bind(e.action.as_str())
                .bind(e.status.clone())
                .bind(e.reason.clone())
                .bind(metadata_json(&e.metadata));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// One `record_events` call, written with the others made at once.
pub(crate) struct EventRecord {
    store: Store,
    events: Vec<Event>,
}

impl Batched for EventRecord {
    type Answer = ();
    const WHAT: &'static str = "event record";

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let mut w = requests[0].store.begin_write().await?;
        let events: Vec<Event> = requests.iter().flat_map(|r| r.events.iter().cloned()).collect();
        insert_all(&mut w.tx, &events).await?;
        w.tx.commit().await?;
        Ok(requests.iter().map(|_| Ok(())).collect())
    }
}

impl Store {
    pub async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
        self.record_events(std::slice::from_ref(event)).await
    }

    /// Appends `events` in one transaction, with those of the other calls made at once
    /// (`group_commit.rs`).
    pub async fn record_events(&self, events: &[Event]) -> Result<(), StoreError> {
        self.event_records.submit(EventRecord { store: self.clone(), events: events.to_vec() }).await
    }

    /// Appends the audit event of a change inside the change's transaction `tx`, naming this
    /// handle's actor (see [`Store::acting`]).
    pub(crate) async fn audit(&self, tx: &mut Tx, event: Event) -> Result<(), StoreError> {
        insert(tx, &self.stamped(event)).await
    }

    /// `event` naming this handle's actor, as [`Store::audit`] writes it.
    pub(crate) fn stamped(&self, event: Event) -> Event {
        match &self.actor {
            Some(actor) => actor.stamp(event),
            None => event,
        }
    }

    /// One page of the events `scope` sees, in id (time) order whatever the sort key; a project
    /// sees its own events, never region-level ones.
    pub async fn list_events(&self, scope: Scope, filters: EventFilters<'_>, params: &ListParams) -> Result<Page<Event>, StoreError> {
        let mut f = Vec::new();
        if let Scope::Project(project) = scope {
            f.push(Filter::scope("project_id", project));
        }
        if let Some(object_type) = filters.object_type {
            f.push(Filter::eq("object_type", object_type.as_str()));
        }
        if let Some(object) = filters.object {
            f.push(Filter::eq(if crate::codec::is_id(object) { "object_id" } else { "object_name" }, object));
        }
        if let Some(action) = filters.action {
            f.push(Filter::eq("action", action.as_str()));
        }
        if let Some(level) = filters.level {
            f.push(Filter::eq("level", level.as_str()));
        }
        if let Some(after) = filters.after {
            f.push(Filter::after("id", after));
        }
        self.list_ordered("events", Order::Id, &f, params, decode).await
    }

    /// Up to `limit` events after `after`, oldest first: what a stream delivers next.
    pub async fn events_after(
        &self,
        scope: Scope,
        filters: EventFilters<'_>,
        after: EventId,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let params = ListParams { limit, ..ListParams::default() };
        Ok(self.list_events(scope, EventFilters { after: Some(after), ..filters }, &params).await?.items)
    }
}
