//! The `flotilla` binary: parses the command line, runs the command, turns a failure into one
//! `error: ...` line and an exit code (see `failure`).

mod cli;
mod commands;
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", failure::message(&err));
            ExitCode::from(failure::exit_code(&err))
        }
    }
}
