//! One network's DNS server (hickory-server) on an address, UDP and TCP: authoritative for the
//! network's names; every other name is asked of the host's resolvers (REFUSED when none answers).

use super::names::{Answer, NameSource};
use super::resolvers::Resolvers;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::A;
use hickory_server::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Seconds a resolver may keep an answer: names follow containers, so not long.
const TTL: u32 = 5;
/// How long a TCP connection may wait for its query.
const TCP_TIMEOUT: Duration = Duration::from_secs(5);
/// Buffered answers per TCP connection.
const TCP_BUFFER: usize = 16;

/// Answers queries from its source of names, which may be replaced at any time.
#[derive(Clone)]
struct Handler {
    names: Arc<RwLock<Arc<NameSource>>>,
    resolvers: Arc<Resolvers>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, mut response: R) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        let query = match request.request_info() {
            Ok(info) if request.metadata.op_code == OpCode::Query && request.metadata.message_type == MessageType::Query => info.query,
            _ => {
                metadata.response_code = ResponseCode::Refused;
                return sent(response.send_response(builder.build_no_records(metadata)).await, metadata);
            }
        };
        let wants_a = query.query_type() == RecordType::A && query.query_class() == DNSClass::IN;
        let source = self.names.read().map(|source| source.clone()).ok();
        let answer = match source {
            Some(source) => source.answer(&query.name().to_string(), wants_a).await,
            None => Answer::Refused,
        };
        metadata.authoritative = !matches!(answer, Answer::Refused);
        let records: Vec<Record> = match answer {
            Answer::Addresses(addresses) => {
                let name = Name::from(query.name());
                addresses.into_iter().map(|ip| Record::from_rdata(name.clone(), TTL, RData::A(A(ip)))).collect()
            }
            Answer::NoData => Vec::new(),
            Answer::Refused => match self.resolvers.ask(request.metadata.id, query.original().clone()).await {
                Some(reply) => {
                    metadata.response_code = reply.metadata.response_code;
                    metadata.recursion_available = reply.metadata.recursion_available;
                    reply.answers
                }
                None => {
                    metadata.response_code = ResponseCode::Refused;
                    Vec::new()
                }
            },
        };
        sent(response.send_response(builder.build(metadata, records.iter(), [], [], [])).await, metadata)
    }
}

/// What was sent, or the header of a failure to send (logged).
fn sent(result: Result<ResponseInfo, hickory_server::net::NetError>, metadata: Metadata) -> ResponseInfo {
    result.unwrap_or_else(|error| {
        tracing::debug!(%error, "a DNS answer could not be sent");
        let mut metadata = metadata;
        metadata.response_code = ResponseCode::ServFail;
        ResponseInfo::from(Header { metadata, counts: HeaderCounts::default() })
    })
}

/// A UDP socket and a TCP listener on one address; with port 0, the port UDP picked (tried again
/// a few times when TCP has it taken).
async fn bind_both(address: SocketAddr) -> std::io::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    let mut attempts = if address.port() == 0 { 16 } else { 1 };
    loop {
        let udp = tokio::net::UdpSocket::bind(address).await?;
        match tokio::net::TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts > 1 => attempts -= 1,
            Err(e) => return Err(e),
        }
    }
}

/// A running server; dropping it stops it.
pub struct NameServer {
    names: Arc<RwLock<Arc<NameSource>>>,
    address: SocketAddr,
    _server: hickory_server::Server<Handler>,
}

impl NameServer {
    /// Serves the names of `source` on `address` (UDP and TCP; port 0 picks one, the same for
    /// both), asking `resolvers` for every other name.
    pub async fn start(address: SocketAddr, source: NameSource, resolvers: Arc<Resolvers>) -> std::io::Result<Self> {
        let (udp, tcp) = bind_both(address).await?;
        let address = udp.local_addr()?;
        let names = Arc::new(RwLock::new(Arc::new(source)));
        let mut server = hickory_server::Server::new(Handler { names: names.clone(), resolvers });
        server.register_socket(udp);
        server.register_listener(tcp, TCP_TIMEOUT, TCP_BUFFER);
        Ok(Self { names, address, _server: server })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers from `source` from now on.
    pub fn replace(&self, source: NameSource) {
        if let Ok(mut current) = self.names.write() {
            *current = Arc::new(source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::Names;
    use flotilla_api::agent::DnsName;
    use hickory_server::proto::op::{Message, Query};
    use std::net::Ipv4Addr;

    async fn ask(server: SocketAddr, name: &str, kind: RecordType) -> Message {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut query = Message::query();
        query.metadata.id = 4242;
        query.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        socket.send_to(&query.to_vec().unwrap(), server).await.unwrap();
        let mut buffer = [0u8; 512];
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer)).await.expect("an answer").unwrap();
        let answer = Message::from_vec(&buffer[..n]).unwrap();
        assert_eq!(answer.metadata.id, 4242);
        answer
    }

    fn addresses(message: &Message) -> Vec<Ipv4Addr> {
        message.answers.iter().filter_map(|r| if let RData::A(A(ip)) = &r.data { Some(*ip) } else { None }).collect()
    }

    #[tokio::test]
    async fn a_real_query_over_udp_gets_the_names_addresses() {
        let names =
            NameSource::Listed(Names::new(&[DnsName { name: "web".into(), addresses: vec!["10.1.0.2".into(), "10.1.0.3".into()] }]));
        let outside = NameSource::Listed(Names::new(&[DnsName { name: "example.org".into(), addresses: vec!["192.0.2.80".into()] }]));
        let resolver = NameServer::start("127.0.0.1:0".parse().unwrap(), outside, Arc::default()).await.unwrap();
        let resolvers = Arc::new(Resolvers::servers(vec![resolver.address()]));
        let server = NameServer::start("127.0.0.1:0".parse().unwrap(), names, resolvers).await.unwrap();
        let answer = ask(server.address(), "WEB.", RecordType::A).await;
        assert_eq!(answer.metadata.response_code, ResponseCode::NoError);
        assert!(answer.metadata.authoritative);
        assert_eq!(addresses(&answer), [Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 3)]);
        assert!(answer.answers.iter().all(|r| r.ttl == TTL), "{:?}", answer.answers);

        let none = ask(server.address(), "web.", RecordType::AAAA).await;
        assert_eq!((none.metadata.response_code, none.answers.len()), (ResponseCode::NoError, 0), "no data for AAAA");
        let other = ask(server.address(), "example.org.", RecordType::A).await;
        assert_eq!((other.metadata.response_code, other.metadata.authoritative), (ResponseCode::NoError, false), "asked resolvers");
        assert_eq!(addresses(&other), [Ipv4Addr::new(192, 0, 2, 80)]);
        let unknown = ask(server.address(), "nowhere.test.", RecordType::A).await;
        assert_eq!(unknown.metadata.response_code, ResponseCode::Refused, "neither the network's nor the resolver's");

        server.replace(NameSource::Listed(Names::new(&[DnsName { name: "web".into(), addresses: vec!["10.1.0.9".into()] }])));
        assert_eq!(
            addresses(&ask(server.address(), "web.", RecordType::A).await),
            [Ipv4Addr::new(10, 1, 0, 9)],
            "names follow the assignments"
        );
    }
}
