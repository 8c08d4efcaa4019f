//! The central's dashboard shows every region at once, with the real binary: a central and two
//! regions (each with a simulated host and a container). Signed in at the central by `flotilla
//! dashboard --show-url`, the hosts and containers pages list both regions' (with the agents'
//! version), the overview counts them together, "Open" signs the browser in to one region's own
//! dashboard, and a region that stopped is named on the page while the other's part stays.

mod support;

use flotilla_testkit::browser::{browser, csrf, location, session_cookie};
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use support::Sandbox;
use support::regions::{cli_json, east_and_west};

/// The page at `url` as the session of `cookie`, which must answer 200.
async fn page(url: &str, cookie: &str) -> String {
    let answer = browser().get(url).header(COOKIE, cookie).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{url}");
    answer.text().await.unwrap()
}

/// Follows a one-time link; answers the session cookie.
async fn follow(link: &str) -> String {
    let answer = browser().get(link).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{link}");
    session_cookie(&answer).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_shows_every_region_and_opens_each_signed_in() {
    let sandbox = Sandbox::new();
    let (central, east, west, _hosts) = east_and_west(&sandbox);
    for name in ["east", "west"] {
        let run = ["--region", name, "container", "run", "--name", &format!("web-{name}"), "--image", "any/image:1", "--wait"];
        assert_eq!(cli_json(&sandbox, &run)["status"], "RUNNING");
    }

    let link = sandbox.run(&["dashboard", "--show-url"], &[]).ok().trim().to_owned();
    assert!(link.starts_with(&format!("{}/ui/link/", central.url)), "{link}");
    let cookie = follow(&link).await;

    let hosts = page(&format!("{}/ui/hosts", central.url), &cookie).await;
    let version = format!("<td>{}</td>", env!("CARGO_PKG_VERSION"));
    for expected in ["east-sim", "west-sim", "<td>east</td>", "<td>west</td>", &version] {
        assert!(hosts.contains(expected), "the central's hosts page shows {expected:?}: {hosts}");
    }
    let containers = page(&format!("{}/ui/containers", central.url), &cookie).await;
    for expected in ["web-east", "web-west"] {
        assert!(containers.contains(expected), "the central's containers page shows {expected:?}: {containers}");
    }
    assert!(!containers.contains("/stop\""), "no stop button at the central: the region's own page has it");
    let overview = page(&format!("{}/ui", central.url), &cookie).await;
    for tile in
        [r#"<div class="n">2</div><span class="badge ok">UP</span>"#, r#"<div class="n">2</div><span class="badge ok">RUNNING</span>"#]
    {
        assert!(overview.contains(tile), "the overview counts both regions: {tile}: {overview}");
    }

    // "Open" asks east for a one-time link for the same token: east's own pages, signed in.
    let opened = browser()
        .post(format!("{}/ui/regions/east/open", central.url))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf(&overview))])
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let east_link = location(&opened).to_owned();
    assert!(east_link.starts_with(&format!("{}/ui/link/", east.url)), "{east_link}");
    let east_cookie = follow(&east_link).await;
    let east_hosts = page(&format!("{}/ui/hosts", east.url), &east_cookie).await;
    assert!(east_hosts.contains("east-sim") && !east_hosts.contains("west-sim"), "{east_hosts}");
    let forged = browser()
        .post(format!("{}/ui/regions/east/open", central.url))
        .header(COOKIE, &cookie)
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "opening a region needs the session's CSRF token");

    // A region that stopped is named; the other's part is still there.
    west.stop();
    let containers = page(&format!("{}/ui/containers", central.url), &cookie).await;
    assert!(containers.contains("web-east") && !containers.contains("web-west"), "{containers}");
    assert!(containers.contains("region west"), "the page says west's part is missing: {containers}");
}
