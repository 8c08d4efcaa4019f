//! `flotilla volume ...`: named volumes containers mount (`container run -v`): create, list, show,
//! delete.

use super::common::{LabelArgs, ListArgs, MetadataArgs, delete_each, parse_entry};
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Volume, VolumeCreate, VolumeList};

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume.
    Create {
        /// Name of the new volume.
        name: String,
        /// Docker's volume driver (default: local).
        #[arg(long)]
        driver: Option<String>,
        /// A driver option KEY=VALUE, e.g. type=tmpfs or o=size=64m; repeat for more.
        #[arg(long = "opt", value_name = "KEY=VALUE", value_parser = parse_entry)]
        opts: Vec<(String, String)>,
        /// Its size in MiB (the local driver enforces it only for type=tmpfs).
        #[arg(long, value_name = "MIB")]
        size: Option<u64>,
        /// Make it on every host of this pool; the containers mounting it run there.
        #[arg(long)]
        pool: Option<String>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List volumes with the containers that mount them.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a volume by name or id.
    Show {
        /// Name or id of the volume.
        volume: String,
    },
    /// Delete volumes; a volume a container mounts is refused.
    Delete {
        /// Names or ids of the volumes.
        #[arg(required = true, value_name = "VOLUME")]
        volumes: Vec<String>,
    },
}

pub async fn run(client: &Target, format: Format, command: VolumeCommand) -> Result<()> {
    match command {
        VolumeCommand::Create { name, driver, opts, size, pool, metadata } => {
            let body =
                VolumeCreate { name, driver, driver_opts: opts.into_iter().collect(), size_mib: size, pool, metadata: metadata.metadata() };
            output::one(format, &client.create_volume(&body).await?)
        }
        VolumeCommand::List { list, labels, spread } => {
            client.list(format, &spread, async |c| c.list_volumes(labels.listing(&list.query())).await).await
        }
        VolumeCommand::Show { volume } => output::one(format, &client.found(&volume, async |c| c.volume(&volume).await).await?.0),
        VolumeCommand::Delete { volumes } => {
            delete_each(format, "volume", &volumes, async |key| client.found(key, async |c| c.delete_volume(key).await).await.map(drop))
                .await
        }
    }
}

impl Row for Volume {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "DRIVER", "SIZE", "POOL", "MOUNTED BY", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.driver.clone(),
            self.size_mib.map(|mib| format!("{mib} MiB")).unwrap_or_default(),
            self.pool.clone().unwrap_or_default(),
            self.mounted_by.join(", "),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(VolumeList, volumes, Volume);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn options_are_key_value_pairs() {
        let cli = Cli::try_parse_from([
            "flotilla",
            "volume",
            "create",
            "data",
            "--driver",
            "local",
            "--opt",
            "type=tmpfs",
            "--opt",
            "o=size=64m",
            "--size",
            "64",
        ])
        .unwrap();
        let Command::Volume(VolumeCommand::Create { name, driver, opts, size, pool, .. }) = cli.command else { panic!() };
        assert_eq!((name.as_str(), driver.as_deref(), size, pool), ("data", Some("local"), Some(64), None));
        assert_eq!(opts, [("type".to_owned(), "tmpfs".to_owned()), ("o".into(), "size=64m".into())]);

        let bad = Cli::try_parse_from(["flotilla", "volume", "create", "data", "--opt", "tmpfs"]).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        let said = bad.to_string();
        assert!(said.contains("'tmpfs'") && said.contains("--opt") && said.contains("KEY=VALUE"), "{said}");
        let bad = Cli::try_parse_from(["flotilla", "volume", "create", "data", "--size", "big"]).unwrap_err();
        assert!(bad.to_string().contains("'big'") && bad.to_string().contains("--size"), "{bad}");
    }
}
