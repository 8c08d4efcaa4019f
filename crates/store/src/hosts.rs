//! Hosts and join tokens: registration, heartbeats, liveness, the operator's switches, revisions.

use crate::codec::{get_bool, get_id, get_json, get_name, get_opt_id, get_time, millis, now_millis, to_json};
use crate::list::Filter;
use crate::{Backend, Store, StoreError};
use flotilla_core::container::{ContainerStatus, StatusChange};
use flotilla_core::host::{Host, Schedulable, Utilisation};
use flotilla_core::scheduler::{HostState, Resources};
use flotilla_core::{HostId, JoinTokenId, ListParams, Page, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;

/// A host's revision and credential (`Store::host_revisions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRevision {
    pub host: HostId,
    pub revision: u64,
    /// The digest of its agent's credential; `None` before its first join completes.
    pub credential_digest: Option<String>,
}

/// What an agent tells about itself when it joins.
#[derive(Debug, Clone)]
pub struct HostRegistration {
    pub name: String,
    pub zone: String,
    pub pool: String,
    pub labels: BTreeMap<String, String>,
    pub runtime: String,
    pub advertise: String,
    pub capacity: Resources,
    /// The agent's callback certificate (PEM), which the server pins: public, not a secret.
    pub certificate: String,
    /// Where other hosts' VXLAN packets reach this one; `None`: no overlay on this host.
    pub tunnel_address: Option<Ipv4Addr>,
    /// The agent's version (its binary's).
    pub agent_version: String,
}

/// One heartbeat of a host's agent, as the server received it.
#[derive(Debug, Clone)]
pub struct HostHeartbeat {
    pub host: HostId,
    pub capacity: Resources,
    pub utilisation: Utilisation,
    pub images: Vec<String>,
    pub agent_version: String,
    /// When it arrived: what liveness is judged by.
    pub at: Timestamp,
}

/// What vouches for a join: a valid join token (and the host it may replace), the digest of the
/// host credential the agent presented.
#[derive(Debug, Clone, Default)]
pub struct JoinProof {
    pub token: Option<JoinGrant>,
    pub credential_digest: Option<String>,
}

/// A valid join token: it admits new hosts, or takes over the one host it was issued to replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinGrant {
    pub replaces: Option<HostId>,
}

/// A host that joined, and whether it kept the credential it presented (else it gets a new one).
#[derive(Debug, Clone)]
pub struct Registered {
    pub host: Host,
    pub credential_kept: bool,
}

/// How the server reaches a host's agent: its URL and the certificate it must present.
#[derive(Debug, Clone)]
pub struct Callback {
    pub advertise: String,
    pub certificate: String,
}

/// A non-negative count column (negatives read as 0).
pub(crate) fn int(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
}

pub(crate) fn decode(row: &AnyRow) -> Result<Host, StoreError> {
    let schedulable: String = row.try_get("schedulable")?;
    let last_heartbeat: Option<i64> = row.try_get("last_heartbeat")?;
    Ok(Host {
        id: get_id(row, "id")?,
        name: row.try_get("name")?,
        zone: row.try_get("zone")?,
        pool: row.try_get("pool")?,
        labels: get_json(row, "labels")?,
        runtime: row.try_get("runtime")?,
        advertise: row.try_get("advertise")?,
        capacity: Resources { cpu_millis: int(row, "cpu_millis")?, memory_mib: int(row, "memory_mib")?, disk_mib: int(row, "disk_mib")? },
        allocated: Resources { cpu_millis: int(row, "alloc_cpu_millis")?, memory_mib: int(row, "alloc_memory_mib")?, disk_mib: 0 },
        container_count: int(row, "container_count")?,
        utilisation: Utilisation { cpu_percent: row.try_get("cpu_percent")?, memory_used_mib: int(row, "memory_used_mib")? },
        schedulable: Schedulable::parse(&schedulable).ok_or_else(|| StoreError::Corrupt(format!("schedulable = {schedulable:?}")))?,
        alive: get_bool(row, "alive")?,
        last_heartbeat: last_heartbeat.and_then(chrono::DateTime::from_timestamp_millis),
        images: get_json(row, "images")?,
        revision: int(row, "revision")?,
        tunnel_address: row
            .try_get::<Option<String>, _>("tunnel_address")?
            .map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("tunnel_address = {t:?}"))))
            .transpose()?,
        agent_version: row.try_get("agent_version")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// The change of a container (`id, name, project_id, status` of `row`) that goes UNKNOWN for `reason`.
