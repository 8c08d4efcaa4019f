//! Clusters: N containers of one profile, their statuses, how the status follows the members,
//! and the node name format (`$nI` index, `$nR` random).

use crate::{ClusterId, Metadata, Name, ProfileId, ProjectId, Timestamp, UserId, ValidationError};

crate::named_enum! {
    /// A cluster's status: what it is doing, or how healthy its members are between actions.
    pub enum ClusterStatus {
        Init => "INIT",
        Active => "ACTIVE",
        Creating => "CREATING",
        Updating => "UPDATING",
        Resizing => "RESIZING",
        Deleting => "DELETING",
        Checking => "CHECKING",
        Recovering => "RECOVERING",
        Error => "ERROR",
        Warning => "WARNING",
    }
}

/// The default per-action timeout of a cluster, in seconds (Senlin's `default_action_timeout`).
pub const DEFAULT_TIMEOUT_SECS: u32 = 3600;

/// The default node name format: the cluster's name, a dash and the node's index.
pub const DEFAULT_NODE_NAME_FORMAT: &str = "$nI";

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub id: ClusterId,
    pub name: Name,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub profile_id: ProfileId,
    pub desired_capacity: i64,
    pub min_size: i64,
    /// -1: unlimited.
    pub max_size: i64,
    /// Seconds each action of this cluster may take.
    pub timeout: u32,
    pub config: ClusterConfig,
    pub status: ClusterStatus,
    pub status_reason: String,
    /// The next node index to hand out (indexes are never reused).
    pub next_index: i64,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Cluster {
    /// A new cluster `name` of `profile`, made by `user` in `project`: INIT, `desired_capacity`
    /// nodes wanted, unbounded (sizes 0 to -1), the default timeout and node naming, no metadata,
    /// its first node index 1.
    pub fn new(name: Name, project_id: ProjectId, user_id: UserId, profile_id: ProfileId, desired_capacity: i64) -> Self {
        let now = crate::now();
        Self {
            id: ClusterId::new(),
            name,
            project_id,
            user_id,
            profile_id,
            desired_capacity,
            min_size: 0,
            max_size: -1,
            timeout: DEFAULT_TIMEOUT_SECS,
            config: ClusterConfig::default(),
            status: ClusterStatus::Init,
            status_reason: String::new(),
            next_index: 1,
            metadata: Metadata::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// A cluster's `config`: how its nodes are named.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `$nI` is replaced by the node's index padded to n digits, `$nR` by n random characters;
    /// for example `web-$3I` gives `web-001`. It must hold `$I`. Without a format, nodes are named `CLUSTER-INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name_format: Option<String>,
}

impl ClusterConfig {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(format) = &self.node_name_format {
            if node_name(format, 1, &mut || 'a') == node_name(format, 2, &mut || 'a') {
                return Err(ValidationError::new("config.node_name_format", format, "must contain $I (the node's index) so names differ"));
            }
            let sample = node_name(format, 1, &mut || 'a');
            Name::parse("config.node_name_format", &sample).map_err(|e| {
                ValidationError::new("config.node_name_format", format, format!("gives names like {sample:?}: {}", e.reason))
            })?;
        }
        Ok(())
    }

    /// The name of node `index` of `cluster`; `random` gives each `$nR` character.
    pub fn node_name(&self, cluster: &str, index: i64, random: &mut dyn FnMut() -> char) -> String {
        match &self.node_name_format {
            Some(format) => node_name(format, index, random),
            None => format!("{cluster}-{index}"),
        }
    }
}

/// Expands `$nI` (index padded to n digits; `$I` unpadded) and `$nR` (n random characters).
fn node_name(format: &str, index: i64, random: &mut dyn FnMut() -> char) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let width: usize = digits.parse().unwrap_or(0);
        match after[digits.len()..].chars().next() {
            Some('I') => {
                out.push_str(&format!("{index:0width$}"));
                rest = &after[digits.len() + 1..];
            }
            Some('R') => {
                (0..width.max(1)).for_each(|_| out.push(random()));
                rest = &after[digits.len() + 1..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Counts of a cluster's members by what they are doing, the input of [`evaluate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberCounts {
    pub total: i64,
    pub active: i64,
}

/// The status a cluster settles in after an action, as Senlin's `eval_status`: fewer active
/// members than `min_size` is ERROR, fewer than desired is WARNING, else ACTIVE; the reason
/// names the numbers.
pub fn evaluate(desired: i64, min_size: i64, max_size: i64, members: MemberCounts) -> (ClusterStatus, String) {
    let MemberCounts { total, active } = members;
    if active < min_size {
        (ClusterStatus::Error, format!("{active} of {total} nodes active, fewer than min_size {min_size}"))
    } else if active < desired {
        (ClusterStatus::Warning, format!("{active} of {total} nodes active, fewer than desired_capacity {desired}"))
    } else if max_size >= 0 && active > max_size {
        (ClusterStatus::Warning, format!("{active} nodes active, more than max_size {max_size}"))
    } else {
        (ClusterStatus::Active, format!("{active} of {total} nodes active"))
    }
}

/// Checks the seconds each action of a cluster may take: 1 up to [`crate::bounds::MAX_ACTION_TIMEOUT`].
pub fn check_timeout(timeout: u32) -> Result<(), ValidationError> {
    crate::bounds::range("timeout", timeout, 1, crate::bounds::MAX_ACTION_TIMEOUT)
}

/// Checks a cluster's size properties as Senlin's cluster create does, naming the field.
pub fn check_sizes(desired: i64, min_size: i64, max_size: i64, max_nodes_per_cluster: i64) -> Result<(), ValidationError> {
    if min_size < 0 {
        return Err(ValidationError::new("min_size", min_size, "must be 0 or more"));
    }
    if max_size < -1 {
        return Err(ValidationError::new("max_size", max_size, "must be -1 (unlimited) or more"));
    }
    if max_size >= 0 && min_size > max_size {
        return Err(ValidationError::new("min_size", min_size, format!("must be at most max_size {max_size}")));
    }
    if desired < min_size {
        return Err(ValidationError::new("desired_capacity", desired, format!("must be at least min_size {min_size}")));
    }
    if max_size >= 0 && desired > max_size {
        return Err(ValidationError::new("desired_capacity", desired, format!("must be at most max_size {max_size}")));
    }
    if desired > max_nodes_per_cluster {
        return Err(ValidationError::new(
            "desired_capacity",
            desired,
            format!("exceeds the region's max_nodes_per_cluster {max_nodes_per_cluster}"),
        ));
    }
    if max_size > max_nodes_per_cluster {
        return Err(ValidationError::new(
            "max_size",
            max_size,
            format!("exceeds the region's max_nodes_per_cluster {max_nodes_per_cluster}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(total: i64, active: i64) -> MemberCounts {
        MemberCounts { total, active }
    }

    #[test]
    fn status_follows_the_members() {
        let cases = [
            (3, 1, 5, counts(3, 3), ClusterStatus::Active),
            (3, 1, 5, counts(3, 2), ClusterStatus::Warning),
            (3, 2, 5, counts(3, 1), ClusterStatus::Error),
            (0, 0, -1, counts(0, 0), ClusterStatus::Active),
            (2, 0, 2, counts(3, 3), ClusterStatus::Warning),
        ];
        for (desired, min, max, members, want) in cases {
            assert_eq!(evaluate(desired, min, max, members).0, want, "{desired} {min} {max} {members:?}");
        }
        assert_eq!(evaluate(3, 2, 5, counts(3, 1)).1, "1 of 3 nodes active, fewer than min_size 2");
    }

    #[test]
    fn node_names_follow_the_format() {
        let config = |f: &str| ClusterConfig { node_name_format: Some(f.to_owned()) };
        let mut r = || 'x';
        assert_eq!(ClusterConfig::default().node_name("web", 7, &mut r), "web-7");
        assert_eq!(config("node-$3I").node_name("web", 7, &mut r), "node-007");
        assert_eq!(config("$I").node_name("web", 7, &mut r), "7");
        assert_eq!(config("n-$2R-$I").node_name("web", 12, &mut r), "n-xx-12");
        assert!(config("plain").validate().is_err());
        assert!(config("n-$4R").validate().is_err());
        assert!(config("bad name $I").validate().is_err());
        assert!(config("ok-$I").validate().is_ok());
    }

    #[test]
    fn sizes_are_checked_naming_the_field() {
        assert!(check_sizes(3, 1, 5, 1000).is_ok());
        assert!(check_sizes(0, 0, -1, 1000).is_ok());
        assert_eq!(check_sizes(6, 1, 5, 1000).unwrap_err().field, "desired_capacity");
        assert_eq!(check_sizes(1, 2, 5, 1000).unwrap_err().field, "desired_capacity");
        assert_eq!(check_sizes(3, 6, 5, 1000).unwrap_err().field, "min_size");
        assert_eq!(check_sizes(3, -1, 5, 1000).unwrap_err().field, "min_size");
        assert_eq!(check_sizes(3, 0, -2, 1000).unwrap_err().field, "max_size");
        assert_eq!(check_sizes(1001, 0, -1, 1000).unwrap_err().field, "desired_capacity");
    }
}
