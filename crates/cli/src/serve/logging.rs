//! Logs of the server roles: tracing to stderr, filtered by `FLOTILLA_LOG` or `RUST_LOG`, as text or JSON.

use anyhow::{Result, anyhow};
use clap::Args;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Format of the log lines on stderr; which lines: FLOTILLA_LOG or RUST_LOG, e.g. debug (default info).
    #[arg(long, env = "FLOTILLA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Installs the global subscriber; the filter is `FLOTILLA_LOG`, else `RUST_LOG`, else `info`.
pub fn init(args: &LogArgs) -> Result<()> {
    let directives = ["FLOTILLA_LOG", "RUST_LOG"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::try_new(&directives).map_err(|e| anyhow!("invalid log filter {directives:?}: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let installed = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow!("cannot set up logging: {e}"))
}
