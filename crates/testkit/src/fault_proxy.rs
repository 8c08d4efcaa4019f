//! A TCP proxy that can be cut and healed, for partition tests: put between two roles (e.g. a
//! region's `--central-url` pointing at it), it forwards while open; cut, it either refuses (the
//! port closes: new connections are refused, existing ones are closed) or blackholes (new
//! connections are accepted and existing ones kept, but nothing goes through either way until the
//! heal, which closes them). After a heal new connections go through again, on the same address.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// How a cut proxy treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The port is closed: connecting is refused, connections in place are closed.
    Refuse,
    /// Packets are lost: connecting succeeds, nothing is answered, connections in place stall.
    Blackhole,
}

/// What the proxy does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Open,
    Cut(Cut),
}

/// A running proxy; stops (closing every connection) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    address: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

/// A listener on `address`, which may have been listened on before.
fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`; open. Needs a tokio runtime
    /// that stays alive as long as the proxy.
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = listen("127.0.0.1:0".parse().map_err(io::Error::other)?)?;
        let address = listener.local_addr()?;
        let (mode, watching) = watch::channel(Mode::Open);
        let task = tokio::spawn(serve(listener, upstream, watching));
        Ok(FaultProxy { address, mode, task })
    }

    /// Where to connect instead of the upstream.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Cuts the link, as `how` says; connections in place are refused or stall at once.
    pub fn cut(&self, how: Cut) {
        self.mode.send_replace(Mode::Cut(how));
    }

    /// Lets new connections through again; connections held by a blackhole are closed.
    pub fn heal(&self) {
        self.mode.send_replace(Mode::Open);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until the mode is `wanted`; answers it, or `None` once the proxy is gone.
async fn until(mode: &mut watch::Receiver<Mode>, wanted: impl FnMut(&Mode) -> bool) -> Option<Mode> {
    mode.wait_for(wanted).await.ok().map(|m| *m)
}

/// Accepts while not refusing; closes the port while refusing and opens it again on the same
/// address afterwards.
async fn serve(mut listener: TcpListener, upstream: SocketAddr, mode: watch::Receiver<Mode>) {
    let Ok(address) = listener.local_addr() else { return };
    let mut watching = mode.clone();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let now = *mode.borrow();
                match now {
                    Mode::Open => tasks.spawn(forward(client, upstream, mode.clone())),
                    Mode::Cut(_) => tasks.spawn(hold(client, None, mode.clone())),
                };
            }
            refusing = until(&mut watching, |m| *m == Mode::Cut(Cut::Refuse)) => {
                drop(listener);
                if refusing.is_none() || until(&mut watching, |m| *m != Mode::Cut(Cut::Refuse)).await.is_none() {
                    return;
                }
                listener = loop {
                    match listen(address) {
                        Ok(listener) => break listener,
                        Err(e) => {
                            eprintln!("fault proxy: listening on {address} again: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                };
            }
        }
        while tasks.try_join_next().is_some() {}
    }
}

/// Copies both ways until either side closes or the link is cut.
async fn forward(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        cut = until(&mut mode, |m| *m != Mode::Open) => cut,
    };
    if cut == Some(Mode::Cut(Cut::Blackhole)) {
        hold(client, Some(server), mode).await;
    }
}

/// Reads and drops whatever either side sends, answering nothing, until the heal (or both close).
async fn hold(mut client: TcpStream, server: Option<TcpStream>, mut mode: watch::Receiver<Mode>) {
    let drain = async {
        let from_server = async {
            if let Some(mut server) = server {
                let _ = tokio::io::copy(&mut server, &mut tokio::io::sink()).await;
            }
        };
        let mut sink = tokio::io::sink();
        let _ = tokio::join!(tokio::io::copy(&mut client, &mut sink), from_server);
    };
    tokio::select! {
        () = drain => {}
        _ = until(&mut mode, |m| *m == Mode::Open) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An echo server on a free loopback port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        address
    }

    /// Whether `stream` echoes a message within half a second.
    async fn echoes(stream: &mut TcpStream) -> bool {
        let exchange = async {
            stream.write_all(b"ping").await?;
            let mut answer = [0; 4];
            stream.read_exact(&mut answer).await?;
            io::Result::Ok(&answer == b"ping")
        };
        matches!(tokio::time::timeout(Duration::from_millis(500), exchange).await, Ok(Ok(true)))
    }

    #[tokio::test]
    async fn a_refusing_cut_closes_the_port_and_the_connections_until_healed() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.address()).await.unwrap();
        assert!(echoes(&mut before).await, "open: forwarded");
        proxy.cut(Cut::Refuse);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = TcpStream::connect(proxy.address()).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(2), before.read_to_end(&mut rest)).await.expect("closed, not stalled");
        assert!(closed.is_err() || rest.is_empty(), "the connection in place ended: {closed:?} {rest:?}");
        proxy.heal();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut after = TcpStream::connect(proxy.address()).await.expect("the same address listens again");
        assert!(echoes(&mut after).await, "healed: forwarded");
    }

    #[tokio::test]
    async fn a_blackhole_accepts_but_answers_nothing_until_healed() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut before = TcpStream::connect(proxy.address()).await.unwrap();
        assert!(echoes(&mut before).await);
        proxy.cut(Cut::Blackhole);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!echoes(&mut before).await, "the connection in place stalls");
        let mut during = TcpStream::connect(proxy.address()).await.expect("connecting still succeeds");
        assert!(!echoes(&mut during).await, "a new connection gets no answer");
        proxy.heal();
        let mut after = TcpStream::connect(proxy.address()).await.unwrap();
        assert!(echoes(&mut after).await, "healed: forwarded");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(2), during.read_to_end(&mut rest)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the held connection is closed at the heal: {closed:?}");
    }
}
