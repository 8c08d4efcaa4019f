//! `flotilla workload cat FILE...`: prints files, for images without a shell (tests read what was
//! copied into a container with it).

use anyhow::{Context, Result};
use clap::Args;
use std::io::Write;

#[derive(Debug, Args)]
pub struct CatArgs {
    /// The files to print, one after the other.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
}

pub async fn run(args: CatArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for file in &args.files {
        let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
        out.write_all(&bytes)?;
    }
    Ok(out.flush()?)
}
