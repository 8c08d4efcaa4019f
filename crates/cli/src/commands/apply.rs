//! `flotilla apply -f FILE`: the objects a multi-document YAML (or JSON) file describes —
//! networks, volumes, profiles, policies and clusters with their policies — made or brought to
//! what the file says, by name; `--dry-run` prints what would change and changes nothing.

use super::follow;
use super::wait::WaitArgs;
use crate::output::{self, Format, Row};
use crate::target::Target;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use flotilla_api::{
    ClusterActionRequest, ClusterCreate, ClusterUpdate, NetworkCreate, PolicyCreate, PolicyParams, PolicyUpdate, ProfileCreate,
    ProfileUpdate, ResizeParams, VolumeCreate,
};
use flotilla_client::{Client, ClientError, Updated};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The file: YAML documents separated by `---` (or one JSON document, or a JSON list), each
    /// with a `kind` (network, volume, profile, policy or cluster), a `name` and the fields of
    /// that kind's create; a cluster may list `policies` (names) to have attached.
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// Print what would be made or changed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for each cluster action the apply starts, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub wait_timeout: u64,
}

/// The kinds a file may hold, in the order they are applied (what others name comes first).
const KINDS: [&str; 5] = ["network", "volume", "profile", "policy", "cluster"];

/// One object of the file.
#[derive(Debug)]
struct Document {
    kind: &'static str,
    name: String,
    /// The fields of the kind's create (with `name`, without `kind`).
    fields: Value,
}

/// What the apply did (or would do) to one object.
#[derive(Debug, Serialize)]
pub struct Outcome {
    kind: &'static str,
    name: String,
    /// created, changed or unchanged.
    result: &'static str,
    /// What differs, one entry per field (`desired_capacity: 2 -> 3`).
    changes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Outcomes {
    objects: Vec<Outcome>,
    dry_run: bool,
    next: Option<String>,
}

output::listing!(Outcomes, objects, Outcome);

impl Row for Outcome {
    const HEADERS: &'static [&'static str] = &["OBJECT", "RESULT", "CHANGES"];
    fn cells(&self) -> Vec<String> {
        vec![format!("{}/{}", self.kind, self.name), self.result.to_owned(), self.changes.join("; ")]
    }
}

pub async fn run(client: &Target, format: Format, args: ApplyArgs) -> Result<()> {
    let mut documents = read(&args.file)?;
    documents.sort_by_key(|d| KINDS.iter().position(|k| *k == d.kind));
    let wait = WaitArgs { wait: true, wait_timeout: args.wait_timeout };
    let mut objects = Vec::new();
    for doc in documents {
        let outcome = apply(client, &doc, args.dry_run, &wait).await.with_context(|| format!("{}/{}", doc.kind, doc.name))?;
        objects.push(outcome);
    }
    if format.is_table() && args.dry_run {
        eprintln!("dry run: nothing was changed");
    }
    output::list(format, &Outcomes { objects, dry_run: args.dry_run, next: None })
}

/// The documents of `path`, each checked to have a known `kind` and a `name`.
fn read(path: &std::path::Path) -> Result<Vec<Document>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let values: Vec<Value> = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        match serde_json::from_str(&text).with_context(|| format!("invalid JSON in {}", path.display()))? {
            Value::Array(items) => items,
            one => vec![one],
        }
    } else {
        serde_saphyr::from_multiple(&text).with_context(|| format!("invalid YAML in {}", path.display()))?
    };
    values.into_iter().filter(|v| !v.is_null()).enumerate().map(|(i, value)| document(i + 1, value)).collect()
}

fn document(number: usize, value: Value) -> Result<Document> {
    let Value::Object(mut fields) = value else { bail!("document {number} is not a mapping") };
    let kind = match fields.remove("kind") {
        Some(Value::String(kind)) => KINDS
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(&kind))
            .ok_or_else(|| anyhow!("document {number}: kind {kind:?} is not one of {}", KINDS.join(", ")))?,
        _ => bail!("document {number}: no kind (one of {})", KINDS.join(", ")),
    };
    let Some(Value::String(name)) = fields.get("name").cloned() else { bail!("document {number} ({kind}): no name") };
    Ok(Document { kind, name, fields: Value::Object(fields) })
}

/// The document's fields as the kind's create body; a field the create does not know is refused.
fn body<T: DeserializeOwned>(doc: &Document, fields: Value) -> Result<T> {
    serde_json::from_value(fields).with_context(|| format!("invalid {} {:?}", doc.kind, doc.name))
}

