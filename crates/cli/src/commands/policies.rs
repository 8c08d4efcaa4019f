//! `flotilla policy ...`: policies from spec files (scaling, deletion, placement, affinity, health,
//! batch, autoscaling): create, list, show, rename, delete, validate, and the types the region knows.

use super::common::{ListArgs, MetadataArgs, read_document, validated};
use crate::output::{self, Format, Row};
use crate::target::{Spread, Target};
use anyhow::Result;
use clap::Subcommand;
use flotilla_api::{Policy, PolicyCreate, PolicyList, PolicyUpdate, PolicyValidate};
use flotilla_core::policy::PolicySpec;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Create a policy from a spec file ({type, version, properties}, YAML or JSON).
    Create {
        /// Name of the new policy.
        name: String,
        /// The spec: a .yaml/.yml or .json file.
        #[arg(long, value_name = "FILE")]
        spec_file: PathBuf,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// List policies.
    List {
        #[command(flatten)]
        list: ListArgs,
        #[command(flatten)]
        spread: Spread,
    },
    /// Show a policy by name or id, with its spec.
    Show {
        /// Name or id of the policy.
        policy: String,
    },
    /// Rename a policy or replace its metadata (its spec never changes).
    Update {
        /// Name or id of the policy.
        policy: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        metadata: MetadataArgs,
    },
    /// Delete a policy (refused while a cluster has it attached).
    Delete {
        /// Name or id of the policy.
        policy: String,
    },
    /// Check a spec file with the server without saving it.
    Validate {
        /// The spec: a .yaml/.yml or .json file.
        #[arg(long, value_name = "FILE")]
        spec_file: PathBuf,
    },
    /// List the policy types the region knows, with their versions and priorities.
    TypeList,
}

pub async fn run(client: &Target, format: Format, command: PolicyCommand) -> Result<()> {
    match command {
        PolicyCommand::Create { name, spec_file, metadata } => {
            let body = PolicyCreate { name, spec: read_spec(&spec_file)?, metadata: metadata.metadata() };
            output::one(format, &client.create_policy(&body).await?)
        }
        PolicyCommand::List { list, spread } => client.list(format, &spread, async |c| c.list_policies(&list.query()).await).await,
        PolicyCommand::Show { policy } => output::one(format, &client.policy(&policy).await?),
        PolicyCommand::Update { policy, name, metadata } => {
            let body = PolicyUpdate { name, metadata: metadata.update() };
            output::one(format, &client.update_policy(&policy, &body).await?)
        }
        PolicyCommand::Delete { policy } => {
            client.delete_policy(&policy).await?;
            output::deleted(format, "policy", &policy)
        }
        PolicyCommand::Validate { spec_file } => {
            let spec = client.validate_policy(&PolicyValidate { spec: read_spec(&spec_file)? }).await?;
            validated(format, &spec_file, &format!("{} {} policy", spec.type_name, spec.version), &spec)
        }
        PolicyCommand::TypeList => {
            let types = client.policy_types().await?;
            let rows = types.policy_types.iter().map(|t| vec![t.name.clone(), t.version.clone(), t.priority.to_string()]).collect();
            output::grid(format, &types, &["NAME", "VERSION", "PRIORITY"], rows)
        }
    }
}

fn read_spec(path: &Path) -> Result<PolicySpec> {
    read_document(path)
}

impl Row for Policy {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "TYPE", "PRIORITY", "CREATED"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            format!("{} {}", self.type_name, self.spec.version),
            self.spec.priority().to_string(),
            output::when(&self.created_at),
        ]
    }
}

output::listing!(PolicyList, policies, Policy);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_read_from_yaml_or_json() {
        let tmp = tempfile::tempdir().unwrap();
        let yaml = tmp.path().join("scale.yaml");
        let text = "type: scaling\nversion: 1.0\nproperties:\n  event: CLUSTER_SCALE_OUT\n  adjustment:\n    type: CHANGE_IN_CAPACITY\n    number: 2\n";
        std::fs::write(&yaml, text).unwrap();
        let spec = read_spec(&yaml).unwrap();
        assert_eq!((spec.type_name.as_str(), spec.version.as_str(), spec.priority()), ("scaling", "1.0", 100));

        let json = tmp.path().join("delete.json");
        std::fs::write(&json, r#"{"properties": {"criteria": "OLDEST_FIRST"}, "type": "deletion", "version": "1.0"}"#).unwrap();
        assert_eq!(read_spec(&json).unwrap().type_name.as_str(), "deletion", "properties may come first");

        std::fs::write(&yaml, "type: deletion\nversion: \"1.0\"\nproperties:\n  criteria: OLDEST_FIRST\n  colour: red\n").unwrap();
        let err = format!("{:#}", read_spec(&yaml).unwrap_err());
        assert!(err.contains("scale.yaml") && err.contains("colour"), "{err}");
    }
}
