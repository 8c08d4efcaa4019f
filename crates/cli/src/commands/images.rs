//! `flotilla image ...`: upload `docker save` archives (streamed, with progress), list, show, delete.

use super::common::ListArgs;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::{Context, Result};
use clap::Subcommand;
use flotilla_api::{Image, ImageList, ImageUploadQuery};
use indicatif::{ProgressBar, ProgressStyle};
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
            let bar = ProgressBar::new(total).with_style(upload_style());
            let shown = bar.clone();
            let uploaded = client.upload_image(&file, &options, move |sent| shown.set_position(sent)).await;
            bar.finish_and_clear(); // the bar makes way for the result or the error
            let image = uploaded?;
            eprintln!("uploaded {} of {} (100%)", output::size(total), output::size(total));
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

/// The upload's bar on stderr (drawn only on a terminal): `uploading 12.0 MiB of 120.3 MiB (9%)`.
fn upload_style() -> ProgressStyle {
    let style = ProgressStyle::with_template("uploading {binary_bytes} of {binary_total_bytes} ({percent}%) [{bar:20}]")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    style.progress_chars("#-")
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
