//! The pages' frame and parts: the layout with its navigation, the sign-in form, status badges,
//! allocation bars, and the embedded stylesheet and script.

use super::session::Session;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The header the pages' script sends to get only a page's live part.
const FRAGMENT_HEADER: &str = "x-flotilla-fragment";

const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

pub(crate) async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], CSS).into_response()
}

pub(crate) async fn js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], JS).into_response()
}

/// The pages of the navigation: path, label.
const NAV: [(&str, &str); 7] = [
    ("/ui", "Overview"),
    ("/ui/clusters", "Clusters"),
    ("/ui/containers", "Containers"),
    ("/ui/hosts", "Hosts"),
    ("/ui/networks", "Networks"),
    ("/ui/quotas", "Quotas"),
    ("/ui/events", "Events"),
];

/// A signed-in page: its title, the navigation entry it belongs to, and its live part.
pub(crate) struct Page {
    pub title: String,
    pub nav: &'static str,
    pub body: Markup,
}

impl Page {
    /// The whole page, or only its live part when the pages' script asks for it.
    pub fn render(self, headers: &HeaderMap, session: &Session) -> Response {
        let no_store = [(header::CACHE_CONTROL, "no-store")];
        if headers.contains_key(FRAGMENT_HEADER) {
            return (no_store, Html(self.body.into_string())).into_response();
        }
        let who = &session.who;
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head { (head(&self.title)) }
                body {
                    header.top {
                        a.brand href="/ui" { "Flotilla" }
                        nav {
                            @for (path, label) in NAV {
                                a href=(path) class=[(path == self.nav).then_some("active")] { (label) }
                            }
                        }
                        div.who {
                            span { (who.user.name) " @ " (who.project.name) " · " (who.role.to_string()) }
                            form method="post" action="/ui/signout" {
                                input type="hidden" name="csrf" value=(session.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    h1 { (self.title) }
                    main #live { (self.body) }
                    script src="/ui/assets/ui.js" {}
                }
            }
        };
        (no_store, Html(page.into_string())).into_response()
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) }
        link rel="stylesheet" href="/ui/assets/ui.css";
    }
}

/// A page outside the session (sign-in, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head { (head(title)) }
                body.bare { header.top { a.brand href="/ui" { "Flotilla" } } (body) }
            }
        }
        .into_string(),
    )
}

/// An error's box.
pub(crate) fn problem(status: StatusCode, message: &str) -> Markup {
    html! {
        div.card.narrow {
            h2 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("error")) }
            p.reason { (message) }
            p { a href="/ui" { "Back to the overview" } }
        }
    }
}

/// The sign-in form, with what went wrong last time.
pub(crate) fn sign_in(error: Option<&str>, user: &str) -> Markup {
    html! {
        form.card.narrow method="post" action="/ui/signin" {
            h2 { "Sign in" }
            @if let Some(error) = error { p.reason { (error) } }
            label { "User" input type="text" name="user" value=(user) autocomplete="username" required; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required; }
            label { "Project " small { "(empty: your default project)" } input type="text" name="project"; }
            button type="submit" { "Sign in" }
            p.hint { "Or run " code { "flotilla dashboard" } " to open this page already signed in." }
        }
    }
}

/// A status as a coloured badge.
pub(crate) fn badge(status: &str) -> Markup {
    let tone = match status {
        "RUNNING" | "ACTIVE" | "UP" | "SUCCEEDED" | "CREATED" | "INFO" | "HEALTHY" => "ok",
        "ERROR" | "DOWN" | "FAILED" | "UNHEALTHY" | "DEAD" => "bad",
        "WARNING" | "DRAINING" | "DISABLED" | "UNKNOWN" | "CANCELLED" | "STOPPED" | "PAUSED" => "warn",
        _ => "busy",
    };
    html! { span class={"badge " (tone)} { (status) } }
}

/// A bar of `used` out of `total` with its label.
pub(crate) fn bar(used: f64, total: f64, label: &str) -> Markup {
    let share = if total > 0.0 { (used / total * 100.0).clamp(0.0, 100.0) } else { 0.0 };
    let tone = if share >= 90.0 {
        "bad"
    } else if share >= 70.0 {
        "warn"
    } else {
        "ok"
    };
    html! {
        div.bar title=(label) {
            div class={"fill " (tone)} style={"width:" (format!("{share:.1}")) "%"} {}
            span { (label) }
        }
    }
}

/// A hidden CSRF field and a one-button form posting to `action`.
pub(crate) fn button(session: &Session, action: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(session.csrf);
            button type="submit" { (label) }
        }
    }
}

/// A count per key, as small tiles.
pub(crate) fn tiles(counts: &std::collections::BTreeMap<String, usize>, empty: &str) -> Markup {
    html! {
        div.tiles {
            @if counts.is_empty() { p.muted { (empty) } }
            @for (key, n) in counts {
                div.tile { div.n { (n) } (badge(key)) }
            }
        }
    }
}

/// A time as `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
