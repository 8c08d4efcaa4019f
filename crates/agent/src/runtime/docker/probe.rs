//! Health probes of Docker containers, run from the host as kubelet runs them: HTTP and TCP to the
//! container's address (containers on a bridge network are reachable from the host), commands
//! through exec. The image needs no `wget` or `nc`.

use crate::runtime::ProbeOutcome;
use bollard::models::ContainerInspectResponse;
use flotilla_core::profile::HttpProbe;
use std::net::{IpAddr, Ipv4Addr};

/// At most this much of a failed command's output goes into the reason.
const REASON_OUTPUT_LIMIT: usize = 200;

/// Where the host reaches the container: `127.0.0.1` with host networking, else its address on
/// the first network that gave it one (the default bridge, or a Flotilla network).
pub fn address(c: &ContainerInspectResponse) -> Result<IpAddr, String> {
    if c.host_config.as_ref().and_then(|h| h.network_mode.as_deref()) == Some("host") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let networks = c.network_settings.as_ref().and_then(|n| n.networks.as_ref());
    let mut addresses: Vec<(&String, &str)> = networks
        .into_iter()
        .flatten()
        .filter_map(|(name, endpoint)| Some((name, endpoint.ip_address.as_deref().filter(|ip| !ip.is_empty())?)))
        .collect();
    addresses.sort();
    let (_, ip) = addresses.first().ok_or("the container has no network address")?;
    ip.parse().map_err(|_| format!("the container's address {ip:?} is not an IP address"))
}

/// `http://ADDRESS:PORT/PATH` of an HTTP probe.
pub fn http_url(ip: IpAddr, http: &HttpProbe) -> String {
    let path = if http.path.starts_with('/') { http.path.clone() } else { format!("/{}", http.path) };
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    format!("http://{host}:{}{path}", http.port)
}

/// An HTTP GET: 2xx and 3xx pass (redirects are not followed), as kubelet counts.
pub async fn http(client: &reqwest::Client, url: &str) -> ProbeOutcome {
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() || response.status().is_redirection() => ProbeOutcome::Pass,
        Ok(response) => ProbeOutcome::Fail(format!("HTTP {} from {url}", response.status().as_u16())),
        Err(e) => ProbeOutcome::Fail(format!("GET {url}: {}", chain(&e))),
    }
}

/// A TCP connect.
pub async fn tcp(ip: IpAddr, port: u16) -> ProbeOutcome {
    match tokio::net::TcpStream::connect((ip, port)).await {
        Ok(_) => ProbeOutcome::Pass,
        Err(e) => ProbeOutcome::Fail(format!("TCP connect to {}: {e}", std::net::SocketAddr::new(ip, port))),
    }
}

/// A command's exit: 0 passes; otherwise the code and the start of its output say why.
pub fn command(exit_code: i64, output: &str) -> ProbeOutcome {
    if exit_code == 0 {
        return ProbeOutcome::Pass;
    }
    let output = output.trim();
    let cut = output.char_indices().map(|(i, _)| i).take_while(|i| *i <= REASON_OUTPUT_LIMIT).last().unwrap_or(0);
    let shown = if output.len() > REASON_OUTPUT_LIMIT { format!("{}...", &output[..cut]) } else { output.to_owned() };
    if shown.is_empty() {
        ProbeOutcome::Fail(format!("exit code {exit_code}"))
    } else {
        ProbeOutcome::Fail(format!("exit code {exit_code}: {shown}"))
    }
}

/// An error and its causes on one line (reqwest's own message rarely names the cause).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{EndpointSettings, HostConfig, NetworkSettings};
    use std::collections::HashMap;

    fn inspected(networks: &[(&str, &str)], mode: Option<&str>) -> ContainerInspectResponse {
        let networks: HashMap<String, EndpointSettings> = networks
            .iter()
            .map(|(name, ip)| (name.to_string(), EndpointSettings { ip_address: Some(ip.to_string()), ..Default::default() }))
            .collect();
        ContainerInspectResponse {
            network_settings: Some(NetworkSettings { networks: Some(networks), ..Default::default() }),
            host_config: Some(HostConfig { network_mode: mode.map(str::to_owned), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn the_address_is_the_first_network_with_one() {
        assert_eq!(address(&inspected(&[("bridge", "172.17.0.3")], Some("bridge"))), Ok("172.17.0.3".parse().unwrap()));
        assert_eq!(address(&inspected(&[("b-net", "10.1.0.5"), ("a-net", "")], None)), Ok("10.1.0.5".parse().unwrap()));
        assert_eq!(address(&inspected(&[("b", "10.0.0.2"), ("a", "10.0.0.9")], None)), Ok("10.0.0.9".parse().unwrap()));
        assert_eq!(address(&inspected(&[], Some("host"))), Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(address(&inspected(&[], Some("none"))).is_err());
        assert!(address(&ContainerInspectResponse::default()).is_err());
    }

    #[test]
    fn urls_have_a_rooted_path() {
        let ip: IpAddr = "172.17.0.2".parse().unwrap();
        assert_eq!(http_url(ip, &HttpProbe { port: 8080, path: "/healthz".into() }), "http://172.17.0.2:8080/healthz");
        assert_eq!(http_url(ip, &HttpProbe { port: 80, path: "ready".into() }), "http://172.17.0.2:80/ready");
        assert_eq!(http_url("fd00::2".parse().unwrap(), &HttpProbe { port: 80, path: "/".into() }), "http://[fd00::2]:80/");
    }

    #[test]
    fn commands_pass_on_zero() {
        assert_eq!(command(0, "whatever"), ProbeOutcome::Pass);
        assert_eq!(command(1, ""), ProbeOutcome::Fail("exit code 1".into()));
        assert_eq!(command(2, " not ready\n"), ProbeOutcome::Fail("exit code 2: not ready".into()));
        let ProbeOutcome::Fail(long) = command(3, &"é".repeat(300)) else { panic!("fails") };
        assert!(long.ends_with("...") && long.len() < 220, "{long}");
    }

    #[tokio::test]
    async fn http_counts_2xx_and_3xx() {
        use axum::http::StatusCode;
        let app = axum::Router::new()
            .route("/ok", axum::routing::get(|| async { StatusCode::NO_CONTENT }))
            .route("/moved", axum::routing::get(|| async { (StatusCode::FOUND, [("location", "/elsewhere")]) }))
            .route("/sick", axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let url = |path: &str| http_url(addr.ip(), &HttpProbe { port: addr.port(), path: path.into() });
        assert_eq!(http(&client, &url("/ok")).await, ProbeOutcome::Pass);
        assert_eq!(http(&client, &url("/moved")).await, ProbeOutcome::Pass);
        assert_eq!(http(&client, &url("/sick")).await, ProbeOutcome::Fail(format!("HTTP 503 from {}", url("/sick"))));
        assert_eq!(http(&client, &url("/missing")).await, ProbeOutcome::Fail(format!("HTTP 404 from {}", url("/missing"))));
        assert_eq!(tcp(addr.ip(), addr.port()).await, ProbeOutcome::Pass);
        server.abort();
        let _ = server.await;
        let ProbeOutcome::Fail(refused) = http(&client, &url("/ok")).await else { panic!("nothing listens") };
        assert!(refused.starts_with(&format!("GET {}: ", url("/ok"))) && refused.to_lowercase().contains("refused"), "{refused}");
        let ProbeOutcome::Fail(refused) = tcp(addr.ip(), addr.port()).await else { panic!("nothing listens") };
        assert!(refused.starts_with(&format!("TCP connect to {addr}: ")), "{refused}");
    }
}
