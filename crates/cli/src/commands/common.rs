//! Arguments several commands share: paging a list, setting metadata, enabling and disabling,
//! reading spec files, and deleting several objects at once.

use crate::output::{self, Format};
use anyhow::{Context, Result, bail};
use clap::Args;
use flotilla_api::ListQuery;
use flotilla_client::{ClientError, Listing};
use flotilla_core::Metadata;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Paging and filtering of a list.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Page size (1-1000, default 100).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Start after this id: the `next` of the previous page.
    #[arg(long)]
    pub marker: Option<String>,
    /// Sort key: name, created_at or updated_at, optionally with :asc or :desc.
    #[arg(long, value_name = "KEY[:DIR]")]
    pub sort: Option<String>,
    /// Only objects with exactly this name.
    #[arg(long)]
    pub name: Option<String>,
    /// List across every project (admins only).
    #[arg(long)]
    pub all_projects: bool,
}

impl ListArgs {
    pub fn query(&self) -> ListQuery {
        ListQuery {
            limit: self.limit,
            marker: self.marker.clone(),
            sort: self.sort.clone(),
            name: self.name.clone(),
            all_projects: self.all_projects.then_some(true),
        }
    }
}

/// `-l SELECTOR` on lists of labelled objects: the server keeps only the matching ones.
#[derive(Debug, Clone, Args)]
pub struct LabelArgs {
    /// Only objects whose labels (metadata; a host's labels) match every comma-separated term:
    /// key=value, key!=value, key (present), !key (missing).
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<String>,
}

impl LabelArgs {
    /// The page request `query` with this selector.
    pub fn listing<'a>(&'a self, query: &'a ListQuery) -> Listing<'a> {
        Listing { query, labels: self.selector.as_deref() }
    }
}

/// `--metadata KEY=VALUE`, repeatable.
#[derive(Debug, Clone, Args)]
pub struct MetadataArgs {
    /// A metadata entry KEY=VALUE; repeat for more. On update, replaces all metadata.
    #[arg(long = "metadata", value_name = "KEY=VALUE", value_parser = parse_entry)]
    pub entries: Vec<(String, String)>,
}

impl MetadataArgs {
    /// The metadata to set, `None` when no entry was given.
    pub fn update(&self) -> Option<Metadata> {
        (!self.entries.is_empty()).then(|| self.metadata())
    }

    pub fn metadata(&self) -> Metadata {
        self.entries.iter().cloned().collect()
    }
}

/// `KEY=VALUE`, the key not empty.
pub fn parse_entry(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => bail!("expected KEY=VALUE"),
    }
}

/// `KEY=VALUE` of an action parameter: the value read as JSON when it is JSON (`2`, `true`, `[1, 2]`,
/// `"2"`), else taken as a string.
pub fn parse_param(text: &str) -> Result<(String, serde_json::Value)> {
    let (key, value) = parse_entry(text)?;
    let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
    Ok((key, value))
}

/// `--param KEY=VALUE` entries as a JSON object (a later entry for a key wins).
pub fn params(entries: Vec<(String, serde_json::Value)>) -> serde_json::Map<String, serde_json::Value> {
    entries.into_iter().collect()
}

/// `OLD=NEW`, neither side empty.
pub fn parse_pair(text: &str) -> Result<(String, String)> {
    match parse_entry(text) {
        Ok((old, new)) if !new.is_empty() => Ok((old, new)),
        _ => bail!("expected OLD=NEW"),
    }
}

/// `--enable` / `--disable` on update.
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    /// Enable it.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    /// Disable it.
    #[arg(long)]
    pub disable: bool,
}

