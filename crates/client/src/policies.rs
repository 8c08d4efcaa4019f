//! Policy endpoints: create from a spec, list, show, update, delete, validate, and the policy types.

use crate::{Call, Client, ClientError, Validated};
use flotilla_api::{ListQuery, Policy, PolicyCreate, PolicyList, PolicyUpdate, PolicyValidate};
use flotilla_core::policy::PolicySpec;
use serde::{Deserialize, Serialize};

/// One policy type the region knows: `scaling 1.0`, priority 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyTypeInfo {
    pub name: String,
    pub version: String,
    /// Where policies of this type run among a cluster's policies: lower first.
    pub priority: u32,
}

/// `GET /v1/policy-types`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyTypeList {
    pub policy_types: Vec<PolicyTypeInfo>,
}

impl Client {
    pub async fn create_policy(&self, body: &PolicyCreate) -> Result<Policy, ClientError> {
        self.send(Call::post(&["policies"], body)).await
    }

    pub async fn list_policies(&self, query: &ListQuery) -> Result<PolicyList, ClientError> {
        self.send(Call::get(&["policies"]).query(query)).await
    }

    /// A policy by id or name.
    pub async fn policy(&self, key: &str) -> Result<Policy, ClientError> {
        self.send(Call::get(&["policies", key])).await
    }

    /// Renames a policy or replaces its metadata (its spec never changes).
    pub async fn update_policy(&self, key: &str, body: &PolicyUpdate) -> Result<Policy, ClientError> {
        self.send(Call::patch(&["policies", key], body)).await
    }

    /// Deletes a policy; refused (409) while a cluster has it attached.
    pub async fn delete_policy(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["policies", key])).await
    }

    /// Checks a spec without saving it; answers the spec as the server understood it (defaults filled in).
    pub async fn validate_policy(&self, body: &PolicyValidate) -> Result<PolicySpec, ClientError> {
        self.send::<Validated<PolicySpec>, _>(Call::post(&["policies", "validate"], body)).await.map(|v| v.spec)
    }

    /// The policy types the region knows, with their versions and priorities.
    pub async fn policy_types(&self) -> Result<PolicyTypeList, ClientError> {
        self.send(Call::get(&["policy-types"])).await
    }
}
