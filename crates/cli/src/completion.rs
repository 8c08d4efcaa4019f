//! Shell completion (`flotilla completion bash|zsh|fish`): the shell asks this binary at each Tab,
//! which completes commands and flags from the command line's own definition and the names of live
//! objects (containers, clusters, profiles, networks, hosts, contexts, regions) from the server;
//! and the man pages (`flotilla man DIR`).

use crate::cli::{Cli, Globals};
use crate::output;
use crate::session::Session;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, ValueEnum};
use clap_complete::CompletionCandidate;
use clap_complete::env::{Bash, CompleteEnv, EnvCompleter, Fish, Zsh};
use flotilla_api::{ClusterFilter, ContainerFilter, ListQuery};
use flotilla_client::Client;
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable the shell's completion function sets when it asks for completions.
const VAR: &str = "COMPLETE";
/// How long a Tab waits for the server's names before completing without them.
const LIVE_TIMEOUT: Duration = Duration::from_secs(3);
/// How many names of one kind a Tab offers.
const LIVE_LIMIT: u32 = 500;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// `flotilla completion SHELL`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete in: `source <(flotilla completion bash)` in ~/.bashrc, `source
    /// <(flotilla completion zsh)` in ~/.zshrc, `flotilla completion fish | source` in fish's config.
    pub shell: Shell,
}

/// `flotilla man DIR`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages to (flotilla.1, flotilla-container.1, flotilla-container-run.1...).
    pub dir: PathBuf,
}

/// Answers the shell when it asks for completions (and exits); returns at once otherwise.
pub fn serve() {
    CompleteEnv::with_factory(Cli::command).var(VAR).bin("flotilla").completer("flotilla").complete();
}

/// Prints the script that makes `shell` ask this binary for completions.
pub fn script(args: &CompletionArgs) -> Result<()> {
    let shell: &dyn EnvCompleter = match args.shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    let mut text = Vec::new();
    shell.write_registration(VAR, "flotilla", "flotilla", "flotilla", &mut text).context("cannot write the completion script")?;
    output::raw(&text).map(drop)
}

/// Writes a man page for `flotilla` and for each of its commands, at every depth, into `args.dir`.
pub fn man_pages(args: &ManArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut command = Cli::command();
    command.build();
    let written = write_pages(&command, "flotilla", &args.dir)?;
    output::done(output::Format::Table, &format!("wrote {written} man pages to {}", args.dir.display()))
}

fn write_pages(command: &clap::Command, name: &str, dir: &std::path::Path) -> Result<usize> {
    let page = command.clone().name(name.to_owned()).bin_name(name.replace('-', " "));
    let path = dir.join(format!("{name}.1"));
    let mut text = Vec::new();
    clap_mangen::Man::new(page).render(&mut text).with_context(|| format!("cannot render {}", path.display()))?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    let mut written = 1;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set() && sub.get_name() != "help") {
        written += write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(written)
}

/// The names `list` gets from the region commands go to (as `--context`/`--region` in the
/// environment choose), or none when that fails or takes too long: a Tab never hangs or errs.
fn live(list: impl AsyncFnOnce(&Client) -> Result<Vec<String>, flotilla_client::ClientError>) -> Vec<CompletionCandidate> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return Vec::new() };
    let names = runtime.block_on(async {
        let globals = environment_globals()?;
        let target = Session::load(&globals).ok()?.target(&globals).await.ok()?;
        tokio::time::timeout(LIVE_TIMEOUT, list(&target)).await.ok()?.ok()
    });
    names.unwrap_or_default().into_iter().map(CompletionCandidate::new).collect()
}

/// The global options as the environment sets them (`FLOTILLA_CONTEXT`, `FLOTILLA_REGION`...).
fn environment_globals() -> Option<Globals> {
    Cli::try_parse_from(["flotilla", "whoami"]).ok().map(|cli| cli.globals)
}

fn query() -> ListQuery {
    ListQuery { limit: Some(LIVE_LIMIT), ..Default::default() }
}

pub fn containers() -> Vec<CompletionCandidate> {
    live(async |c| Ok(c.list_containers(&query(), &ContainerFilter::default()).await?.containers.into_iter().map(|c| c.name).collect()))
}

pub fn clusters() -> Vec<CompletionCandidate> {
    live(async |c| Ok(c.list_clusters(&query(), &ClusterFilter::default()).await?.clusters.into_iter().map(|c| c.name).collect()))
}

pub fn profiles() -> Vec<CompletionCandidate> {
    live(async |c| Ok(c.list_profiles(None, &query()).await?.profiles.into_iter().map(|p| p.name).collect()))
}

pub fn networks() -> Vec<CompletionCandidate> {
    live(async |c| Ok(c.list_networks(&query()).await?.networks.into_iter().map(|n| n.name.to_string()).collect()))
}

pub fn hosts() -> Vec<CompletionCandidate> {
    live(async |c| Ok(c.list_hosts(None, &query()).await?.hosts.into_iter().map(|h| h.name).collect()))
}

/// The saved contexts' names (no server asked).
pub fn contexts() -> Vec<CompletionCandidate> {
    let Ok(session) = Session::open(None) else { return Vec::new() };
    session.contexts().0.keys().map(CompletionCandidate::new).collect()
}

/// The regions saved at login or by `region list` (no server asked).
pub fn regions() -> Vec<CompletionCandidate> {
    let Ok(session) = Session::open(None) else { return Vec::new() };
    session.config.regions.keys().map(CompletionCandidate::new).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_pages_cover_every_command() {
        let dir = tempfile::tempdir().unwrap();
        man_pages(&ManArgs { dir: dir.path().to_owned() }).unwrap();
        let page = std::fs::read_to_string(dir.path().join("flotilla-container-run.1")).unwrap();
        assert!(page.contains(".TH flotilla-container-run") && page.contains("\\-\\-image"), "{page}");
        assert!(dir.path().join("flotilla-context-use.1").is_file());
        assert!(!dir.path().join("flotilla-help.1").exists());
    }
}
