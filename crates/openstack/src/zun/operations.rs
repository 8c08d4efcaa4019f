//! A container's operations: start, stop, reboot, pause, unpause, kill, rebuild (202, no body),
//! network attach and detach; logs (a JSON string), execute, top, stats, network list.

use super::containers::{escape, fetch};
use super::error::{ZunError, check};
use super::query::{Params, shell_words};
use super::{Zun, read, token, view};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use flotilla_api::{ContainerStats, ContainerTop, ExecResult};
use serde_json::{Value, json};

/// `POST /v1/containers/{id}/{action}`: 202 once Flotilla took it.
pub(super) async fn act(
    State(zun): State<Zun>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<StatusCode, ZunError> {
    let container = escape(&id);
    let (method, path, body) = match action.as_str() {
        "start" | "pause" | "unpause" => {
            Params::parse(query.as_deref(), &[])?;
            (Method::POST, format!("/v1/containers/{container}/{action}"), None)
        }
        "stop" | "reboot" => {
            let params = Params::parse(query.as_deref(), &["timeout"])?;
            let timeout = params.number("timeout")?.map(|t| format!("?timeout={t}")).unwrap_or_default();
            let target = if action == "stop" { "stop" } else { "restart" };
            (Method::POST, format!("/v1/containers/{container}/{target}{timeout}"), None)
        }
        "kill" => {
            let params = Params::parse(query.as_deref(), &["signal"])?;
            let signal = params.get("signal").filter(|s| !s.is_empty() && *s != "None");
            (
                Method::POST,
                format!("/v1/containers/{container}/kill{}", signal.map(|s| format!("?signal={}", escape(s))).unwrap_or_default()),
                None,
            )
        }
        "rebuild" => {
            let params = Params::parse(query.as_deref(), &["image", "run", "image_driver"])?;
            if let Some(image) = params.get("image") {
                let current = fetch(&zun, &headers, &id).await?;
                if current.spec.image != image {
                    return Err(ZunError::BadRequest(format!(
                        "image: rebuilding with another image (`{image}`) is not supported; Flotilla rebuilds from `{}`",
                        current.spec.image
                    )));
                }
            }
            (Method::POST, format!("/v1/containers/{container}/rebuild"), None)
        }
        "network_attach" => {
            let params = Params::parse(query.as_deref(), &["network", "port", "fixed_ip"])?;
            if params.get("port").is_some() {
                return Err(ZunError::BadRequest("port: attaching a Neutron port is not supported; name a network".into()));
            }
            let Some(network) = params.get("network") else {
                return Err(ZunError::BadRequest("network: the network to attach is missing".into()));
            };
            let mut body = json!({"network": network});
            if let Some(ip) = params.get("fixed_ip") {
                body["ip_address"] = json!(ip);
            }
            (Method::POST, format!("/v1/containers/{container}/networks"), Some(body))
        }
        "network_detach" => {
            let params = Params::parse(query.as_deref(), &["network", "port"])?;
            if params.get("port").is_some() {
                return Err(ZunError::BadRequest("port: detaching a Neutron port is not supported; name a network".into()));
            }
            let Some(network) = params.get("network") else {
                return Err(ZunError::BadRequest("network: the network to detach is missing".into()));
            };
            (Method::DELETE, format!("/v1/containers/{container}/networks/{}", escape(network)), None)
        }
        other => {
            return Err(ZunError::Flotilla {
                status: StatusCode::NOT_FOUND,
                message: format!("`{other}` is not an action of a container"),
            });
        }
    };
    check(zun.api.call(method, &path, token(&headers), body.as_ref()).await)?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /v1/containers/{id}/logs`: the logs as one JSON string.
pub(super) async fn logs(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ZunError> {
    let params = Params::parse(query.as_deref(), &["stdout", "stderr", "timestamps", "tail", "since"])?;
    let mut flotilla = vec![format!("timestamps={}", params.flag("timestamps")?)];
    match params.get("tail") {
        None | Some("all") | Some("") => {}
        Some(tail) => flotilla.push(format!(
            "tail={}",
            tail.parse::<u64>().map_err(|_| ZunError::BadRequest(format!("tail: `{tail}` is not a number or `all`")))?
        )),
    }
    if let Some(since) = params.get("since").filter(|s| !s.is_empty()) {
        let since: i64 = since.parse().map_err(|_| ZunError::BadRequest(format!("since: `{since}` is not a Unix time in seconds")))?;
        flotilla.push(format!("since={since}"));
    }
    let path = format!("/v1/containers/{}/logs?{}", escape(&id), flotilla.join("&"));
    let answer = check(zun.api.call(Method::GET, &path, token(&headers), None).await)?;
    Ok(Json(json!(String::from_utf8_lossy(&answer.raw))))
}

/// `POST /v1/containers/{id}/execute?command=...`: `{output, exit_code, exec_id, token}`.
pub(super) async fn execute(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ZunError> {
    let params = Params::parse(query.as_deref(), &["command", "run", "interactive"])?;
    if params.flag("interactive")? || params.get("run").is_some_and(|_| !params.flag("run").unwrap_or(true)) {
        return Err(ZunError::BadRequest("interactive: interactive exec (websocket) is not supported; run a command to its end".into()));
    }
    let Some(command) = params.get("command") else { return Err(ZunError::BadRequest("command: the command to run is missing".into())) };
    let words = shell_words(command)?;
    let path = format!("/v1/containers/{}/exec", escape(&id));
    let result: ExecResult = read(&zun, &headers, Method::POST, &path, Some(&json!({"command": words}))).await?;
    Ok(Json(json!({"output": result.output, "exit_code": result.exit_code, "exec_id": null, "token": null})))
}

/// `GET /v1/containers/{id}/top`: `{Titles, Processes}`.
pub(super) async fn top(
    State(zun): State<Zun>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ZunError> {
    let params = Params::parse(query.as_deref(), &["ps_args"])?;
    if params.get("ps_args").is_some_and(|a| !a.is_empty() && a != "None") {
        return Err(ZunError::BadRequest("ps_args: not supported; Flotilla lists every process".into()));
    }
    let top: ContainerTop = read(&zun, &headers, Method::GET, &format!("/v1/containers/{}/top", escape(&id)), None).await?;
    Ok(Json(json!({"Titles": top.titles, "Processes": top.processes})))
}

/// `GET /v1/containers/{id}/stats`: Zun's keys.
pub(super) async fn stats(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let s: ContainerStats = read(&zun, &headers, Method::GET, &format!("/v1/containers/{}/stats", escape(&id)), None).await?;
    let mem_percent = if s.memory_limit_mib > 0.0 { s.memory_used_mib / s.memory_limit_mib * 100.0 } else { 0.0 };
    Ok(Json(json!({
        "CPU %": s.cpu_percent,
        "MEM USAGE(MiB)": s.memory_used_mib,
        "MEM LIMIT(MiB)": s.memory_limit_mib,
        "MEM %": mem_percent,
        "BLOCK I/O(B)": "0/0",
        "NET I/O(B)": format!("{}/{}", s.network_rx_bytes, s.network_tx_bytes),
    })))
}

/// `GET /v1/containers/{id}/network_list`: `{"networks": [{net_id, port_id, fixed_ips}]}`.
pub(super) async fn network_list(State(zun): State<Zun>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ZunError> {
    let container = fetch(&zun, &headers, &id).await?;
    let networks: Vec<Value> = view::addresses(&container)
        .as_object()
        .map(|by_network| {
            by_network
                .iter()
                .map(|(net, addresses)| {
                    let ips: Vec<Value> = addresses
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| json!({"ip_address": a["addr"], "version": a["version"], "subnet_id": null}))
                        .collect();
                    json!({"net_id": net, "port_id": null, "fixed_ips": ips})
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(json!({"networks": networks})))
}