impl EnableArgs {
    pub fn enabled(&self) -> Option<bool> {
        match (self.enable, self.disable) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// Deletes each of `keys` in turn, as `docker rm a b` does: one that cannot go does not stop the
/// others. Every failure but the last is printed as it comes; the command fails with the last.
pub async fn delete_each(format: Format, kind: &str, keys: &[String], delete: impl AsyncFn(&str) -> Result<(), ClientError>) -> Result<()> {
    let mut failed: Option<ClientError> = None;
    for key in keys {
        match delete(key).await {
            Ok(()) => output::deleted(format, kind, key)?,
            Err(err) => {
                if let Some(earlier) = failed.replace(err) {
                    eprintln!("error: {earlier}");
                }
            }
        }
    }
    failed.map_or(Ok(()), |err| Err(err.into()))
}

/// Reads a spec file: JSON when its name ends in `.json`, else YAML.
pub fn read_document<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let document = if is_json {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    } else {
        serde_saphyr::from_str(&text).map_err(anyhow::Error::from)
    };
    document.with_context(|| format!("invalid spec in {}", path.display()))
}

/// Prints the answer to a validate: `FILE is a valid WHAT` for people, the spec as the server read it
/// (defaults filled in) as JSON or YAML.
pub fn validated<T: Serialize>(format: Format, path: &Path, what: &str, spec: &T) -> Result<()> {
    if format.is_table() { output::done(format, &format!("{} is a valid {what}", path.display())) } else { output::one(format, spec) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_entries() {
        assert_eq!(parse_entry("tier=web").unwrap(), ("tier".into(), "web".into()));
        assert_eq!(parse_entry("k=a=b").unwrap(), ("k".into(), "a=b".into()));
        assert_eq!(parse_entry("k=").unwrap(), ("k".into(), String::new()));
        assert!(parse_entry("=v").is_err());
        assert!(parse_entry("novalue").is_err());
        let args = MetadataArgs { entries: vec![] };
        assert_eq!(args.update(), None);
    }

    #[test]
    fn params_are_json_when_they_can_be() {
        use serde_json::json;
        let entries: Vec<_> = ["count=2", "strict=false", "type=EXACT_CAPACITY", "nodes=[\"a\",\"b\"]", "name=\"2\"", "blank="]
            .into_iter()
            .map(|t| parse_param(t).unwrap())
            .collect();
        let expected = json!({"count": 2, "strict": false, "type": "EXACT_CAPACITY", "nodes": ["a", "b"], "name": "2", "blank": ""});
        assert_eq!(serde_json::Value::Object(params(entries)), expected);
        assert!(parse_param("=2").is_err());
        let later = params(vec![parse_param("count=1").unwrap(), parse_param("count=3").unwrap()]);
        assert_eq!(later["count"], 3, "the last entry for a key wins");
    }

    #[test]
    fn pairs_need_both_sides() {
        assert_eq!(parse_pair("web-1=spare-1").unwrap(), ("web-1".into(), "spare-1".into()));
        for bad in ["web-1=", "=spare", "web-1"] {
            assert!(parse_pair(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn deletes_go_on_past_a_failure_and_end_with_the_last() {
        let tried = std::sync::Mutex::new(Vec::new());
        let keys: Vec<String> = ["a", "b", "c", "d"].map(String::from).into();
        let delete = async |key: &str| {
            tried.lock().unwrap().push(key.to_owned());
            match key {
                "b" | "c" => Err(ClientError::Api {
                    status: 409,
                    title: "Conflict".into(),
                    message: format!("{key} in use"),
                    request_id: String::new(),
                }),
                _ => Ok(()),
            }
        };
        let err = delete_each(Format::Json, "network", &keys, delete).await.unwrap_err();
        assert_eq!(err.to_string(), "c in use (409)");
        assert_eq!(*tried.lock().unwrap(), keys, "every key is tried");
        delete_each(Format::Json, "network", &keys[..1], async |_| Ok(())).await.unwrap();
    }

    #[test]
    fn list_args_make_the_query() {
        let args = ListArgs { limit: Some(2), marker: None, sort: Some("name".into()), name: None, all_projects: false };
        let query = args.query();
        assert_eq!((query.limit, query.all_projects), (Some(2), None));
        let args = ListArgs { all_projects: true, ..args };
        assert_eq!(args.query().all_projects, Some(true));
    }
}
