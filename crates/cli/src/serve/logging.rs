//! Logs of the server roles: tracing to stderr, filtered by `FLOTILLA_LOG` or `RUST_LOG`, as text or
//! JSON; for `flotilla dev`, warnings on the terminal and the whole log in a file.

use anyhow::{Context, Result, anyhow};
use clap::Args;
use std::io::IsTerminal;
use std::path::Path;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Args)]
pub struct LogArgs {
    /// Format of the log lines on stderr [default: text]; which lines: FLOTILLA_LOG or RUST_LOG,
    /// e.g. debug (default info).
    #[arg(long, env = "FLOTILLA_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

impl LogArgs {
    /// The format the flag chose, else the config file's, else text.
    pub fn format_or(&self, file: Option<LogFormat>) -> LogFormat {
        self.log_format.or(file).unwrap_or(LogFormat::Text)
    }
}

/// The filter `FLOTILLA_LOG`, else `RUST_LOG`, else `info` sets.
fn env_filter() -> Result<EnvFilter> {
    let directives = ["FLOTILLA_LOG", "RUST_LOG"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "info".to_owned());
    EnvFilter::try_new(&directives).map_err(|e| anyhow!("invalid log filter {directives:?}: {e}"))
}

/// `flotilla dev`'s logging: warnings and errors on stderr, for a person to read; every line the
/// filter passes (`FLOTILLA_LOG`, else `RUST_LOG`, else `info`) appended to `file`.
pub fn init_dev(format: LogFormat, file: &Path) -> Result<()> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let to_file = tracing_subscriber::fmt::layer().with_writer(std::sync::Mutex::new(log)).with_ansi(false);
    let to_file = match format {
        LogFormat::Text => to_file.with_filter(env_filter()?).boxed(),
        LogFormat::Json => to_file.json().with_filter(env_filter()?).boxed(),
    };
    let to_terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::registry().with(to_file).with(to_terminal).try_init().map_err(|e| anyhow!("cannot set up logging: {e}"))
}

/// Installs the global subscriber; the filter is `FLOTILLA_LOG`, else `RUST_LOG`, else `info`.
pub fn init(format: LogFormat) -> Result<()> {
    let filter = env_filter()?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow!("cannot set up logging: {e}"))
}
