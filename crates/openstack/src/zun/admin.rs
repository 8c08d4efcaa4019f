//! Hosts (Flotilla's hosts), images (Flotilla's uploaded images) and services (Flotilla's
//! engines) in Zun's shapes.

use super::containers::escape;
use super::error::{ZunError, check};
use super::query::Params;
use super::{Zun, read, token};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use flotilla_api::cluster::ServiceList;
use flotilla_api::host::{Host, HostList};
use flotilla_api::image::{Image, ImageList};
use serde_json::{Value, json};

async fn get<T: serde::de::DeserializeOwned>(zun: &Zun, headers: &HeaderMap, path: &str) -> Result<T, ZunError> {
    read(zun, headers, Method::GET, path, None).await
}

/// The page part of a Zun list query as Flotilla's.
fn page(query: Option<&str>) -> Result<String, ZunError> {
    let params = Params::parse(query, &["limit", "marker", "sort_key", "sort_dir"])?;
    let mut parts = Vec::new();
    if let Some(limit) = params.number("limit")? {
        parts.push(format!("limit={limit}"));
    }
    if let Some(marker) = params.get("marker") {
        parts.push(format!("marker={}", escape(marker)));
    }
    Ok(parts.join("&"))
}

fn next_url(base: &str, resource: &str, next: Option<String>) -> Value {
    json!(next.map(|marker| format!("{base}/container/v1/{resource}/?marker={marker}")))
}

/// Zun's hosts are for admins (Flotilla shows its hosts to everyone, without their addresses).
async fn require_admin(zun: &Zun, headers: &HeaderMap) -> Result<(), ZunError> {
    let token: flotilla_api::Token = get(zun, headers, "/v1/auth/tokens").await?;
    if token.role.is_admin() {
        Ok(())
    } else {
        Err(ZunError::Flotilla { status: StatusCode::FORBIDDEN, message: "hosts are shown to admins only (Zun's policy)".into() })
    }
}

fn host_view(h: &Host, base: &str) -> Value {
    let href = format!("{base}/container/v1/hosts/{}", h.id);
    json!({
        "uuid": h.id,
        "hostname": h.name,
        "mem_total": h.capacity.memory_mib,
        "mem_used": h.utilisation.memory_used_mib,
        "mem_free": h.capacity.memory_mib.saturating_sub(h.utilisation.memory_used_mib),
        "mem_available": h.capacity.memory_mib.saturating_sub(h.allocated.memory_mib),
        "cpus": h.capacity.cpus,
        "cpu_used": h.allocated.cpus,
        "disk_total": h.capacity.disk_mib / 1024,
        "disk_used": h.allocated.disk_mib / 1024,
        "disk_quota_supported": false,
        "total_containers": h.container_count,
        "os": null,
        "os_type": "linux",
        "kernel_version": null,
        "architecture": null,
        "labels": h.labels,
        "runtimes": [h.runtime],
        "enable_cpu_pinning": false,
        "links": [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}],
    })
}

/// `GET /v1/hosts` (admins).
pub(super) async fn hosts(State(zun): State<Zun>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    require_admin(&zun, &headers).await?;
    let list: HostList = get(&zun, &headers, &format!("/v1/hosts?{}", page(query.as_deref())?)).await?;
    let base = zun.base(&headers);
    let hosts: Vec<Value> = list.hosts.iter().map(|h| host_view(h, &base)).collect();
    Ok(Json(json!({"hosts": hosts, "next": next_url(&base, "hosts", list.next)})))
}

/// `GET /v1/hosts/{id}` (admins).
pub(super) async fn host(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    require_admin(&zun, &headers).await?;
    let host: Host = get(&zun, &headers, &format!("/v1/hosts/{}", escape(&id))).await?;
    Ok(Json(host_view(&host, &zun.base(&headers))))
}

fn image_view(i: &Image, base: &str) -> Value {
    let href = format!("{base}/container/v1/images/{}", i.id);
    let (repo, tag) = match i.name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_owned(), tag.to_owned()),
        _ => (i.name.clone(), i.tags.first().cloned().unwrap_or_else(|| "latest".into())),
    };
    json!({
        "uuid": i.id,
        "repo": repo,
        "tag": tag,
        "host": null,
        "size": i.size_bytes,
        "image_id": i.docker_id,
        "project_id": i.project_id,
        "links": [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}],
    })
}

/// `GET /v1/images`.
pub(super) async fn images(State(zun): State<Zun>, RawQuery(query): RawQuery, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let list: ImageList = get(&zun, &headers, &format!("/v1/images?{}", page(query.as_deref())?)).await?;
    let base = zun.base(&headers);
    let images: Vec<Value> = list.images.iter().map(|i| image_view(i, &base)).collect();
    Ok(Json(json!({"images": images, "next": next_url(&base, "images", list.next)})))
}

/// `GET /v1/images/{id}`.
pub(super) async fn image(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let image: Image = get(&zun, &headers, &format!("/v1/images/{}", escape(&id))).await?;
    Ok(Json(image_view(&image, &zun.base(&headers))))
}

/// `DELETE /v1/images/{id}`: 204.
pub(super) async fn delete_image(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<StatusCode, ZunError> {
    check(zun.api.call(Method::DELETE, &format!("/v1/images/{}", escape(&id)), token(&headers), None).await)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/images` (a pull): Flotilla has no registry to pull from.
pub(super) async fn pull() -> ZunError {
    ZunError::BadRequest(
        "repo: pulling images is not supported by Flotilla; upload the image's archive with `flotilla image upload`".into(),
    )
}

/// `GET /v1/services`: Flotilla's engines as `zun-compute` services.
pub(super) async fn services(State(zun): State<Zun>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let list: ServiceList = get(&zun, &headers, "/v1/services").await?;
    let services: Vec<Value> = list
        .services
        .iter()
        .enumerate()
        .map(|(index, s)| {
            json!({
                "id": index + 1,
                "binary": "zun-compute",
                "host": s.name,
                "state": "up",
                "disabled": false,
                "disabled_reason": null,
                "forced_down": false,
                "report_count": 0,
                "availability_zone": null,
                "last_seen_up": s.heartbeat_at,
                "created_at": s.started_at,
                "updated_at": s.heartbeat_at,
            })
        })
        .collect();
    Ok(Json(json!({"services": services})))
}
