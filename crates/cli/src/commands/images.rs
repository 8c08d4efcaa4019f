//! `flotilla image ...`: upload `docker save` archives (streamed, with progress), list, show, delete.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_api::{Image, ImageList, ImageUploadQuery};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Upload an image archive made by `docker save` (or `flotilla workload image`).
    Upload {
        /// The archive (.tar).
        file: PathBuf,
        /// Name containers use for it (default: the archive's first tag).
        #[arg(long)]
        name: Option<String>,
        /// Let every project use it (admin).
        #[arg(long)]
        public: bool,
    },
    /// List images.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show an image by name or id.
    Show {
        /// Name or id of the image.
        image: String,
    },
    /// Delete an image.
    Delete {
        /// Name or id of the image.
        image: String,
    },
}

pub async fn run(client: &Target, format: Format, command: ImageCommand) -> Result<()> {
    match command {
        ImageCommand::Upload { file, name, public } => {
            let total = std::fs::metadata(&file).with_context(|| format!("cannot read {}", file.display()))?.len();
            let options = ImageUploadQuery { name, public: public.then_some(true) };
            let live = std::io::stderr().is_terminal();
            let mut progress = Progress::new(total, live);
            let uploaded = client.upload_image(&file, &options, move |sent| progress.sent(sent)).await;
            if live {
                eprint!("\r\x1b[K"); // the progress line makes way for the result or the error
            }
            let image = uploaded?;
            eprintln!("{}", Progress::line(total, total, "uploaded"));
            output::one(format, &image)
        }
        ImageCommand::List { list, spread } => client.list(format, &spread, async |c| c.list_images(&list.query()).await).await,
        ImageCommand::Show { image } => output::one(format, &client.image(&image).await?),
        ImageCommand::Delete { image } => {
            client.delete_image(&image).await?;
            output::deleted(format, "image", &image)
        }
    }
}

/// Upload progress on stderr: redrawn in place on a terminal, whenever the percentage changes.
struct Progress {
    total: u64,
    live: bool,
    shown: Option<u64>,
}

impl Progress {
    fn new(total: u64, live: bool) -> Self {
        Self { total, live, shown: None }
    }

    fn sent(&mut self, sent: u64) {
        let percent = percent(sent, self.total);
        if self.live && self.shown != Some(percent) {
            self.shown = Some(percent);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\x1b[K", Self::line(sent, self.total, "uploading"));
            let _ = err.flush();
        }
    }

    /// `uploading 12.0 MiB of 120.3 MiB (9%)`.
    fn line(sent: u64, total: u64, verb: &str) -> String {
        format!("{verb} {} of {} ({}%)", output::size(sent), output::size(total), percent(sent, total))
    }
}

fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 { 100 } else { (u128::from(part) * 100 / u128::from(whole)) as u64 }
}

impl Row for Image {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "TAGS", "SIZE", "PUBLIC", "SHA256", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.tags.join(", "),
            output::size(self.size_bytes),
            self.public.to_string(),
            self.sha256.chars().take(12).collect(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ImageList, images, Image);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_say_bytes_and_percent() {
        assert_eq!(Progress::line(512, 2048, "uploading"), "uploading 512 B of 2.0 KiB (25%)");
        assert_eq!(Progress::line(3 << 20, 3 << 20, "uploaded"), "uploaded 3.0 MiB of 3.0 MiB (100%)");
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(u64::MAX / 2, u64::MAX), 49);
    }
}
