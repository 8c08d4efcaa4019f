//! Agents' reports of what runs: judged against the recorded rows, then written a few statements
//! per group of reports made at once, whatever their size, so the rows they lock are held for a
//! few round trips only.

use crate::codec::{now_millis, opt_float, rows_per_statement, value_rows_of};
use crate::containers::{delete_rows, lock_containers};
use crate::overlay::{Around, wake_peers};
use crate::{Store, StoreError, Tx};
use flotilla_core::container::{Container, ContainerHealth, ContainerStatus, DesiredState, HealthChange, Observation, StatusChange};
use flotilla_core::{ContainerId, HostId, ProjectId};
use std::collections::BTreeMap;

/// What a batch of observations changed: for the event log, and for the engine's container
/// watch (the rows as written, handed to their waiters without a read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationChanges {
    pub status: Vec<StatusChange>,
    pub health: Vec<HealthChange>,
    /// The containers whose status or health changed, as the report left them.
    pub written: Vec<Container>,
}

/// A container's observed columns as a report leaves them.
struct Observed {
    id: ContainerId,
    status: ContainerStatus,
    reason: String,
    /// `None` keeps the recorded one.
    runtime_id: Option<String>,
    exit_code: Option<i64>,
    health: ContainerHealth,
    cpu_percent: Option<f64>,
    observed_at: Option<i64>,
}

/// What one report writes, judged against the rows as recorded before any is written.
#[derive(Default)]
struct ReportWrites {
    /// Containers removed from their host after their delete: forgotten.
    removed: Vec<(ContainerId, ProjectId)>,
    observed: Vec<Observed>,
    /// Containers that began or stopped running: a cluster's name answers its running members,
    /// so their peers are woken.
    started_or_stopped: Vec<ContainerId>,
    changes: ObservationChanges,
}

impl ReportWrites {
    /// Judges `seen` against `c`, recorded on `host`, at `now`. Reports about a container no longer
    /// on that host, or of an older generation, are stale and ignored; a report of what is
    /// recorded already (a full report's unchanged rows) writes nothing: no write to wait for, no
    /// change for the watchers to look at.
    fn judge(&mut self, c: Container, seen: &Observation, host: HostId, now: i64) {
        if c.host_id != Some(host) || seen.generation < c.generation {
            return;
        }
        let Some(status) = seen.status else {
            if c.desired == DesiredState::Deleted {
                self.removed.push((c.id, c.project_id));
                let reason = "removed from its host".to_owned();
                self.changes.status.push(StatusChange {
                    id: c.id,
                    name: c.name,
                    project_id: c.project_id,
                    from: c.status,
                    to: ContainerStatus::Deleted,
                    reason,
                });
            }
            return;
        };
        let status = if c.desired == DesiredState::Deleted { ContainerStatus::Deleting } else { status };
        let (health, cpu_percent) = if status == ContainerStatus::Running {
            (seen.health.clone().unwrap_or_else(|| c.health.clone()), seen.cpu_percent.or(c.cpu_percent))
        } else {
            (ContainerHealth::Unknown, None)
        };
        let measured = seen.health.is_some() || seen.cpu_percent.is_some();
        let unchanged = !measured
            && status == c.status
            && seen.reason == c.status_reason
            && seen.runtime_id.as_ref().is_none_or(|id| c.runtime_id.as_ref() == Some(id))
            && seen.exit_code == c.exit_code
            && health == c.health
            && cpu_percent == c.cpu_percent;
        if unchanged {
            return;
        }
        let observed = Observed {
            id: c.id,
            status,
            reason: seen.reason.clone(),
            runtime_id: seen.runtime_id.clone(),
            exit_code: seen.exit_code,
            health,
            cpu_percent,
            observed_at: if measured { Some(now) } else { c.observed_at.map(crate::codec::millis) },
        };
        let health_changed = !observed.health.same_kind(&c.health);
        if health_changed {
            self.changes.health.push(HealthChange {
                id: c.id,
                name: c.name.clone(),
                project_id: c.project_id,
                from: c.health.clone(),
                to: observed.health.clone(),
            });
        }
        if status != c.status {
            if (status == ContainerStatus::Running) != (c.status == ContainerStatus::Running) {
                self.started_or_stopped.push(c.id);
            }
            self.changes.status.push(StatusChange {
                id: c.id,
                name: c.name.clone(),
                project_id: c.project_id,
                from: c.status,
                to: status,
                reason: seen.reason.clone(),
            });
        }
        if health_changed || status != c.status {
            self.changes.written.push(observed.applied_to(c, now));
        }
        self.observed.push(observed);
    }
}

impl Observed {
    /// `c` as this observation, written at `now`, leaves it.
    fn applied_to(&self, mut c: Container, now: i64) -> Container {
        let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or(c.updated_at);
        c.status = self.status;
        c.status_reason = self.reason.clone();
        if let Some(id) = &self.runtime_id {
            c.runtime_id = Some(id.clone());
        }
        c.exit_code = self.exit_code;
        c.health = self.health.clone();
        c.cpu_percent = self.cpu_percent;
        c.observed_at = self.observed_at.map(at);
        c.updated_at = at(now);
        c
    }
}

/// One [`Store::apply_observations`] call, written with the other reports made at once: in one
/// transaction, a few statements for all of them (a transaction of four round trips per report
/// was the agents' path's cost on PostgreSQL, and a turn of SQLite's one writer each).
pub(crate) struct Report {
    store: Store,
    host: HostId,
    observations: Vec<Observation>,
}

