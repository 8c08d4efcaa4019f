//! The dashboard's routes through the real HTTP server: signed out means the sign-in form, a
//! one-time link signs in once, forms without the session's CSRF token are refused, a session
//! ends at sign-out and when its token is revoked, and a user's pages show only their project.

use flotilla_api::ContainerCreate;
use flotilla_client::Client;
use flotilla_core::Role;
use flotilla_core::profile::ContainerProperties;
use flotilla_testkit::browser::{browser, csrf, location, session_cookie};
use flotilla_testkit::{Backend, TestRegion};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

/// Follows a fresh one-time link of `client`; answers the session cookie.
async fn sign_in_by_link(region: &TestRegion, client: &Client) -> String {
    let link = client.create_dashboard_link().await.expect("a dashboard link");
    let answer = browser().get(format!("{}{}", region.url, link.path)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/ui");
    session_cookie(&answer).0
}

async fn page(region: &TestRegion, cookie: &str, path: &str) -> reqwest::Response {
    browser().get(format!("{}{path}", region.url)).header(COOKIE, cookie).send().await.unwrap()
}

fn container(name: &str, cpu: f64) -> ContainerCreate {
    let spec = ContainerProperties { image: "flotilla/workload:latest".into(), cpu: Some(cpu), memory: Some(16), ..Default::default() };
    ContainerCreate { name: name.into(), spec, run: true, metadata: Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_requests_go_to_the_sign_in_form() {
    let region = TestRegion::sqlite().await;
    for path in ["/ui", "/ui/containers", "/ui/clusters/x", "/ui/hosts", "/ui/events", "/ui/stream"] {
        let answer = browser().get(format!("{}{path}", region.url)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&answer), "/ui/signin", "{path}");
    }
    let forged = browser().get(format!("{}/ui", region.url)).header(COOKIE, "flotilla_ui=flt_00").send().await.unwrap();
    assert_eq!(location(&forged), "/ui/signin", "an unknown session is no session");
    let posted = browser().post(format!("{}/ui/hosts/h/drain", region.url)).form(&[("csrf", "x")]).send().await.unwrap();
    assert_eq!(location(&posted), "/ui/signin");
    let form = browser().get(format!("{}/ui/signin", region.url)).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"password\"") && html.contains("name=\"project\""), "{html}");
    region.stop().await;
}

