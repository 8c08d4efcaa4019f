//! `flotilla profile ...`: create profiles from spec files, list, show, rename, delete, validate.

use super::common::{LabelArgs, ListArgs, MetadataArgs, read_document, validated};
use crate::completion;
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use clap_complete::ArgValueCandidates;
use flotilla_api::{Profile, ProfileCreate, ProfileList, ProfileUpdate, ProfileValidate};
use flotilla_core::profile::ProfileSpec;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile from a spec file ({type, version, properties}, YAML or JSON).
    Create {
        /// Name of the new profile.
        name: String,
        /// The spec: a .yaml/.yml or .json file.
        #[arg(long, value_name = "FILE")]
        spec_file: PathBuf,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List profiles (of the current project; every project's with --all-projects).
    List {
        /// Only profiles of this type, e.g. container.docker.
        #[arg(long = "type", value_name = "TYPE")]
        type_name: Option<String>,
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        labels: LabelArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a profile by name or id, with its spec.
    Show {
        /// Name or id of the profile.
        #[arg(add = ArgValueCandidates::new(completion::profiles))]
        profile: String,
    },
    /// Rename a profile or replace its metadata (its spec never changes).
    Update {
        /// Name or id of the profile.
        #[arg(add = ArgValueCandidates::new(completion::profiles))]
        profile: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a profile.
    Delete {
        /// Name or id of the profile.
        #[arg(add = ArgValueCandidates::new(completion::profiles))]
        profile: String,
    },
    /// Check a spec file with the server without saving it.
    Validate {
        /// The spec: a .yaml/.yml or .json file.
        #[arg(long, value_name = "FILE")]
        spec_file: PathBuf,
    },
}

pub async fn run(client: &Target, format: Format, command: ProfileCommand) -> Result<()> {
    match command {
        ProfileCommand::Create { name, spec_file, metadata } => {
            let body = ProfileCreate { name, spec: read_spec(&spec_file)?, metadata: metadata.metadata() };
            output::one(format, &client.create_profile(&body).await?)
        }
        ProfileCommand::List { type_name, list, labels, spread } => {
            client.list(format, &spread, async |c| c.list_profiles(type_name.as_deref(), labels.listing(&list.query())).await).await
        }
        ProfileCommand::Show { profile } => output::one(format, &client.profile(&profile).await?),
        ProfileCommand::Update { profile, name, metadata } => {
            let body = ProfileUpdate { name, metadata: metadata.update() };
            output::one(format, &client.update_profile(&profile, &body).await?)
        }
        ProfileCommand::Delete { profile } => {
            client.delete_profile(&profile).await?;
            output::deleted(format, "profile", &profile)
        }
        ProfileCommand::Validate { spec_file } => {
            let spec = client.validate_profile(&ProfileValidate { spec: read_spec(&spec_file)? }).await?;
            validated(format, &spec_file, &format!("{} {} profile", spec.type_name, spec.version), &spec)
        }
    }
}

fn read_spec(path: &Path) -> Result<ProfileSpec> {
    read_document(path)
}

impl Row for Profile {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "TYPE", "IMAGE", "PROJECT", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            format!("{} {}", self.spec.type_name, self.spec.version),
            self.spec.properties.image.clone(),
            self.project_id.to_string(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(ProfileList, profiles, Profile);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_read_from_yaml_or_json() {
        let tmp = tempfile::tempdir().unwrap();
        let yaml = tmp.path().join("web.yaml");
        std::fs::write(&yaml, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: busybox\n  memory: 64\n").unwrap();
        let spec = read_spec(&yaml).unwrap();
        assert_eq!((spec.properties.image.as_str(), spec.properties.memory), ("busybox", Some(64)));

        let json = tmp.path().join("web.JSON");
        std::fs::write(&json, r#"{"type":"container.docker","version":"1.0","properties":{"image":"nginx"}}"#).unwrap();
        assert_eq!(read_spec(&json).unwrap().properties.image, "nginx");

        std::fs::write(&yaml, "type: container.docker\nversion: \"1.0\"\nproperties:\n  image: busybox\n  colour: red\n").unwrap();
        let err = format!("{:#}", read_spec(&yaml).unwrap_err());
        assert!(err.contains("web.yaml") && err.contains("colour"), "{err}");

        let err = format!("{:#}", read_spec(&tmp.path().join("missing.yaml")).unwrap_err());
        assert!(err.contains("cannot read") && err.contains("missing.yaml"), "{err}");
    }
}
