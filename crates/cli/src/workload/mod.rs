//! `flotilla workload`: a small program to run in containers for tests, demos and benchmarks
//! (`serve`, `fetch`, the traffic generator `sink`/`blast`/`ping`, `cat`), and the image that carries it
//! (`image`), built offline from this very binary.

pub mod cat;
pub mod fetch;
pub mod image;
pub mod resolve;
pub mod serve;
pub mod traffic;

use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Serve HTTP: GET / (hostname and a counter), GET /healthz, POST /fail, /recover, /burn, /exit.
    Serve(serve::ServeArgs),
    /// Write a `docker save` archive of an image that runs `flotilla workload serve`, built from this
    /// binary and its shared libraries, without Docker or a registry.
    Image(image::ImageArgs),
    /// GET an http:// URL and print the body (exit 1 unless 2xx): a client inside containers.
    Fetch(fetch::FetchArgs),
    /// Print the IPv4 addresses a name resolves to, one a line (exit 1 when none): inside containers.
    Resolve(resolve::ResolveArgs),
    /// Listen for `blast` and `ping` (TCP): count what a blast sends, echo what a ping sends.
    Sink(traffic::SinkArgs),
    /// Send to a `sink` as fast as possible for a while; print the throughput it received (JSON).
    Blast(traffic::BlastArgs),
    /// Small requests to a `sink` over one TCP connection, one at a time; print the round-trip
    /// percentiles (JSON).
    Ping(traffic::PingArgs),
    /// Print files (exit 1 when one cannot be read): inside containers without a shell.
    Cat(cat::CatArgs),
}

pub async fn run(command: WorkloadCommand) -> Result<()> {
    match command {
        WorkloadCommand::Serve(args) => serve::run(args).await,
        WorkloadCommand::Image(args) => image::run(args).await,
        WorkloadCommand::Fetch(args) => fetch::run(args).await,
        WorkloadCommand::Resolve(args) => resolve::run(args).await,
        WorkloadCommand::Sink(args) => traffic::sink(args).await,
        WorkloadCommand::Blast(args) => traffic::blast(args).await,
        WorkloadCommand::Ping(args) => traffic::ping(args).await,
        WorkloadCommand::Cat(args) => cat::run(args).await,
    }
}
