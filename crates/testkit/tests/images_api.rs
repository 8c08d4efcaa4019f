//! Scenario tests of image uploads through the real HTTP API: streamed archives checked against
//! their sha256 and the size limit, tags read from `manifest.json`, visibility, quota, deletion.

use flotilla_api::{ContainerCreate, DeleteQuery, EventFilter, ImageUploadQuery, ListQuery, QuotaLimits};
use flotilla_client::ClientError;
use flotilla_core::Role;
use flotilla_core::profile::ContainerProperties;
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_until};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Largest archive the test region accepts.
const LIMIT: u64 = 2 * 1024 * 1024;

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("the call must fail");
    (error.status().expect("an HTTP answer"), error.to_string())
}

/// A `docker save`-shaped archive tagged `tag`, padded with `padding` bytes of layer.
fn archive(dir: &Path, tag: &str, padding: usize) -> PathBuf {
    flotilla_testkit::image_archive(dir, tag, padding).0
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Files left in the region's image directory that are not finished archives.
fn partial_uploads(data_dir: &Path) -> Vec<String> {
    let dir = data_dir.join("images");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".upload"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_limited_scoped_and_counted() {
    let region = TestRegion::start_with(Backend::Sqlite, |c| c.image_size_limit = LIMIT).await.expect("sqlite");
    let tmp = tempfile::tempdir().unwrap();
    let team = region.add_user("ann", "team", Role::Member).await;
    let other = region.add_user("bob", "other", Role::Member).await;
    let plain = ImageUploadQuery::default();

    let app = archive(tmp.path(), "team/app:1", 1000);
    let image = team.upload_image(&app, &plain, |_| {}).await.expect("upload");
    assert_eq!(image.name, "team/app:1");
    assert_eq!(image.tags, vec!["team/app:1".to_owned()]);
    assert_eq!(image.sha256, sha256_of(&app));
    assert_eq!(image.size_bytes, std::fs::metadata(&app).unwrap().len());
    assert!(image.docker_id.starts_with("sha256:"), "{}", image.docker_id);
    assert_eq!(status(team.upload_image(&app, &plain, |_| {}).await).0, 409, "one name once per project");
    let named = ImageUploadQuery { name: Some("team/app:copy".into()), public: None };
    assert_eq!(team.upload_image(&app, &named, |_| {}).await.expect("same archive, another name").sha256, image.sha256);

    // A retried upload with the same Idempotency-Key answers the first result; the archive is
    // streamed, not buffered, so one bigger than any JSON body (1 MiB) is fine.
    let retried = archive(tmp.path(), "team/retried:1", 1536 * 1024);
    let keyed = team.with_idempotency_key("upload-1");
    let first = keyed.upload_image(&retried, &plain, |_| {}).await.expect("upload");
    let again = keyed.upload_image(&retried, &plain, |_| {}).await.expect("replayed, not a 409");
    assert_eq!(again.id, first.id);
    team.delete_image("team/retried:1").await.expect("delete");
    let about = EventFilter { object: Some("team/retried:1".into()), ..Default::default() };
    let logged = team.list_events(&ListQuery::default(), &about).await.expect("events");
    let actions: Vec<String> = logged.events.into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["IMAGE_UPLOAD", "IMAGE_DELETE"], "a replayed upload is not logged twice");

    // Private to its project; public images (admins only) are seen by everyone.
    assert_eq!(status(other.image("team/app:1").await).0, 404);
    let public = ImageUploadQuery { name: None, public: Some(true) };
    let shared = archive(tmp.path(), "library/shared:1", 10);
    assert_eq!(status(team.upload_image(&shared, &public, |_| {}).await).0, 403);
    region.admin.upload_image(&shared, &public, |_| {}).await.expect("admins publish");
    let seen = other.list_images(&ListQuery::default()).await.expect("list");
    assert_eq!(seen.images.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), vec!["library/shared:1"]);

    // Too big: 413, and no partial file stays behind.
    let big = archive(tmp.path(), "team/big:1", LIMIT as usize);
    let (code, message) = status(team.upload_image(&big, &plain, |_| {}).await);
    assert_eq!(code, 413, "{message}");
    assert!(partial_uploads(&region.data_dir()).is_empty());

    // A body that is not what its checksum header says, or not an archive at all: 400.
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{}/v1/images", region.url))
        .header("x-auth-token", team_token(&region).await)
        .header("content-type", "application/x-tar")
        .header(flotilla_api::IMAGE_SHA256_HEADER, "00ff")
        .body(std::fs::read(&app).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert!(answer.text().await.unwrap().contains("x-image-sha256"));
    let junk = tmp.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    let (code, message) = status(team.upload_image(&junk, &plain, |_| {}).await);
    assert_eq!(code, 400);
    assert!(message.contains("docker save"), "{message}");

    // Image bytes count against the quota.
    let used = team.quota("team").await.expect("quota").usage.image_bytes;
    assert_eq!(used, 2 * image.size_bytes);
    let limits = QuotaLimits { containers: -1, cpu_millis: -1, memory_mib: -1, image_bytes: used as i64 + 10, networks: -1, ports: -1 };
    region.admin.set_quota("team", &limits).await.expect("set quota");
    let (code, message) = status(team.upload_image(&archive(tmp.path(), "team/more:1", 100), &plain, |_| {}).await);
    assert_eq!(code, 403);
    assert!(message.contains("quota exceeded for image_bytes"), "{message}");

    // An image in use cannot go; once its containers are gone it can.
    let agent = region.sim_agent(SimHost::new("h")).await;
    let spec = ContainerProperties { image: "team/app:1".into(), ..Default::default() };
    team.create_container(&ContainerCreate { name: "c".into(), spec, run: true, metadata: Default::default() }).await.expect("run");
    let (code, message) = status(team.delete_image("team/app:1").await);
    assert_eq!(code, 409, "{message}");
    team.delete_container("c", &DeleteQuery { stop: None, force: Some(true) }).await.expect("delete");
    wait_until("the container is gone", || async { team.container("c").await.is_err() }).await;
    team.delete_image("team/app:1").await.expect("delete image");
    team.delete_image("team/app:copy").await.expect("delete the copy");
    assert!(!region.data_dir().join("images").join(format!("{}.tar", image.sha256)).exists(), "the archive goes with its last image");
    agent.shutdown().await;
    region.stop().await;
}

async fn team_token(region: &TestRegion) -> String {
    let body = flotilla_api::TokenCreate {
        user: "ann".into(),
        password: flotilla_testkit::USER_PASSWORD.into(),
        project: Some("team".into()),
        expires_in: None,
    };
    region.anonymous().create_token(&body).await.expect("token").token.expect("secret")
}
