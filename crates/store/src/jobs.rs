//! Jobs, the background work queue of cross-region calls: enqueue inside the caller's write
//! (coalesced per type and resource), claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
//! writer on SQLite; RUNNING jobs past their expiry are taken over), finish, retry later, redo.

use crate::codec::{get_id, get_opt_id, get_opt_time, get_time, millis, now_millis};
use crate::list::{Filter, Order};
use crate::{Backend, Store, StoreError, Tx};
use flotilla_core::{ListParams, Page, ProjectId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;
use uuid::Uuid;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting to run (again) from `run_after` on.
    New,
    Running,
    Success,
    /// Out of attempts, or failed for good: waits for an admin's redo.
    Fail,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::New => "NEW",
            JobStatus::Running => "RUNNING",
            JobStatus::Success => "SUCCESS",
            JobStatus::Fail => "FAIL",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        Some(match text {
            "NEW" => JobStatus::New,
            "RUNNING" => JobStatus::Running,
            "SUCCESS" => JobStatus::Success,
            "FAIL" => JobStatus::Fail,
            _ => return None,
        })
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub job_type: String,
    pub resource_id: Uuid,
    pub project_id: Option<ProjectId>,
    pub status: JobStatus,
    /// Runs begun so far (a claim counts one).
    pub attempts: u32,
    pub last_error: Option<String>,
    pub run_after: Timestamp,
    /// The runner that claimed it last, and when.
    pub claimed_by: Option<Uuid>,
    pub claimed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Filters of a job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilters<'a> {
    pub status: Option<JobStatus>,
    pub job_type: Option<&'a str>,
    pub resource_id: Option<Uuid>,
}

fn decode(row: &AnyRow) -> Result<Job, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Job {
        id: get_id(row, "id")?,
        job_type: row.try_get("job_type")?,
        resource_id: get_id(row, "resource_id")?,
        project_id: get_opt_id(row, "project_id")?,
        status: JobStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("job status = {status:?}")))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        last_error: row.try_get("last_error")?,
        run_after: get_time(row, "run_after")?,
        claimed_by: get_opt_id(row, "claimed_by")?,
        claimed_at: get_opt_time(row, "claimed_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

/// `WHERE` of a row still held by the claim `job` was answered with: a job taken over since, or
/// claimed again, is no longer its claimer's to finish.
const CLAIMED: &str = "id = $1 AND status = 'RUNNING' AND claimed_by = $2 AND attempts = $3";

fn bind_claim<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    job: &Job,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query.bind(job.id.to_string()).bind(job.claimed_by.map(|r| r.to_string())).bind(i64::from(job.attempts))
}

impl Store {
    /// Queues a `job_type` job for `resource_id` inside the caller's write `tx`, so that it is
    /// written with the change that needs it or not at all. While a NEW job of that type and
    /// resource waits, this adds nothing (it will see the change too); a RUNNING one gets one
    /// follow-up. Answers whether a job was added. The runner is woken.
    pub(crate) async fn enqueue(
        &self,
        tx: &mut Tx,
        job_type: &str,
        resource_id: Uuid,
        project: Option<ProjectId>,
    ) -> Result<bool, StoreError> {
        let now = now_millis();
        let done = sqlx::query(
            "INSERT INTO jobs (id, job_type, resource_id, project_id, status, attempts, run_after, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'NEW', 0, $5, $5, $5)
             ON CONFLICT (job_type, resource_id) WHERE status = 'NEW' DO NOTHING",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(job_type.to_owned())
        .bind(resource_id.to_string())
        .bind(project.map(|p| p.to_string()))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        self.jobs_waker.notify_one();
        Ok(done.rows_affected() == 1)
    }

    /// [`enqueue`](Self::enqueue) in a transaction of its own, for work no other write goes with.
    pub async fn enqueue_job(&self, job_type: &str, resource_id: Uuid, project: Option<ProjectId>) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let added = self.enqueue(&mut w.tx, job_type, resource_id, project).await?;
        w.tx.commit().await?;
        Ok(added)
    }

