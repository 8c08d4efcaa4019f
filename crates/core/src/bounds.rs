//! The limits every number, list, map and string a user sends is held to at the edge, and their checks.
//!
//! Each limit is generous for what a Kubernetes or Docker user writes, and small enough that no sum,
//! product or timestamp made from it can overflow. The OpenAPI document states the same numbers.

use crate::validation::ValidationError;
use std::collections::BTreeMap;
use std::fmt::Display;

/// The most cores a container may ask for.
pub const MAX_CPU_CORES: f64 = 1024.0;
/// The fewest MiB of memory a container may be limited to (Docker's own floor is 6 MiB; 4 was kept).
pub const MIN_MEMORY_MIB: u64 = 4;
/// The most MiB of memory a container may ask for: 16 TiB.
pub const MAX_MEMORY_MIB: u64 = 16 * 1024 * 1024;
/// The most MiB a volume or a disk may be: 1 PiB.
pub const MAX_DISK_MIB: u64 = 1024 * 1024 * 1024;
/// The longest any user-set stretch of time may be (cooldowns, windows, intervals, pauses, timeouts,
/// lifetimes): 366 days, in seconds.
pub const MAX_SECONDS: u64 = 366 * 24 * 3600;
/// The longest an action may run: 7 days, in seconds.
pub const MAX_ACTION_TIMEOUT: u32 = 7 * 24 * 3600;
/// The ceiling of any cluster size (and of the region's `max_nodes_per_cluster`).
pub const MAX_CLUSTER_SIZE: i64 = 1_000_000;
/// The most entries of a list or map in a spec (environment, command, labels, ports, constraints, ...).
pub const MAX_ENTRIES: usize = 256;
/// The longest key of an environment or labels map.
pub const MAX_KEY_LEN: usize = 255;
/// The longest value of an environment or labels map, or one argument of a command: 32 KiB.
pub const MAX_VALUE_LEN: usize = 32 * 1024;
/// The longest free-text string elsewhere (paths, constraints, references).
pub const MAX_TEXT_LEN: usize = 4096;

/// `value` within `min..=max`, else a refusal naming `field` and the range (a NaN is outside).
pub fn range<T: PartialOrd + Display>(field: impl Into<String>, value: T, min: T, max: T) -> Result<(), ValidationError> {
    if !(&min..=&max).contains(&&value) {
        return Err(ValidationError::new(field, &value, format!("must be between {min} and {max}")));
    }
    Ok(())
}

/// A number of seconds within `min..=MAX_SECONDS`.
pub fn seconds(field: impl Into<String>, value: u64, min: u64) -> Result<(), ValidationError> {
    range(field, value, min, MAX_SECONDS)
}

/// A list or map of at most `MAX_ENTRIES` entries.
pub fn entries(field: impl Into<String>, len: usize) -> Result<(), ValidationError> {
    if len > MAX_ENTRIES {
        return Err(ValidationError::new(field, format!("{len} entries"), format!("at most {MAX_ENTRIES} entries")));
    }
    Ok(())
}

/// A string of at most `max` bytes.
pub fn text(field: impl Into<String>, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        return Err(ValidationError::new(field, format!("{} characters", value.len()), format!("at most {max} characters")));
    }
    Ok(())
}

/// A list of strings: at most `MAX_ENTRIES`, each at most `max` bytes; paths name the index.
pub fn strings(field: &str, values: &[String], max: usize) -> Result<(), ValidationError> {
    entries(field, values.len())?;
    values.iter().enumerate().try_for_each(|(i, v)| text(format!("{field}[{i}]"), v, max))
}

/// A string map: at most `MAX_ENTRIES`, keys 1-`MAX_KEY_LEN` bytes, values at most `MAX_VALUE_LEN`.
pub fn string_map(field: &str, map: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    entries(field, map.len())?;
    for (key, value) in map {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(ValidationError::new(field, key, format!("keys must be 1-{MAX_KEY_LEN} characters")));
        }
        text(format!("{field}.{key}"), value, MAX_VALUE_LEN)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field_and_the_limit() {
        assert!(range("cpu", 1.5, 0.001, MAX_CPU_CORES).is_ok());
        let e = range("memory", u64::MAX, MIN_MEMORY_MIB, MAX_MEMORY_MIB).unwrap_err();
        assert_eq!((e.field.as_str(), e.value.as_str()), ("memory", "18446744073709551615"));
        assert!(e.reason.contains("16777216"), "{e}");
        assert_eq!(seconds("cooldown", 10u64.pow(16), 0).unwrap_err().reason, format!("must be between 0 and {MAX_SECONDS}"));
        let big: BTreeMap<String, String> = (0..=MAX_ENTRIES).map(|i| (format!("K{i}"), String::new())).collect();
        assert_eq!(string_map("environment", &big).unwrap_err().reason, "at most 256 entries");
        let long = BTreeMap::from([("K".to_owned(), "v".repeat(MAX_VALUE_LEN + 1))]);
        assert_eq!(string_map("labels", &long).unwrap_err().field, "labels.K");
        let empty_key = BTreeMap::from([(String::new(), "v".to_owned())]);
        assert_eq!(string_map("labels", &empty_key).unwrap_err().field, "labels");
        assert_eq!(strings("command", &["x".repeat(MAX_VALUE_LEN + 1)], MAX_VALUE_LEN).unwrap_err().field, "command[0]");
        assert!(strings("command", &vec![String::new(); MAX_ENTRIES + 1], 1).is_err());
    }
}