fn unknown_now(row: &AnyRow, reason: &str) -> Result<StatusChange, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(StatusChange {
        id: get_id(row, "id")?,
        name: get_name(row)?,
        project_id: get_id(row, "project_id")?,
        from: ContainerStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status = {status:?}")))?,
        to: ContainerStatus::Unknown,
        reason: reason.to_owned(),
    })
}

/// Bumps the revision agents long-poll on; called in every transaction that changes a host's set.
/// It is a row of its own (`host_revisions`), so heartbeats, which write the host's row, never
/// wait for a transaction that changed the host's set.
pub(crate) async fn bump_revision(tx: &mut sqlx::Transaction<'static, sqlx::Any>, host: &str) -> Result<(), StoreError> {
    bump_revisions(tx, &BTreeSet::from([host.to_owned()])).await
}

/// Bumps the revisions of `hosts` (in id order, each once): a lock and an `UPDATE` per many.
pub(crate) async fn bump_revisions(tx: &mut sqlx::Transaction<'static, sqlx::Any>, hosts: &BTreeSet<String>) -> Result<(), StoreError> {
    let hosts: Vec<String> = hosts.iter().cloned().collect();
    for chunk in hosts.chunks(crate::codec::rows_per_statement(tx, 1)) {
        // One row needs no order; several are locked in id order first (see `lock_in_order`).
        if chunk.len() > 1 {
            crate::crud::lock_in_order(tx, "host_revisions", "host_id", chunk).await?;
        }
        let sql = format!("UPDATE host_revisions SET revision = revision + 1 WHERE host_id IN ({})", crate::codec::in_list(chunk.len()));
        crate::codec::bind_all(sqlx::query(AssertSqlSafe(sql)), chunk.iter().cloned()).execute(&mut **tx).await?;
    }
    Ok(())
}