    /// Notified whenever a job is queued through this store: a runner waits on it between polls.
    pub fn jobs_waker(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.jobs_waker.clone()
    }

    /// Claims up to `limit` jobs of `types` for `runner`: NEW ones that are due and whose type and
    /// resource no other job is running, and RUNNING ones claimed longer than `expiry` ago (their
    /// runner is presumed dead: taken over). Each claim counts an attempt. No job is claimed twice
    /// at once, and no two jobs of one type and resource run together.
    pub async fn claim_jobs(&self, runner: Uuid, types: &[&str], limit: usize, expiry: Duration) -> Result<Vec<Job>, StoreError> {
        if types.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let placeholders: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "UPDATE jobs SET status = 'RUNNING', claimed_by = $1, claimed_at = $2, attempts = attempts + 1, updated_at = $2
             WHERE id IN (
                SELECT j.id FROM jobs j WHERE j.job_type IN ({types})
                  AND ((j.status = 'NEW' AND j.run_after <= $2 AND NOT EXISTS (
                          SELECT 1 FROM jobs r WHERE r.job_type = j.job_type AND r.resource_id = j.resource_id AND r.status = 'RUNNING'))
                       OR (j.status = 'RUNNING' AND j.claimed_at <= $3))
                ORDER BY j.run_after, j.id LIMIT $4{lock})
             RETURNING *",
            types = placeholders.join(", ")
        );
        let now = now_millis();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(runner.to_string())
            .bind(now)
            .bind(now - expiry.as_millis() as i64)
            .bind(limit as i64);
        for t in types {
            query = query.bind((*t).to_owned());
        }
        let mut w = self.begin_write().await?;
        let rows = query.fetch_all(&mut *w.tx).await?;
        w.tx.commit().await?;
        let mut claimed: Vec<Job> = rows.iter().map(decode).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|j| j.id);
        Ok(claimed)
    }

    /// Ends claimed `job` (as [`claim_jobs`](Self::claim_jobs) answered it) in SUCCESS. False when
    /// it is no longer its claimer's (taken over after its expiry).
    pub async fn complete_job(&self, job: &Job) -> Result<bool, StoreError> {
        let sql = format!("UPDATE jobs SET status = 'SUCCESS', updated_at = $4 WHERE {CLAIMED}");
        let done = bind_claim(sqlx::query(sqlx::AssertSqlSafe(sql)), job).bind(now_millis()).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that claimed `job` failed with `error`: with `retry_after`, it is NEW again from
    /// then on (folded into its follow-up when one already waits, which inherits its attempts and
    /// the later of the two times); without, it ends in FAIL. False when it is no longer its
    /// claimer's.
    pub async fn fail_job(&self, job: &Job, error: &str, retry_after: Option<Duration>) -> Result<bool, StoreError> {
        let now = now_millis();
        let mut w = self.begin_write().await?;
        let held = format!("SELECT id FROM jobs WHERE {CLAIMED}{}", crate::crud::lock_clause(&w.tx));
        if bind_claim(sqlx::query(sqlx::AssertSqlSafe(held)), job).fetch_optional(&mut *w.tx).await?.is_none() {
            return Ok(false);
        }
        let Some(after) = retry_after else {
            sqlx::query("UPDATE jobs SET status = 'FAIL', last_error = $2, updated_at = $3 WHERE id = $1")
                .bind(job.id.to_string())
                .bind(error.to_owned())
                .bind(now)
                .execute(&mut *w.tx)
                .await?;
            w.tx.commit().await?;
            return Ok(true);
        };
        let run_after = now + after.as_millis() as i64;
        let folded = sqlx::query(
            "UPDATE jobs SET attempts = CASE WHEN attempts > $3 THEN attempts ELSE $3 END, last_error = $4,
                run_after = CASE WHEN run_after > $5 THEN run_after ELSE $5 END, updated_at = $6
             WHERE job_type = $1 AND resource_id = $2 AND status = 'NEW'",
        )
        .bind(job.job_type.clone())
        .bind(job.resource_id.to_string())
        .bind(i64::from(job.attempts))
        .bind(error.to_owned())
        .bind(run_after)
        .bind(now)
        .execute(&mut *w.tx)
        .await?;
        if folded.rows_affected() == 1 {
            sqlx::query("DELETE FROM jobs WHERE id = $1").bind(job.id.to_string()).execute(&mut *w.tx).await?;
        } else {
            sqlx::query(
                "UPDATE jobs SET status = 'NEW', last_error = $2, run_after = $3, claimed_by = NULL, claimed_at = NULL, updated_at = $4
                 WHERE id = $1",
            )
            .bind(job.id.to_string())
            .bind(error.to_owned())
            .bind(run_after)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.tx.commit().await?;
        Ok(true)
    }

    /// Puts a FAIL job, or a NEW one waiting out its backoff, back to NEW due now with a fresh
    /// count of attempts (an admin's redo). A RUNNING or SUCCESS job, or a FAIL one whose type
    /// and resource already have a NEW job waiting, is a conflict.
    pub async fn redo_job(&self, id: Uuid) -> Result<Job, StoreError> {
        let mut w = self.begin_write().await?;
        let job = decode(&crate::crud::row_for_update(&mut w.tx, "job", "jobs", &id.to_string()).await?)?;
        if !matches!(job.status, JobStatus::Fail | JobStatus::New) {
            return Err(StoreError::Conflict(format!("job {id} is {}: only a FAIL or NEW job can be redone", job.status.as_str())));
        }
        if job.status == JobStatus::Fail {
            let waiting = sqlx::query("SELECT id FROM jobs WHERE job_type = $1 AND resource_id = $2 AND status = 'NEW'")
                .bind(job.job_type.clone())
                .bind(job.resource_id.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
            if let Some(waiting) = waiting {
                let waiting: String = waiting.try_get("id")?;
                return Err(StoreError::Conflict(format!(
                    "job {waiting} already waits to run {} for {}: redo that one instead",
                    job.job_type, job.resource_id
                )));
            }
        }
        let now = now_millis();
        sqlx::query("UPDATE jobs SET status = 'NEW', attempts = 0, run_after = $2, claimed_by = NULL, claimed_at = NULL, updated_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        self.jobs_waker.notify_one();
        self.job(id).await
    }

    /// Makes every NEW `job_type` job waiting out a backoff due now (what they waited for is
    /// back); answers how many. The runner is woken.
    pub async fn hurry_jobs(&self, job_type: &str) -> Result<u64, StoreError> {
        let now = now_millis();
        let done = sqlx::query("UPDATE jobs SET run_after = $2, updated_at = $2 WHERE job_type = $1 AND status = 'NEW' AND run_after > $2")
            .bind(job_type.to_owned())
            .bind(now)
            .execute(&self.pool)
            .await?;
        self.jobs_waker.notify_one();
        Ok(done.rows_affected())
    }

    pub async fn job(&self, id: Uuid) -> Result<Job, StoreError> {
        decode(&self.find_one("job", "jobs", None, &id.to_string()).await?)
    }

    /// A page of jobs, oldest first.
    pub async fn list_jobs(&self, filters: JobFilters<'_>, params: &ListParams) -> Result<Page<Job>, StoreError> {
        let mut f = Vec::new();
        if let Some(status) = filters.status {
            f.push(Filter::eq("status", status.as_str()));
        }
        if let Some(job_type) = filters.job_type {
            f.push(Filter::eq("job_type", job_type));
        }
        if let Some(resource) = filters.resource_id {
            f.push(Filter::eq("resource_id", resource));
        }
        self.list_ordered("jobs", Order::Id, &f, params, decode).await
    }

    /// Deletes up to `batch` of the jobs that ended in SUCCESS before `before`; answers how many went.
    pub async fn purge_jobs(&self, before: Timestamp, batch: u32) -> Result<u64, StoreError> {
        let mut w = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'SUCCESS' AND updated_at < $1 LIMIT $2)")
            .bind(millis(before))
            .bind(i64::from(batch))
            .execute(&mut *w.tx)
            .await?;
        w.tx.commit().await?;
        Ok(done.rows_affected())
    }
}