impl crate::group_commit::Batched for Report {
    type Answer = ObservationChanges;
    const WHAT: &'static str = "report";

    async fn run_together(requests: &[Self]) -> Result<Vec<Result<ObservationChanges, StoreError>>, StoreError> {
        let store = &requests[0].store;
        let mut w = store.begin_write().await?;
        let mut answers = Vec::with_capacity(requests.len());
        let mut rest = requests;
        while !rest.is_empty() {
            let (disjoint, after) = rest.split_at(disjoint_prefix(rest));
            answers.extend(store.apply_in(&mut w.tx, disjoint).await?.into_iter().map(Ok));
            rest = after;
        }
        w.tx.commit().await?;
        Ok(answers)
    }
}

/// How many of `reports`, from the first, name no container another of them names (at least one):
/// those are judged and written together; a later report of the same container is judged against
/// the row as the earlier one left it.
fn disjoint_prefix(reports: &[Report]) -> usize {
    let mut named = std::collections::HashSet::new();
    reports
        .iter()
        .position(|r| {
            let ids: std::collections::HashSet<ContainerId> = r.observations.iter().map(|o| o.id).collect();
            let shared = ids.iter().any(|id| named.contains(id));
            named.extend(ids);
            shared
        })
        .unwrap_or(reports.len())
        .max(1)
}

impl Store {
    /// Records what `host`'s agent saw, and answers the status and health changes it made (see
    /// `ReportWrites::judge`). A container removed after its delete is forgotten. Health and CPU
    /// use are kept only while the container runs; a report without them (an answer to a restart
    /// or kill) leaves them be. A container reported twice counts as its last report.
    pub async fn apply_observations(&self, host: HostId, observations: &[Observation]) -> Result<ObservationChanges, StoreError> {
        self.reports.submit(Report { store: self.clone(), host, observations: observations.to_vec() }).await
    }

    /// Writes `reports`, which name disjoint containers, inside `tx`: each one's changes.
    async fn apply_in(&self, tx: &mut Tx, reports: &[Report]) -> Result<Vec<ObservationChanges>, StoreError> {
        // Each container's report (its last observation there) and that report's place.
        let seen: BTreeMap<ContainerId, (usize, &Observation)> =
            reports.iter().enumerate().flat_map(|(at, r)| r.observations.iter().map(move |o| (o.id, (at, o)))).collect();
        let ids: Vec<ContainerId> = seen.keys().copied().collect();
        let now = now_millis();
        let mut writes: Vec<ReportWrites> = reports.iter().map(|_| ReportWrites::default()).collect();
        // Each row is locked while it is judged and written (in id order, whichever report
        // names it): an engine's write of it waits, and a generation bumped meanwhile is seen.
        for c in lock_containers(tx, &ids).await? {
            let (at, seen) = seen[&c.id];
            writes[at].judge(c, seen, reports[at].host, now);
        }
        let removed: Vec<(ContainerId, ProjectId)> = writes.iter().flat_map(|w| w.removed.iter().copied()).collect();
        let removed_ids: Vec<ContainerId> = removed.iter().map(|(id, _)| *id).collect();
        // Their peers are woken with the rows as they were, before they go.
        wake_peers(self, tx, Around::Containers(&removed_ids)).await?;
        delete_rows(tx, &removed_ids).await?;
        for (id, project) in &removed {
            self.sync_route(tx, id.0, *project).await?;
        }
        let observed: Vec<Observed> = writes.iter_mut().flat_map(|w| std::mem::take(&mut w.observed)).collect();
        write_observed(tx, &observed, now).await?;
        let started_or_stopped: Vec<ContainerId> = writes.iter().flat_map(|w| w.started_or_stopped.iter().copied()).collect();
        wake_peers(self, tx, Around::Containers(&started_or_stopped)).await?;
        Ok(writes.into_iter().map(|w| w.changes).collect())
    }
}

/// Writes `observed` at `now`: one `UPDATE … FROM (VALUES …)` per many containers.
async fn write_observed(tx: &mut Tx, observed: &[Observed], now: i64) -> Result<(), StoreError> {
    // Each row's parameters; cpu_percent's -1 is NULL (`codec::opt_float`).
    let columns = ["?", "?", "?", "?", "?", "?", "?", "?", "NULLIF(?, -1)", "?"];
    for chunk in observed.chunks(rows_per_statement(tx, columns.len())) {
        let sql = format!(
            "UPDATE containers SET status = v.column2, status_reason = v.column3, runtime_id = COALESCE(v.column4, containers.runtime_id),
             exit_code = v.column5, updated_at = v.column6, health = v.column7, health_reason = v.column8, cpu_percent = v.column9,
             observed_at = v.column10 FROM (VALUES {}) AS v WHERE containers.id = v.column1",
            value_rows_of(chunk.len(), &columns)
        );
        let mut query = crate::codec::batch_query(sql);
        for o in chunk {
            query = query
                .bind(o.id.to_string())
                .bind(o.status.as_str())
                .bind(o.reason.clone())
                .bind(o.runtime_id.clone())
                .bind(o.exit_code)
                .bind(now)
                .bind(o.health.as_str())
                .bind(o.health.reason().to_owned())
                .bind(opt_float(o.cpu_percent))
                .bind(o.observed_at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
