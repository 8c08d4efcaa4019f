//! The host's resolvers, where a network's name server sends every name that is not the
//! network's own (as Docker's embedded DNS does), so containers still resolve outside names.

use hickory_server::proto::op::{Message, Query};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long one resolver may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest UDP answer read (EDNS size most resolvers answer within).
const ANSWER_BUFFER: usize = 4096;

/// Resolvers tried in order; none means names outside the network are refused.
#[derive(Debug, Clone, Default)]
pub struct Resolvers {
    servers: Vec<SocketAddr>,
}

impl Resolvers {
    /// The `nameserver` lines of a resolv.conf text, port 53.
    pub fn from_resolv_conf(text: &str) -> Self {
        let servers = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("nameserver"))
            .filter_map(|rest| rest.trim().parse::<IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        Self { servers }
    }

    /// The host's resolvers, from /etc/resolv.conf (none when it cannot be read).
    pub fn system() -> Self {
        std::fs::read_to_string("/etc/resolv.conf").map(|text| Self::from_resolv_conf(&text)).unwrap_or_default()
    }

    #[cfg(test)]
    pub fn servers(servers: Vec<SocketAddr>) -> Self {
        Self { servers }
    }

    /// The first answer of a resolver to `query` with `id`, recursion desired; `None` when none answers.
    pub async fn ask(&self, id: u16, query: Query) -> Option<Message> {
        let mut message = Message::query();
        message.metadata.id = id;
        message.metadata.recursion_desired = true;
        message.add_query(query);
        let bytes = message.to_vec().ok()?;
        for server in &self.servers {
            match tokio::time::timeout(ASK_TIMEOUT, exchange(*server, &bytes, id)).await {
                Ok(Ok(answer)) => return Some(answer),
                Ok(Err(error)) => tracing::debug!(%server, %error, "a resolver did not answer"),
                Err(_) => tracing::debug!(%server, "a resolver timed out"),
            }
        }
        None
    }
}

/// One UDP exchange with `server`: the answer bearing `id`.
async fn exchange(server: SocketAddr, bytes: &[u8], id: u16) -> std::io::Result<Message> {
    let local: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(bytes).await?;
    let mut buffer = vec![0u8; ANSWER_BUFFER];
    loop {
        let n = socket.recv(&mut buffer).await?;
        match Message::from_vec(&buffer[..n]) {
            Ok(answer) if answer.metadata.id == id => return Ok(answer),
            _ => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameserver_lines_are_the_resolvers() {
        let resolvers =
            Resolvers::from_resolv_conf("# comment\nsearch example\nnameserver 10.255.255.53\nnameserver  ::1\nnameserver bogus\n");
        assert_eq!(resolvers.servers, ["10.255.255.53:53".parse().unwrap(), "[::1]:53".parse().unwrap()]);
        assert!(Resolvers::from_resolv_conf("options ndots:5\n").servers.is_empty());
    }
}