async fn a_one_time_link_signs_in_once(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let link = region.admin.create_dashboard_link().await.expect("a dashboard link");
    assert!(link.path.starts_with("/ui/link/flt_"), "{}", link.path);
    assert!(link.expires_at <= chrono::Utc::now() + chrono::Duration::seconds(61), "a link lives a minute");
    let url = format!("{}{}", region.url, link.path);
    let first = browser().get(&url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let (cookie, header) = session_cookie(&first);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(header.contains(attribute), "{attribute} in {header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP: not Secure: {header}");
    let overview = page(&region, &cookie, "/ui").await;
    assert_eq!(overview.status(), StatusCode::OK);
    let html = overview.text().await.unwrap();
    assert!(html.contains("Overview") && html.contains("admin @ admin"), "{html}");

    let second = browser().get(&url).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::GONE, "a link works once");
    assert!(second.headers().get(SET_COOKIE).is_none());
    assert!(second.text().await.unwrap().contains("used already"));
    let made_up = browser().get(format!("{}/ui/link/flt_{}", region.url, "0".repeat(64))).send().await.unwrap();
    assert_eq!(made_up.status(), StatusCode::GONE);
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_signs_in_once_sqlite() {
    a_one_time_link_signs_in_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_link_signs_in_once_postgres() {
    a_one_time_link_signs_in_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_session_csrf_token_and_sign_out_revokes_the_sign_in_token() {
    let region = TestRegion::sqlite().await;
    region.add_user("mia", "team", Role::Member).await;
    let signed_in = browser()
        .post(format!("{}/ui/signin", region.url))
        .form(&[("user", "mia"), ("password", flotilla_testkit::USER_PASSWORD), ("project", "team")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = session_cookie(&signed_in);
    let html = page(&region, &cookie, "/ui").await.text().await.unwrap();
    let token = csrf(&html);

    // Another session's token, none, or a made-up one: 403, and nothing changes.
    let other = sign_in_by_link(&region, &region.admin).await;
    let other_token = csrf(&page(&region, &other, "/ui").await.text().await.unwrap());
    assert_ne!(token, other_token, "each session has its own CSRF token");
    for sent in [other_token.as_str(), "", "forged"] {
        let refused =
            browser().post(format!("{}/ui/signout", region.url)).header(COOKIE, &cookie).form(&[("csrf", sent)]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "csrf {sent:?}");
        assert!(refused.text().await.unwrap().contains("CSRF"));
    }
    let scale = browser()
        .post(format!("{}/ui/clusters/any/scale", region.url))
        .header(COOKIE, &cookie)
        .form(&[("csrf", "forged"), ("capacity", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(scale.status(), StatusCode::FORBIDDEN);
    assert_eq!(page(&region, &cookie, "/ui").await.status(), StatusCode::OK, "still signed in");

    let wrong = browser()
        .post(format!("{}/ui/signin", region.url))
        .form(&[("user", "mia"), ("password", "not-it"), ("project", "team")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());

    let out = browser().post(format!("{}/ui/signout", region.url)).header(COOKIE, &cookie).form(&[("csrf", &token)]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie_cleared(&out));
    assert_eq!(location(&page(&region, &cookie, "/ui").await), "/ui/signin", "the session ended");
    assert_eq!(page(&region, &other, "/ui").await.status(), StatusCode::OK, "other sessions stay");
    region.stop().await;
}

fn session_cookie_cleared(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("flotilla_ui=;") && v.contains("Max-Age=0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_token_ends_the_session_and_sign_out_keeps_the_cli_token() {
    let region = TestRegion::sqlite().await;
    let mia = region.add_user("mia", "team", Role::Member).await;
    let cookie = sign_in_by_link(&region, &mia).await;
    let html = page(&region, &cookie, "/ui").await.text().await.unwrap();
    // Signing out of a link's session leaves the CLI's token alone.
    let out =
        browser().post(format!("{}/ui/signout", region.url)).header(COOKIE, &cookie).form(&[("csrf", csrf(&html))]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    mia.current_token().await.expect("the CLI's token still works");

    let cookie = sign_in_by_link(&region, &mia).await;
    assert_eq!(page(&region, &cookie, "/ui/containers").await.status(), StatusCode::OK);
    mia.revoke_token().await.expect("revoke");
    let after = page(&region, &cookie, "/ui/containers").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/ui/signin");
    assert!(session_cookie_cleared(&after));
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sees_only_their_projects_containers_and_why_nothing_fits() {
    let region = TestRegion::sqlite().await;
    let mia = region.add_user("mia", "team", Role::Member).await;
    let rob = region.add_user("rob", "other", Role::Member).await;
    // No host has joined: nothing fits, and the container says why.
    let mine = mia.create_container(&container("mias-box", 0.5)).await.expect("create");
    assert_eq!(mine.status, "ERROR");
    rob.create_container(&container("robs-box", 0.5)).await.expect("create");

    let cookie = sign_in_by_link(&region, &mia).await;
    let html = page(&region, &cookie, "/ui/containers").await.text().await.unwrap();
    assert!(html.contains("mias-box"), "{html}");
    assert!(!html.contains("robs-box"), "another project's container: {html}");
    assert!(html.contains("class=\"reason error\"") && html.contains(&mine.status_reason), "{html}");
    let overview = page(&region, &cookie, "/ui").await.text().await.unwrap();
    assert!(overview.contains("ERROR"), "{overview}");
    let fragment = browser()
        .get(format!("{}/ui/containers", region.url))
        .header(COOKIE, &cookie)
        .header("x-flotilla-fragment", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("mias-box") && !fragment.contains("<html"), "the live part alone: {fragment}");

    let admin = sign_in_by_link(&region, &region.admin).await;
    let all = page(&region, &admin, "/ui/containers").await.text().await.unwrap();
    assert!(all.contains("mias-box") && all.contains("robs-box"), "an admin sees every project: {all}");
    region.stop().await;
}