/// `Some(object)` when `get` finds it, `None` on 404.
async fn existing<T>(get: impl Future<Output = Result<T, ClientError>>) -> Result<Option<T>> {
    match get.await {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn apply(client: &Client, doc: &Document, dry_run: bool, wait: &WaitArgs) -> Result<Outcome> {
    let name = doc.name.as_str();
    match doc.kind {
        "network" => {
            let create: NetworkCreate = body(doc, doc.fields.clone())?;
            let found = existing(client.network(name)).await?.is_some();
            make_only(doc, dry_run, found, async || client.create_network(&create).await.map(drop)).await
        }
        "volume" => {
            let create: VolumeCreate = body(doc, doc.fields.clone())?;
            let found = existing(client.volume(name)).await?.is_some();
            make_only(doc, dry_run, found, async || client.create_volume(&create).await.map(drop)).await
        }
        "profile" => {
            let create: ProfileCreate = body(doc, doc.fields.clone())?;
            let found = match existing(client.profile(name)).await? {
                Some(found) => Some((json(&found.spec)?, json(&found.metadata)?)),
                None => None,
            };
            let metadata = Some(create.metadata.clone());
            let wanted = (json(&create.spec)?, json(&create.metadata)?);
            let make = async || client.create_profile(&create).await.map(drop);
            let update = async || client.update_profile(name, &ProfileUpdate { name: None, metadata }).await.map(drop);
            apply_fixed_spec(doc, dry_run, found, wanted, make, update).await
        }
        "policy" => {
            let create: PolicyCreate = body(doc, doc.fields.clone())?;
            let found = match existing(client.policy(name)).await? {
                Some(found) => Some((json(&found.spec)?, json(&found.metadata)?)),
                None => None,
            };
            let metadata = Some(create.metadata.clone());
            let wanted = (json(&create.spec)?, json(&create.metadata)?);
            let make = async || client.create_policy(&create).await.map(drop);
            let update = async || client.update_policy(name, &PolicyUpdate { name: None, metadata }).await.map(drop);
            apply_fixed_spec(doc, dry_run, found, wanted, make, update).await
        }
        _ => apply_cluster(client, doc, dry_run, wait).await,
    }
}

/// A network or a volume, which the API does not change in place: `make` it unless it is `found`.
async fn make_only(doc: &Document, dry_run: bool, found: bool, make: impl AsyncFnOnce() -> Result<(), ClientError>) -> Result<Outcome> {
    let (result, changes) = if found {
        ("unchanged", vec![format!("exists (apply makes {}s, it does not change them)", doc.kind)])
    } else {
        if !dry_run {
            make().await?;
        }
        ("created", Vec::new())
    };
    Ok(Outcome { kind: doc.kind, name: doc.name.clone(), result, changes })
}

/// A profile or a policy, whose spec never changes: `make` it when it is not `found`, else `update`
/// its metadata when that differs; a different spec is refused, naming what to do instead. `found`
/// and `wanted` are (spec, metadata).
async fn apply_fixed_spec(
    doc: &Document,
    dry_run: bool,
    found: Option<(Value, Value)>,
    wanted: (Value, Value),
    make: impl AsyncFnOnce() -> Result<(), ClientError>,
    update: impl AsyncFnOnce() -> Result<(), ClientError>,
) -> Result<Outcome> {
    let outcome = |result, changes| Outcome { kind: doc.kind, name: doc.name.clone(), result, changes };
    let Some((spec, metadata)) = found else {
        if !dry_run {
            make().await?;
        }
        return Ok(outcome("created", Vec::new()));
    };
    if spec != wanted.0 {
        bail!("its spec differs from the file's, and a {}'s spec never changes: give the new spec a new name", doc.kind);
    }
    let changes = differences(&[("metadata", metadata, wanted.1)]);
    if !changes.is_empty() && !dry_run {
        update().await?;
    }
    Ok(outcome(if changes.is_empty() { "unchanged" } else { "changed" }, changes))
}

/// A cluster: made with its policies attached, or brought to the file's profile, metadata,
/// timeout, sizes (a resize) and policies (attached and detached).
async fn apply_cluster(client: &Client, doc: &Document, dry_run: bool, wait: &WaitArgs) -> Result<Outcome> {
    let mut fields = doc.fields.clone();
    let policies: Vec<String> = match fields.as_object_mut().and_then(|f| f.remove("policies")) {
        Some(list) => serde_json::from_value(list).context("policies: a list of policy names")?,
        None => Vec::new(),
    };
    let create: ClusterCreate = body(doc, fields)?;
    let name = doc.name.as_str();
    let Some(found) = existing(client.cluster(name)).await? else {
        if !dry_run {
            let accepted = client.create_cluster(&create).await?;
            if let Some(action) = accepted.action {
                follow::action(client, &action, wait).await?;
            }
            for policy in &policies {
                attach(client, name, ClusterActionRequest::PolicyAttach(PolicyParams { policy: policy.clone(), enabled: None }), wait)
                    .await?;
            }
        }
        let changes = policies.iter().map(|p| format!("policy {p} attached")).collect();
        return Ok(Outcome { kind: doc.kind, name: doc.name.clone(), result: "created", changes });
    };
    let profile_id = match existing(client.profile(&create.profile)).await? {
        Some(profile) => json(&profile.id)?,
        None if dry_run => Value::String(format!("{} (made by this apply)", create.profile)),
        None => bail!("profile {:?} not found", create.profile),
    };
    let mut changes = differences(&[
        ("profile", json(&found.profile_id)?, profile_id.clone()),
        ("metadata", json(&found.metadata)?, json(&create.metadata)?),
        ("timeout", json(&found.timeout)?, json(&create.timeout.unwrap_or(found.timeout))?),
        ("desired_capacity", json(&found.desired_capacity)?, json(&create.desired_capacity)?),
        ("min_size", json(&found.min_size)?, json(&create.min_size)?),
        ("max_size", json(&found.max_size)?, json(&create.max_size)?),
    ]);
    let attached: Vec<&str> = found.policies.iter().map(|p| p.policy_name.as_str()).collect();
    let to_attach: Vec<&String> = policies.iter().filter(|p| !attached.contains(&p.as_str())).collect();
    let to_detach: Vec<&str> = attached.iter().copied().filter(|a| !policies.iter().any(|p| p == a)).collect();
    changes.extend(to_attach.iter().map(|p| format!("policy {p} attached")));
    changes.extend(to_detach.iter().map(|p| format!("policy {p} detached")));
    if changes.is_empty() || dry_run {
        return Ok(Outcome {
            kind: doc.kind,
            name: doc.name.clone(),
            result: if changes.is_empty() { "unchanged" } else { "changed" },
            changes,
        });
    }
    let update = ClusterUpdate {
        name: None,
        metadata: (found.metadata != create.metadata).then(|| create.metadata.clone()),
        timeout: create.timeout.filter(|t| *t != found.timeout),
        profile: (json(&found.profile_id)? != profile_id).then(|| create.profile.clone()),
    };
    if (update.metadata.is_some() || update.timeout.is_some() || update.profile.is_some())
        && let Updated::Started(accepted) = client.update_cluster(name, &update).await?
    {
        follow::action(client, &accepted.action.to_string(), wait).await?;
    }
    if (found.desired_capacity, found.min_size, found.max_size) != (create.desired_capacity, create.min_size, create.max_size) {
        let resize = ResizeParams {
            adjustment_type: Some("EXACT_CAPACITY".into()),
            number: Some(create.desired_capacity as f64),
            min_size: Some(create.min_size),
            max_size: Some(create.max_size),
            min_step: None,
            strict: true,
        };
        attach(client, name, ClusterActionRequest::Resize(resize), wait).await?;
    }
    for policy in to_attach {
        attach(client, name, ClusterActionRequest::PolicyAttach(PolicyParams { policy: policy.clone(), enabled: None }), wait).await?;
    }
    for policy in to_detach {
        attach(client, name, ClusterActionRequest::PolicyDetach(PolicyParams { policy: policy.to_owned(), enabled: None }), wait).await?;
    }
    Ok(Outcome { kind: doc.kind, name: doc.name.clone(), result: "changed", changes })
}

/// Runs cluster action `request` on `cluster` and waits until it succeeded.
async fn attach(client: &Client, cluster: &str, request: ClusterActionRequest, wait: &WaitArgs) -> Result<()> {
    let accepted = client.cluster_action(cluster, &request).await?;
    follow::action(client, &accepted.action.to_string(), wait).await.map(drop)
}

fn json<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).context("cannot compare the objects")
}

