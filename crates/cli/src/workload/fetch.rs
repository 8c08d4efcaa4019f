//! `flotilla workload fetch URL`: a plain HTTP/1.0 GET from wherever it runs (inside a container,
//! with the workload image, which has no wget or curl), the body printed on stdout; exit 0 on a
//! 2xx answer, 1 on anything else or when nothing answers in time.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The most of an answer that is read.
const MAX_ANSWER: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// `http://HOST[:PORT][/PATH]`.
    pub url: String,
    /// Seconds to wait for the whole answer.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
}

/// `(host, port, path)` of an `http://` URL.
fn split(url: &str) -> Result<(&str, u16, &str)> {
    let rest = url.strip_prefix("http://").with_context(|| format!("{url}: only http:// URLs"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().with_context(|| format!("{url}: bad port {port:?}"))?),
        None => (authority, 80),
    };
    if host.is_empty() {
        bail!("{url}: no host");
    }
    Ok((host, port, path))
}

async fn get(url: &str) -> Result<(u16, String)> {
    let (host, port, path) = split(url)?;
    let mut stream = tokio::net::TcpStream::connect((host, port)).await.with_context(|| format!("connecting to {host}:{port}"))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").with_context(|| format!("{url}: not an HTTP answer"))?;
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("{url}: no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}

pub async fn run(args: FetchArgs) -> Result<()> {
    let (status, body) = tokio::time::timeout(Duration::from_secs(args.timeout), get(&args.url))
        .await
        .with_context(|| format!("{}: no answer in {} s", args.url, args.timeout))??;
    print!("{body}");
    if !(200..300).contains(&status) {
        bail!("{}: answered {status}", args.url);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(split("http://10.0.0.5:8080/healthz").unwrap(), ("10.0.0.5", 8080, "/healthz"));
        assert_eq!(split("http://web").unwrap(), ("web", 80, "/"));
        assert!(split("https://web/").is_err(), "plain HTTP only");
        assert!(split("http://:80/").is_err());
        assert!(split("http://web:x/").is_err());
    }

    #[tokio::test]
    async fn it_fetches_a_body_and_fails_on_an_error_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for answer in ["HTTP/1.0 200 OK\r\n\r\nhello", "HTTP/1.0 503 Busy\r\n\r\nno"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 512];
                let _ = s.read(&mut request).await.unwrap();
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        assert_eq!(get(&format!("http://127.0.0.1:{port}/")).await.unwrap(), (200, "hello".to_owned()));
        let failed = run(FetchArgs { url: format!("http://127.0.0.1:{port}/"), timeout: 5 }).await.unwrap_err();
        assert!(failed.to_string().contains("answered 503"), "{failed}");
    }
}
