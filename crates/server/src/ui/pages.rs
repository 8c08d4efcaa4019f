//! The read-only pages: overview, clusters (and one cluster), containers, hosts, networks,
//! quotas, events. Each reads what the signed-in token may list (an admin: every project).

use super::forms::segment;
use super::regions::Gathered;
use super::session::Session;
use super::view::{Page, badge, bar, button, tiles, time};
use super::{Ui, UiError};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use flotilla_api::{
    Action, ActionList, Cluster, ClusterList, Container, ContainerList, Event, EventList, HostList, NetworkList, NodeList, ProjectList,
    Quota, VersionInfo,
};
use maud::{Markup, html};
use std::collections::BTreeMap;

/// Most objects a page lists (the API's largest page).
const PAGE: u32 = 1000;
/// Events shown on the event log and a cluster's page.
const RECENT_EVENTS: u32 = 100;

/// `?all_projects=true&` for an admin, nothing otherwise: a user sees their project.
fn scope(session: &Session) -> &'static str {
    if session.is_admin() { "all_projects=true&" } else { "" }
}

fn count<'a>(items: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item.to_owned()).or_default() += 1;
    }
    counts
}

/// Actions not finished yet.
fn running(action: &Action) -> bool {
    !matches!(action.status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED")
}

/// `GET /ui`: regions, hosts by state, containers by status, running actions. At the central
/// the hosts and containers are every region's.
pub(crate) async fn overview(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let version: VersionInfo = ui.get(&session, "/v1").await?;
    let regions = ui.regions(&session).await?;
    let hosts: Gathered<HostList> = ui.gather(&session, regions.as_deref(), &format!("/v1/hosts?limit={PAGE}")).await?;
    let containers: Gathered<ContainerList> =
        ui.gather(&session, regions.as_deref(), &format!("/v1/containers?{}limit={PAGE}", scope(&session))).await?;
    let actions: ActionList = ui.get(&session, &format!("/v1/actions?{}limit={PAGE}&sort=created_at:desc", scope(&session))).await?;
    let running_actions: Vec<&Action> = actions.actions.iter().filter(|a| running(a)).collect();
    let host_states = count(hosts.parts.iter().flat_map(|(_, list)| list.hosts.iter().map(|h| h.state.as_str())));
    let container_states = count(containers.parts.iter().flat_map(|(_, list)| list.containers.iter().map(|c| c.status.as_str())));
    let body = html! {
        section.card {
            h2 { "Regions" }
            @match &regions {
                Some(regions) => {
                    p.muted { "This is the central: hosts and containers below are every region's; open a region for its own dashboard." }
                    table {
                        thead { tr { th { "Region" } th { "Status" } th { "Hosts" } th { "Containers" } th { "Last heartbeat" } th { "Dashboard" } } }
                        tbody {
                            @for r in regions {
                                tr {
                                    td { (r.name) } td { (badge(&r.status)) } td { (r.host_count) } td { (r.container_count) }
                                    td { (r.last_heartbeat.as_ref().map(time).unwrap_or_default()) }
                                    td { (button(&session, &format!("/ui/regions/{}/open", segment(&r.name)), "Open")) }
                                }
                            }
                        }
                    }
                    @if regions.is_empty() { p.muted { "No region has joined yet." } }
                }
                None => { p { "Region " strong { (version.region) } " · " (version.name) " " (version.version) } }
            }
            (missing(&hosts.missing))
        }
        div.grid {
            section.card {
                h2 { a href="/ui/hosts" { "Hosts by state" } }
                (tiles(&host_states, "No hosts."))
            }
            section.card {
                h2 { a href="/ui/containers" { "Containers by status" } }
                (tiles(&container_states, "No containers."))
            }
        }
        section.card {
            h2 { "Running actions" }
            (action_table(&session, &running_actions, &actions.actions, "No action is running."))
        }
    };
    Ok(Page { title: "Overview".into(), nav: "/ui", body }.render(&headers, &session))
}

/// One line per region whose part of a page is missing, and why.
fn missing(lines: &[String]) -> Markup {
    html! { @for line in lines { p.reason.error { (line) } } }
}

/// Actions with their progress (children done of children) and a cancel button.
fn action_table(session: &Session, actions: &[&Action], all: &[Action], empty: &str) -> Markup {
    html! {
        (listing(actions.is_empty(), empty, &["Action", "Status", "Progress", "Started", ""], html! {
            @for a in actions {
                        tr {
                            td { (a.action) br; small.muted { (a.name) } }
                            td { (badge(&a.status)) @if !a.status_reason.is_empty() { br; small { (a.status_reason) } } }
                            td { (progress(a, all)) }
                            td { (a.started_at.as_ref().map(time).unwrap_or_default()) }
                            td { @if running(a) && session.can_write() && !a.cancel_requested {
                                (button(session, &format!("/ui/actions/{}/cancel", a.id), "Cancel"))
                            } }
                        }
                    }
        }))
    }
}

/// A table with `heads` over `rows`, or `none` when there is nothing to list.
fn listing(empty: bool, none: &str, heads: &[&str], rows: Markup) -> Markup {
    html! {
        @if empty { p.muted { (none) } } @else {
            table { thead { tr { @for head in heads { th { (head) } } } } tbody { (rows) } }
        }
    }
}

/// An action's progress: how many of the actions it waits for (its node actions) have ended,
/// looked up in `all`.
fn progress(action: &Action, all: &[Action]) -> Markup {
    let total = action.depends_on.len();
    if total == 0 {
        return html! { span.muted { (if running(action) { "under way" } else { "done" }) } };
    }
    let done =
        if running(action) { action.depends_on.iter().filter(|id| all.iter().any(|a| a.id == **id && !running(a))).count() } else { total };
    html! { div.progress { (bar(done as f64, total as f64, &format!("{done} of {total} steps"))) } }
}

/// `GET /ui/clusters`.
pub(crate) async fn clusters(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let list: ClusterList = ui.get(&session, &format!("/v1/clusters?{}limit={PAGE}", scope(&session))).await?;
    let body = html! {
        section.card {
            (listing(
                list.clusters.is_empty(),
                "No clusters.",
                &["Cluster", "Status", "Members", "Desired", "Min / max", "Policies"],
                html! {
                @for c in &list.clusters {
                            tr {
                                td { a href={"/ui/clusters/" (c.id)} { (c.name) } }
                                td { (badge(&c.status)) @if !c.status_reason.is_empty() { br; small { (c.status_reason) } } }
                                td { (c.nodes.len()) } td { (c.desired_capacity) } td { (c.min_size) " / " (c.max_size) }
                                td { @for p in &c.policies { span.chip { (p.type_name) } } }
                            }
                        }
            }))
        }
    };
    Ok(Page { title: "Clusters".into(), nav: "/ui/clusters", body }.render(&headers, &session))
}

/// `GET /ui/clusters/{id}`: members with host and region, policies, actions, events.
pub(crate) async fn cluster(
    State(ui): State<Ui>,
    session: Session,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, UiError> {
    let key = form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>();
    let c: Cluster = ui.get(&session, &format!("/v1/clusters/{key}")).await?;
    let nodes: NodeList = ui.get(&session, &format!("/v1/nodes?cluster={}&limit={PAGE}", c.id)).await?;
    let actions: ActionList = ui.get(&session, &format!("/v1/actions?cluster={}&limit=50&sort=created_at:desc", c.id)).await?;
    let events: EventList = ui.get(&session, &format!("/v1/events?object={}&limit={RECENT_EVENTS}&sort=created_at:desc", c.id)).await?;
    let cluster_actions: Vec<&Action> = actions.actions.iter().filter(|a| a.target == c.id).collect();
    let body = html! {
        div.grid {
            section.card {
                h2 { "Status" }
                p { (badge(&c.status)) " " (c.status_reason) }
                p { "Desired " strong { (c.desired_capacity) } " · min " (c.min_size) " · max " (c.max_size) " · " (nodes.nodes.len()) " members" }
                @if session.can_write() {
                    form.inline method="post" action={"/ui/clusters/" (c.id) "/scale"} {
                        input type="hidden" name="csrf" value=(session.csrf);
                        label { "Scale to " input #scale-capacity type="number" name="capacity" min=(c.min_size) max=[(c.max_size >= 0).then_some(c.max_size)] value=(c.desired_capacity); }
                        button #scale-submit type="submit" { "Scale" }
                    }
                }
            }
            section.card {
                h2 { "Policies" }
                @if c.policies.is_empty() { p.muted { "No policy attached." } }
                ul { @for p in &c.policies {
                    li { (p.policy_name) " " span.chip { (p.type_name) } @if !p.enabled { " " (badge("DISABLED")) } }
                } }
            }
        }
        section.card {
            h2 { "Members" }
            (listing(
                nodes.nodes.is_empty(),
                "No members.",
                &["Member", "Status", "Host", "Region", "Role", "Addresses"],
                html! {
                @for n in &nodes.nodes {
                            tr {
                                td { (n.name) } td { (badge(&n.status)) @if !n.status_reason.is_empty() { br; small { (n.status_reason) } } }
                                td { (n.host_name.as_deref().unwrap_or("—")) } td { (n.region) } td { (n.role) }
                                td { @for a in &n.addresses { span.chip { (a.ip_address) } } }
                            }
                        }
            }))
        }
        section.card { h2 { "Actions" } (action_table(&session, &cluster_actions, &actions.actions, "No actions yet.")) }
        section.card { h2 { "Events" } (event_table(&events.events)) }
    };
    Ok(Page { title: format!("Cluster {}", c.name), nav: "/ui/clusters", body }.render(&headers, &session))
}

/// `GET /ui/containers`: status and, where the eye falls, why (e.g. why nothing fits). At the
/// central: every region's, with their region (the buttons are on the region's own page).
pub(crate) async fn containers(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let regions = ui.regions(&session).await?;
    let lists: Gathered<ContainerList> =
        ui.gather(&session, regions.as_deref(), &format!("/v1/containers?{}limit={PAGE}", scope(&session))).await?;
    let central = regions.is_some();
    let mut heads = vec!["Container", "Status", "Why", "Host", "Image", "CPU / memory", ""];
    if central {
        heads.insert(3, "Region");
    }
    let body = html! {
        section.card {
            (missing(&lists.missing))
            (listing(
                lists.parts.iter().all(|(_, list)| list.containers.is_empty()),
                "No containers.",
                &heads,
                html! {
                @for (region, list) in &lists.parts { @for c in &list.containers { (container_row(&session, region.as_deref(), c)) } }
            }))
        }
    };
    Ok(Page { title: "Containers".into(), nav: "/ui/containers", body }.render(&headers, &session))
}

/// A container's row; `region` is set at the central, which shows it instead of the buttons.
fn container_row(session: &Session, region: Option<&str>, c: &Container) -> Markup {
    let cpu = c.spec.cpu.map(|cpu| format!("{cpu} CPU")).unwrap_or_else(|| "— CPU".into());
    let memory = c.spec.memory.map(|m| format!("{m} MiB")).unwrap_or_else(|| "— MiB".into());
    html! {
        tr data-name=(c.name) data-status=(c.status) {
            td { strong { (c.name) } br; small.muted { (c.id) } }
            td { (badge(&c.status)) @if matches!(c.health.as_str(), "healthy" | "unhealthy" | "starting") { " " (badge(&c.health.to_uppercase())) } }
            td.why { @if !c.status_reason.is_empty() { div.reason.error[c.status == "ERROR"] { (c.status_reason) } }
                @if !c.health_reason.is_empty() { small { (c.health_reason) } } }
            @if let Some(region) = region { td { (region) } }
            td { (c.host.as_deref().unwrap_or("—")) }
            td { code { (c.spec.image) } }
            td { (cpu) " / " (memory) }
            td { @if session.can_write() && region.is_none() {
                @if c.desired_state == "running" { (button(session, &format!("/ui/containers/{}/stop", c.id), "Stop")) }
                @else { (button(session, &format!("/ui/containers/{}/start", c.id), "Start")) }
            } }
        }
    }
}

/// `GET /ui/hosts`: capacity and allocation bars, labels, the agent's version. At the central:
/// every region's hosts, with their region.
pub(crate) async fn hosts(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let regions = ui.regions(&session).await?;
    let lists: Gathered<HostList> = ui.gather(&session, regions.as_deref(), &format!("/v1/hosts?limit={PAGE}")).await?;
    let mut heads = vec!["Host", "State", "Version", "CPU allocated", "Memory allocated", "CPU in use", "Containers", "Labels", ""];
    if regions.is_some() {
        heads.insert(1, "Region");
    }
    let body = html! {
        section.card {
            (missing(&lists.missing))
            (listing(
                lists.parts.iter().all(|(_, list)| list.hosts.is_empty()),
                "No hosts: run `flotilla agent` with a join token on a machine.",
                &heads,
                html! {
                @for (region, list) in &lists.parts { @for h in &list.hosts {
                            tr {
                                td { strong { (h.name) } br; small.muted { (h.zone) " · " (h.pool) " · " (h.runtime) } }
                                @if let Some(region) = region { td { (region) } }
                                td { (badge(&h.state)) }
                                td { (h.agent_version) }
                                td { (bar(h.allocated.cpus, h.capacity.cpus, &format!("{:.2} of {:.2} CPUs", h.allocated.cpus, h.capacity.cpus))) }
                                td { (bar(h.allocated.memory_mib as f64, h.capacity.memory_mib as f64,
                                    &format!("{} of {} MiB", h.allocated.memory_mib, h.capacity.memory_mib))) }
                                td { (bar(h.utilisation.cpu_percent, 100.0, &format!("{:.0} %", h.utilisation.cpu_percent))) }
                                td { (h.container_count) }
                                td { @for (k, v) in &h.labels { span.chip { (k) "=" (v) } } }
                                td { @if session.is_admin() && h.state == "UP" && region.is_none() {
                                    (button(&session, &format!("/ui/hosts/{}/drain", h.id), "Drain"))
                                } }
                            }
                        } }
            }))
        }
    };
    Ok(Page { title: "Hosts".into(), nav: "/ui/hosts", body }.render(&headers, &session))
}

/// `GET /ui/networks`: each network's subnets and how much of them is used.
pub(crate) async fn networks(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let list: NetworkList = ui.get(&session, &format!("/v1/networks?{}limit={PAGE}", scope(&session))).await?;
    let body = html! {
        section.card {
            (listing(
                list.networks.is_empty(),
                "No networks.",
                &["Network", "Kind", "Subnet", "Gateway", "Addresses used"],
                html! {
                @for n in &list.networks {
                            @let kind = [(n.is_default, "default"), (n.shared, "shared"), (n.global, "global")];
                            @if n.subnets.is_empty() {
                                tr { td { (n.name) } td { @for (on, k) in kind { @if on { span.chip { (k) } } } } td.muted colspan="3" { "no subnet" } }
                            }
                            @for s in &n.subnets {
                                tr {
                                    td { (n.name) } td { @for (on, k) in kind { @if on { span.chip { (k) } } } }
                                    td { code { (s.cidr) } } td { (s.gateway) }
                                    td { (bar(s.used as f64, s.capacity as f64, &format!("{} of {}", s.used, s.capacity))) }
                                }
                            }
                        }
            }))
        }
    };
    Ok(Page { title: "Networks".into(), nav: "/ui/networks", body }.render(&headers, &session))
}

/// `GET /ui/quotas`: the project's limits and use (an admin: every project's).
pub(crate) async fn quotas(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let projects: Vec<(String, String)> = if session.is_admin() {
        let list: ProjectList = ui.get(&session, &format!("/v1/projects?limit={PAGE}")).await?;
        list.projects.into_iter().map(|p| (p.id.to_string(), p.name)).collect()
    } else {
        vec![(session.who.project.id.to_string(), session.who.project.name.clone())]
    };
    let mut quotas = Vec::with_capacity(projects.len());
    for (id, name) in projects {
        let quota: Quota = ui.get(&session, &format!("/v1/quotas/{id}")).await?;
        quotas.push((name, quota));
    }
    let body = html! {
        section.card {
            table {
                thead { tr { th { "Project" } th { "Containers" } th { "CPU (millicores)" } th { "Memory (MiB)" } th { "Images (bytes)" } th { "Networks" } th { "Addresses" } } }
                tbody {
                    @for (name, q) in &quotas {
                        tr {
                            td { (name) }
                            td { (limit(q.usage.containers, q.limits.containers)) }
                            td { (limit(q.usage.cpu_millis, q.limits.cpu_millis)) }
                            td { (limit(q.usage.memory_mib, q.limits.memory_mib)) }
                            td { (limit(q.usage.image_bytes, q.limits.image_bytes)) }
                            td { (limit(q.usage.networks, q.limits.networks)) }
                            td { (limit(q.usage.ports, q.limits.ports)) }
                        }
                    }
                }
            }
        }
    };
    Ok(Page { title: "Quotas".into(), nav: "/ui/quotas", body }.render(&headers, &session))
}

/// Use against a limit: a bar, or the use alone when unlimited (`-1`).
fn limit(used: u64, limit: i64) -> Markup {
    match u64::try_from(limit) {
        Ok(limit) => bar(used as f64, limit as f64, &format!("{used} of {limit}")),
        Err(_) => html! { (used) " " span.muted { "(unlimited)" } },
    }
}

/// `GET /ui/events`: the latest events, newest first; the page's script keeps it current.
pub(crate) async fn events(State(ui): State<Ui>, session: Session, headers: HeaderMap) -> Result<Response, UiError> {
    let list: EventList = ui.get(&session, &format!("/v1/events?{}limit={RECENT_EVENTS}&sort=created_at:desc", scope(&session))).await?;
    let body = html! { section.card { (event_table(&list.events)) } };
    Ok(Page { title: "Events".into(), nav: "/ui/events", body }.render(&headers, &session))
}

fn event_table(events: &[Event]) -> Markup {
    html! {
        (listing(events.is_empty(), "No events.", &["Time", "Level", "Object", "Action", "Status", "Reason"], html! {
            @for e in events {
                        tr {
                            td { (time(&e.timestamp)) } td { (badge(&e.level)) }
                            td { (e.object_type) " " strong { (e.object_name) } }
                            td { (e.action) } td { (e.status) } td { (e.reason) }
                        }
                    }
        }))
    }
}
