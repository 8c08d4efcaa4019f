//! `/v1/jobs` and `/v1/routings` through the real HTTP API, on both backends: admins list, filter,
//! show and redo jobs; others are refused; a user finds the region of their own project's ids only.

use flotilla_api::ListQuery;
use flotilla_api::region::{JobFilter, RoutingFilter};
use flotilla_core::Role;
use flotilla_testkit::{Backend, TestRegion};
use std::time::Duration;

fn status(answer: Result<impl std::fmt::Debug, flotilla_client::ClientError>) -> Option<u16> {
    answer.expect_err("refused").status()
}

async fn jobs_are_listed_shown_and_redone(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let store = region.store().await;
    let (failing, waiting) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    store.enqueue_job("probe", failing, None).await.unwrap();
    store.enqueue_job("probe", waiting, None).await.unwrap();
    let runner = uuid::Uuid::now_v7();
    let claimed = store.claim_jobs(runner, &["probe"], 1, Duration::from_secs(60)).await.unwrap().remove(0);
    assert_eq!(claimed.resource_id, failing);
    store.fail_job(&claimed, "the far side said no", None).await.unwrap();

    let admin = &region.admin;
    let all = admin.list_jobs(&ListQuery::default(), &JobFilter::default()).await.unwrap();
    assert_eq!(all.jobs.len(), 2);
    let failed = admin.list_jobs(&ListQuery::default(), &JobFilter { status: Some("fail".into()), ..Default::default() }).await.unwrap();
    assert_eq!(failed.jobs.len(), 1);
    let job = &failed.jobs[0];
    assert_eq!((job.status.as_str(), job.attempts, job.last_error.as_deref()), ("FAIL", 1, Some("the far side said no")));
    let by_resource = JobFilter { resource_id: Some(waiting), job_type: Some("probe".into()), ..Default::default() };
    let found = admin.list_jobs(&ListQuery::default(), &by_resource).await.unwrap().jobs;
    assert_eq!(found.iter().map(|j| (j.resource_id, j.status.as_str())).collect::<Vec<_>>(), [(waiting, "NEW")]);
    let page = admin.list_jobs(&ListQuery { limit: Some(1), ..Default::default() }, &JobFilter::default()).await.unwrap();
    assert_eq!((page.jobs.len(), page.next.as_deref()), (1, Some(all.jobs[0].id.to_string().as_str())), "paginated");

    let shown = admin.job(&job.id.to_string()).await.unwrap();
    assert_eq!(shown.id, job.id);
    let redone = admin.redo_job(&job.id.to_string()).await.unwrap();
    assert_eq!((redone.status.as_str(), redone.attempts), ("NEW", 0));
    assert!(redone.run_after <= chrono::Utc::now());
    let again = store.claim_jobs(runner, &["probe"], 10, Duration::from_secs(60)).await.unwrap();
    assert!(again.iter().any(|j| j.id == job.id), "the redone job runs again");
    assert_eq!(status(admin.redo_job(&job.id.to_string()).await), Some(409), "a RUNNING job is not redone");

    let bad = admin.list_jobs(&ListQuery::default(), &JobFilter { status: Some("DONE".into()), ..Default::default() }).await;
    let bad = bad.expect_err("an unknown status");
    assert_eq!(bad.status(), Some(400));
    assert!(bad.to_string().contains("status") && bad.to_string().contains("DONE"), "{bad}");
    assert_eq!(status(admin.job("not-an-id").await), Some(404));
    assert_eq!(status(admin.redo_job(&uuid::Uuid::now_v7().to_string()).await), Some(404));

    let member = region.add_user("mia", "team", Role::Member).await;
    assert_eq!(status(member.list_jobs(&ListQuery::default(), &JobFilter::default()).await), Some(403));
    assert_eq!(status(member.job(&job.id.to_string()).await), Some(403));
    assert_eq!(status(member.redo_job(&job.id.to_string()).await), Some(403));
}

async fn routings_are_seen_by_admins_and_their_owners(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let member = region.add_user("mia", "team", Role::Member).await;
    let team = member.current_token().await.unwrap().project.id;
    let store = region.store().await;
    let (mine, theirs) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let east = uuid::Uuid::now_v7();
    let upsert =
        [(mine, "container".to_owned(), flotilla_core::ProjectId(team)), (theirs, "volume".to_owned(), flotilla_core::ProjectId::new())];
    store.apply_routings(east, "east", &upsert, &[]).await.unwrap();

    let routing = member.routing(&mine.to_string()).await.unwrap();
    assert_eq!((routing.region.as_str(), routing.resource_type.as_str()), ("east", "container"));
    assert_eq!(status(member.routing(&theirs.to_string()).await), Some(404), "another project's id is not confirmed");
    assert_eq!(status(member.routing("nonsense").await), Some(404));
    assert_eq!(status(member.list_routings(&ListQuery::default(), &RoutingFilter::default()).await), Some(403));

    let admin = &region.admin;
    assert_eq!(admin.routing(&theirs.to_string()).await.unwrap().resource_type, "volume");
    let volumes = RoutingFilter { resource_type: Some("volume".into()), ..Default::default() };
    assert_eq!(admin.list_routings(&ListQuery::default(), &volumes).await.unwrap().routings.len(), 1);
    let in_team = RoutingFilter { project_id: Some(team), region: Some("east".into()), ..Default::default() };
    let listed = admin.list_routings(&ListQuery::default(), &in_team).await.unwrap().routings;
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), [mine]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_sqlite() {
    jobs_are_listed_shown_and_redone(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_postgres() {
    jobs_are_listed_shown_and_redone(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routings_on_sqlite() {
    routings_are_seen_by_admins_and_their_owners(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routings_on_postgres() {
    routings_are_seen_by_admins_and_their_owners(Backend::Postgres).await;
}