impl Store {
    /// Stores a join token's digest; with `replaces`, the token may take over that host only.
    pub async fn create_join_token(
        &self,
        id: JoinTokenId,
        digest: &str,
        expires_at: Timestamp,
        replaces: Option<HostId>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO join_tokens (id, digest, expires_at, created_at, replaces) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(digest.to_owned())
            .bind(millis(expires_at))
            .bind(now_millis())
            .bind(replaces.map(|h| h.to_string()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The join token with this digest, unless unknown or expired.
    pub async fn join_grant(&self, digest: &str) -> Result<Option<JoinGrant>, StoreError> {
        let row = sqlx::query("SELECT replaces FROM join_tokens WHERE digest = $1 AND expires_at > $2")
            .bind(digest.to_owned())
            .bind(now_millis())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok(JoinGrant { replaces: get_opt_id(&row, "replaces")? })).transpose()
    }

    /// Registers a host under a free name, or joins the host of that name again (same id, its
    /// containers) when `proof` shows its current credential (kept), a token issued to replace it,
    /// or a token while it has no certificate on record (it joined before hosts kept one); a
    /// replacing token is spent. A taken name is a conflict; no proof at all is unauthenticated.
    /// `fresh_digest` is the digest of the credential handed out when the presented one is not kept.
    pub async fn register_host(&self, reg: HostRegistration, proof: JoinProof, fresh_digest: &str) -> Result<Registered, StoreError> {
        let mut w = self.begin_write().await?;
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE" } else { "" };
        let existing = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, credential_digest, agent_certificate, tunnel_address FROM hosts WHERE name = $1{lock}"
        )))
        .bind(reg.name.clone())
        .fetch_optional(&mut *w.tx)
        .await?;
        let now = now_millis();
        let tunnel = reg.tunnel_address.map(|t| t.to_string());
        let tunnel_moved = match &existing {
            Some(row) => row.try_get::<Option<String>, _>("tunnel_address")? != tunnel,
            None => false,
        };
        let (id, digest, credential_kept) = match existing {
            None => {
                let Some(grant) = proof.token else { return Err(StoreError::Unauthenticated("join token is invalid or expired".into())) };
                if grant.replaces.is_some() {
                    return Err(StoreError::Conflict("this join token replaces another host: join under that host's name".into()));
                }
                let id = HostId::new().to_string();
                sqlx::query(
                    "INSERT INTO hosts (id, name, zone, pool, labels, runtime, advertise, agent_certificate, credential_digest,
                     cpu_millis, memory_mib, disk_mib, cpu_percent, memory_used_mib, schedulable, alive, last_heartbeat, images,
                     created_at, updated_at)
                     VALUES ($1, $2, '', '', '{}', '', '', '', $3, 0, 0, 0, 0.0, 0, 'enabled', 1, $4, '[]', $4, $4)",
                )
                .bind(id.clone())
                .bind(reg.name.clone())
                .bind(fresh_digest.to_owned())
                .bind(now)
                .execute(&mut *w.tx)
                .await
                .map_err(StoreError::on_insert("host", &reg.name))?;
                sqlx::query("INSERT INTO host_revisions (host_id, revision) VALUES ($1, 0)").bind(id.clone()).execute(&mut *w.tx).await?;
                (id, fresh_digest.to_owned(), false)
            }
            Some(row) => {
                let id: String = row.try_get("id")?;
                let current: String = row.try_get("credential_digest")?;
                let certificate: String = row.try_get("agent_certificate")?;
                if proof.credential_digest.as_deref() == Some(current.as_str()) {
                    (id, current, true)
                } else if let Some(grant) = proof.token {
                    let replaces = grant.replaces.map(|h| h.to_string());
                    if replaces.as_deref() != Some(id.as_str()) && !certificate.is_empty() {
                        return Err(StoreError::Conflict(format!(
                            "host {} has joined already: its agent joins again with the credential it saved (--state-dir); \
                             to put another machine in its place, an admin issues `flotilla host join-token --replace {}`",
                            reg.name, reg.name
                        )));
                    }
                    sqlx::query("DELETE FROM join_tokens WHERE replaces = $1").bind(id.clone()).execute(&mut *w.tx).await?;
                    (id, fresh_digest.to_owned(), false)
                } else {
                    return Err(StoreError::Unauthenticated(format!(
                        "the join token is invalid or expired and the credential is not host {}'s",
                        reg.name
                    )));
                }
            }
        };
        let moved = if tunnel_moved {
            let host: HostId = id.parse().map_err(|_| StoreError::Corrupt(format!("host id = {id:?}")))?;
            // Peers that reached it at its old address (woken again below for the new one).
            crate::overlay::wake_peers(self, &mut w.tx, crate::overlay::Around::Host(host)).await?;
            Some(host)
        } else {
            None
        };
        sqlx::query(
            "UPDATE hosts SET zone = $2, pool = $3, labels = $4, runtime = $5, advertise = $6, agent_certificate = $7,
             credential_digest = $8, cpu_millis = $9, memory_mib = $10, disk_mib = $11, alive = 1, last_heartbeat = $12,
             updated_at = $12, tunnel_address = $13, agent_version = $14 WHERE id = $1",
        )
        .bind(id.clone())
        .bind(reg.zone)
        .bind(reg.pool)
        .bind(to_json(&reg.labels))
        .bind(reg.runtime)
        .bind(reg.advertise)
        .bind(reg.certificate)
        .bind(digest)
        .bind(reg.capacity.cpu_millis as i64)
        .bind(reg.capacity.memory_mib as i64)
        .bind(reg.capacity.disk_mib as i64)
        .bind(now)
        .bind(tunnel)
        .bind(reg.agent_version)
        .execute(&mut *w.tx)
        .await?;
        bump_revision(&mut w.tx, &id).await?;
        if let Some(host) = moved {
            crate::overlay::wake_peers(self, &mut w.tx, crate::overlay::Around::Host(host)).await?;
        }
        w.tx.commit().await?;
        Ok(Registered { host: self.host(&id).await?, credential_kept })
    }

    /// The host holding this credential: one indexed read of its id (every agent call asks).
    pub async fn host_by_credential(&self, digest: &str) -> Result<HostId, StoreError> {
        let row = sqlx::query("SELECT id FROM hosts WHERE credential_digest = $1")
            .bind(digest.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "host credential", key: "(hidden)".into() })?;
        get_id(&row, "id")
    }

    /// The names of the hosts of `ids` that exist, in a statement per 256.
    pub async fn host_names_of(&self, ids: &[HostId]) -> Result<HashMap<HostId, String>, StoreError> {
        let ids: Vec<String> = ids.iter().collect::<BTreeSet<_>>().into_iter().map(ToString::to_string).collect();
        let mut names = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(256) {
            let sql = format!("SELECT id, name FROM hosts WHERE id IN ({})", crate::codec::in_list(chunk.len()));
            for row in crate::codec::bind_all(sqlx::query(AssertSqlSafe(sql)), chunk.iter().cloned()).fetch_all(&self.pool).await? {
                names.insert(get_id(&row, "id")?, row.try_get("name")?);
            }
        }
        Ok(names)
    }

    /// The host whose id or name is `key`.
    pub async fn host(&self, key: &str) -> Result<Host, StoreError> {
        decode(&self.find_one("host", "host_view", None, key).await?)
    }

    pub async fn host_callback(&self, id: HostId) -> Result<Callback, StoreError> {
        let row = sqlx::query("SELECT advertise, agent_certificate FROM hosts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "host", key: id.to_string() })?;
        Ok(Callback { advertise: row.try_get("advertise")?, certificate: row.try_get("agent_certificate")? })
    }

    /// Hosts, optionally only those named `name` or in `state` (`UP`, `DOWN`, `DRAINING`, `DISABLED`).
    pub async fn list_hosts(&self, name: Option<&str>, state: Option<HostState>, params: &ListParams) -> Result<Page<Host>, StoreError> {
        let mut filters = Vec::new();
        if let Some(name) = name {
            filters.push(Filter::eq("name", name));
        }
        // A host's state is its liveness and what the operator decided (`Host::state`).
        let schedulable = match state {
            None | Some(HostState::Down) => None,
            Some(HostState::Up) => Some(Schedulable::Enabled),
            Some(HostState::Disabled) => Some(Schedulable::Disabled),
            Some(HostState::Draining) => Some(Schedulable::Draining),
        };
        if let Some(state) = state {
            filters.push(Filter::eq_int("alive", i64::from(state != HostState::Down)));
        }
        if let Some(schedulable) = schedulable {
            filters.push(Filter::eq("schedulable", schedulable.as_str()));
        }
        self.list_labelled("host_view", "labels", filters, params, decode).await
    }

    /// Records heartbeats (each with the agent's version) in one transaction, a few statements
    /// per many hosts (their rows are held for a few round trips); answers the hosts that were
    /// DOWN until now. A heartbeat of a host removed meanwhile changes nothing; of two beats of one
    /// host, the later counts.
    pub async fn record_heartbeats(&self, beats: &[HostHeartbeat]) -> Result<Vec<HostId>, StoreError> {
        // In host order: one order for every writer, so two servers' batches never wait on each
        // other in a cycle.
        let beats: BTreeMap<HostId, &HostHeartbeat> = beats.iter().map(|beat| (beat.host, beat)).collect();
        let mut w = self.begin_write().await?;
        let down: HashSet<String> = sqlx::query("SELECT id FROM hosts WHERE alive = 0")
            .fetch_all(&mut *w.tx)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        let beats: Vec<&HostHeartbeat> = beats.into_values().collect();
        for chunk in beats.chunks(crate::codec::rows_per_statement(&w.tx, 9)) {
            let ids: Vec<String> = chunk.iter().map(|beat| beat.host.to_string()).collect();
            crate::crud::lock_in_order(&mut w.tx, "hosts", "id", &ids).await?;
            let sql = format!(
                "UPDATE hosts SET cpu_millis = v.column2, memory_mib = v.column3, disk_mib = v.column4, cpu_percent = v.column5,
                 memory_used_mib = v.column6, images = v.column7, alive = 1, last_heartbeat = v.column8, agent_version = v.column9
                 FROM (VALUES {}) AS v WHERE hosts.id = v.column1",
                crate::codec::value_rows(chunk.len(), 9)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (beat, id) in chunk.iter().zip(ids) {
                query = query
                    .bind(id)
                    .bind(beat.capacity.cpu_millis as i64)
                    .bind(beat.capacity.memory_mib as i64)
                    .bind(beat.capacity.disk_mib as i64)
                    .bind(beat.utilisation.cpu_percent)
                    .bind(beat.utilisation.memory_used_mib as i64)
                    .bind(to_json(&beat.images))
                    .bind(millis(beat.at))
                    .bind(beat.agent_version.clone());
            }
            query.execute(&mut *w.tx).await?;
        }
        let back: Vec<HostId> = beats.iter().map(|beat| beat.host).filter(|host| down.contains(&host.to_string())).collect();
        for host in &back {
            bump_revision(&mut w.tx, &host.to_string()).await?;
        }
        w.tx.commit().await?;
        Ok(back)
    }

    pub async fn set_schedulable(&self, id: HostId, schedulable: Schedulable) -> Result<Host, StoreError> {
        let done = sqlx::query("UPDATE hosts SET schedulable = $2, updated_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(schedulable.as_str())
            .bind(now_millis())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "host", key: id.to_string() });
        }
        self.host(&id.to_string()).await
    }

    /// Deletes a host that holds no container.
    pub async fn delete_host(&self, id: HostId) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM containers WHERE host_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *w.tx)
            .await?;
        let count: i64 = row.try_get("n")?;
        if count > 0 {
            return Err(StoreError::Conflict(format!("host still holds {count} containers: drain it with --migrate or delete them first")));
        }
        let done = sqlx::query("DELETE FROM hosts WHERE id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { kind: "host", key: id.to_string() });
        }
        sqlx::query("DELETE FROM host_tallies WHERE host_id = $1").bind(id.to_string()).execute(&mut *w.tx).await?;
        w.tx.commit().await?;
        Ok(())
    }

    /// Declares DOWN every live host silent since before `cutoff`; their containers become UNKNOWN.
    /// Answers each host with the status changes of its containers.
    pub async fn mark_silent_hosts_down(&self, cutoff: Timestamp) -> Result<Vec<(Host, Vec<StatusChange>)>, StoreError> {
        let mut w = self.begin_write().await?;
        let rows = sqlx::query("SELECT id, name FROM hosts WHERE alive = 1 AND (last_heartbeat IS NULL OR last_heartbeat < $1)")
            .bind(millis(cutoff))
            .fetch_all(&mut *w.tx)
            .await?;
        let now = now_millis();
        let mut down = Vec::new();
        for row in &rows {
            let id: String = row.try_get("id")?;
            let name: String = row.try_get("name")?;
            sqlx::query("UPDATE hosts SET alive = 0, updated_at = $2 WHERE id = $1").bind(id.clone()).bind(now).execute(&mut *w.tx).await?;
            let reason = format!("host {name} is DOWN: no heartbeat");
            const AFFECTED: &str = "host_id = $1 AND desired != 'deleted' AND status NOT IN ('ERROR', 'UNKNOWN')";
            let affected = sqlx::query(AssertSqlSafe(format!("SELECT id, name, project_id, status FROM containers WHERE {AFFECTED}")))
                .bind(id.clone())
                .fetch_all(&mut *w.tx)
                .await?;
            let changes = affected.iter().map(|c| unknown_now(c, &reason)).collect::<Result<Vec<_>, _>>()?;
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE containers SET status = 'UNKNOWN', status_reason = $2, health = '', health_reason = '', cpu_percent = NULL,
                 updated_at = $3 WHERE {AFFECTED}"
            )))
            .bind(id.clone())
            .bind(reason)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
            down.push((id, changes));
        }
        w.tx.commit().await?;
        let mut hosts = Vec::with_capacity(down.len());
        for (id, changes) in down {
            hosts.push((self.host(&id).await?, changes));
        }
        Ok(hosts)
    }

    /// Every host's revision and credential, in one read: how a server learns which hosts another
    /// server changed, and whose credential it replaced.
    pub async fn host_revisions(&self) -> Result<Vec<HostRevision>, StoreError> {
        let rows =
            sqlx::query("SELECT r.host_id AS id, r.revision, h.credential_digest FROM host_revisions r JOIN hosts h ON h.id = r.host_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(HostRevision {
                    host: get_id(row, "id")?,
                    revision: int(row, "revision")?,
                    credential_digest: row.try_get("credential_digest")?,
                })
            })
            .collect()
    }

    pub async fn host_revision(&self, id: HostId) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT revision FROM host_revisions WHERE host_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound { kind: "host", key: id.to_string() })?;
        int(&row, "revision")
    }
}