/// `field: now -> wanted` for each field whose values differ.
fn differences(fields: &[(&str, Value, Value)]) -> Vec<String> {
    fields.iter().filter(|(_, now, wanted)| now != wanted).map(|(field, now, wanted)| format!("{field}: {now} -> {wanted}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_need_a_known_kind_and_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.yaml");
        std::fs::write(&path, "kind: cluster\nname: web\nprofile: p\n---\nkind: Profile\nname: p\nspec: {}\n---\n").unwrap();
        let docs = read(&path).unwrap();
        assert_eq!(docs.iter().map(|d| (d.kind, d.name.as_str())).collect::<Vec<_>>(), [("cluster", "web"), ("profile", "p")]);
        std::fs::write(&path, "kind: planet\nname: x\n").unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(err.contains("kind \"planet\" is not one of network, volume, profile, policy, cluster"), "{err}");
        std::fs::write(&path, "kind: volume\nsize_mib: 3\n").unwrap();
        assert!(format!("{:#}", read(&path).unwrap_err()).contains("document 1 (volume): no name"));
    }

    #[test]
    fn differences_name_the_field_and_both_values() {
        let changes = differences(&[("min_size", Value::from(1), Value::from(2)), ("max_size", Value::from(5), Value::from(5))]);
        assert_eq!(changes, ["min_size: 1 -> 2"]);
    }
}
