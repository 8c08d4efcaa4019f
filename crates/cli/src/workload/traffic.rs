//! `flotilla workload sink|blast|ping`: a TCP traffic generator for the overlay benchmark (the
//! workload image has no iperf). `sink` listens; `blast ADDR` sends as fast as it can for a while
//! and prints the throughput the sink received; `ping ADDR` sends small requests one at a time over
//! one connection, each echoed back, and prints the round-trip percentiles. Both print one JSON line.

use crate::serve::shutdown;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The first byte of a connection: what the sink does with it.
const BLAST: u8 = b'B';
const PING: u8 = b'P';
/// What `blast` writes at a time.
const CHUNK: usize = 128 * 1024;
/// The largest `ping` request.
const MAX_PING_SIZE: usize = 64 * 1024;

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 5201)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub listen: IpAddr,
}

#[derive(Debug, Args)]
pub struct BlastArgs {
    /// The sink's `IP:PORT`.
    pub address: SocketAddr,
    /// How long to send.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    /// The sink's `IP:PORT`.
    pub address: SocketAddr,
    /// How many requests, one after the other (after 10% as many not counted, to warm up).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub count: u64,
    /// Bytes per request and per answer.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=MAX_PING_SIZE as u64))]
    pub size: u64,
}

/// What `blast` prints.
#[derive(Debug, Serialize, PartialEq)]
pub struct Throughput {
    /// Bytes the sink received.
    pub bytes: u64,
    /// From the first byte sent to the sink's count of them.
    pub seconds: f64,
    pub gbit_per_s: f64,
}

/// What `ping` prints: round trips in microseconds.
#[derive(Debug, Serialize, PartialEq)]
pub struct RoundTrips {
    pub count: u64,
    pub size: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

pub async fn sink(args: SinkArgs) -> Result<()> {
    let stopped = shutdown::on_signal()?;
    let listener =
        TcpListener::bind((args.listen, args.port)).await.with_context(|| format!("cannot listen on {}:{}", args.listen, args.port))?;
    println!("sink listening on {}", listener.local_addr()?);
    tokio::select! {
        () = stopped => Ok(()),
        result = accept(listener) => result,
    }
}

async fn accept(listener: TcpListener) -> Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = answer(stream).await {
                eprintln!("{peer}: {e:#}");
            }
        });
    }
}

/// Serves one connection: counts a blast and answers the count, or echoes pings.
async fn answer(mut stream: TcpStream) -> Result<()> {
    stream.set_nodelay(true)?;
    match stream.read_u8().await? {
        BLAST => {
            let mut buffer = vec![0; CHUNK];
            let mut bytes = 0u64;
            loop {
                match stream.read(&mut buffer).await? {
                    0 => break,
                    n => bytes += n as u64,
                }
            }
            stream.write_u64(bytes).await?;
            Ok(stream.shutdown().await?)
        }
        PING => {
            let (mut reader, mut writer) = stream.split();
            tokio::io::copy(&mut reader, &mut writer).await?;
            Ok(())
        }
        other => bail!("unknown traffic kind {other:#x}"),
    }
}

async fn connect(address: SocketAddr, kind: u8) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(address).await.with_context(|| format!("connecting to {address}"))?;
    stream.set_nodelay(true)?;
    stream.write_u8(kind).await?;
    Ok(stream)
}

/// Sends for `seconds`, then waits for the sink's count of what arrived.
pub async fn measure_throughput(address: SocketAddr, seconds: u64) -> Result<Throughput> {
    let mut stream = connect(address, BLAST).await?;
    let chunk = vec![0x5a; CHUNK];
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    while Instant::now() < until {
        stream.write_all(&chunk).await.with_context(|| format!("sending to {address}"))?;
    }
    stream.shutdown().await?;
    let bytes = stream.read_u64().await.with_context(|| format!("{address} sent no count"))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Throughput { bytes, seconds, gbit_per_s: bytes as f64 * 8.0 / seconds / 1e9 })
}

/// `count` round trips of `size` bytes, one at a time, after a warm-up of a tenth as many.
pub async fn measure_round_trips(address: SocketAddr, count: u64, size: usize) -> Result<RoundTrips> {
    let mut stream = connect(address, PING).await?;
    let request = vec![0xa5; size];
    let mut answer = vec![0; size];
    let mut times = Vec::with_capacity(usize::try_from(count)?);
    for i in 0..count + count / 10 {
        let started = Instant::now();
        stream.write_all(&request).await?;
        stream.read_exact(&mut answer).await.with_context(|| format!("{address} did not echo"))?;
        if i >= count / 10 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    let micros = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    Ok(RoundTrips { count, size: size as u64, p50_us: micros(0.5), p99_us: micros(0.99), max_us: micros(1.0) })
}

pub async fn blast(args: BlastArgs) -> Result<()> {
    println!("{}", serde_json::to_string(&measure_throughput(args.address, args.seconds).await?)?);
    Ok(())
}

pub async fn ping(args: PingArgs) -> Result<()> {
    println!("{}", serde_json::to_string(&measure_round_trips(args.address, args.count, usize::try_from(args.size)?).await?)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn local_sink() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(accept(listener));
        address
    }

    #[tokio::test]
    async fn a_blast_is_counted_by_the_sink() {
        let address = local_sink().await;
        let measured = measure_throughput(address, 1).await.unwrap();
        assert!(measured.bytes >= CHUNK as u64, "{measured:?}");
        assert!(measured.seconds >= 1.0 && measured.gbit_per_s > 0.0, "{measured:?}");
        let expected = measured.bytes as f64 * 8.0 / measured.seconds / 1e9;
        assert!((measured.gbit_per_s - expected).abs() < 1e-9, "{measured:?}");
    }

    #[tokio::test]
    async fn pings_are_echoed_and_timed() {
        let address = local_sink().await;
        let measured = measure_round_trips(address, 200, 100).await.unwrap();
        assert_eq!((measured.count, measured.size), (200, 100));
        assert!(0.0 < measured.p50_us && measured.p50_us <= measured.p99_us && measured.p99_us <= measured.max_us, "{measured:?}");
    }

    #[tokio::test]
    async fn an_unknown_kind_is_refused() {
        let address = local_sink().await;
        let mut stream = connect(address, b'X').await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "the sink closes the connection");
    }
}
