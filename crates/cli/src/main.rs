//! The `flotilla` binary: parses the command line, runs the command, turns a failure into one
//! `error: ...` line and an exit code (see `failure`).

mod cli;
mod commands;
mod completion;
mod config;
mod failure;
mod output;
mod paths;
mod private;
mod secret;
mod serve;
mod session;
mod target;
mod workload;

use clap::Parser;
use std::process::ExitCode;

/// jemalloc with its background thread, not the C library's malloc: glibc kept what a 10,000-node
/// scale-out freed in its per-thread arenas (three quarters of the server's memory afterwards);
/// jemalloc hands freed pages back to the system within seconds, busy or idle.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    completion::serve();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", failure::message(&err));
            ExitCode::from(failure::exit_code(&err))
        }
    }
}
