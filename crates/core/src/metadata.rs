//! User-set string maps carried by every object, with limits on their size.

use crate::validation::ValidationError;
use std::collections::BTreeMap;

/// Free-form labels an owner attaches to an object.
pub type Metadata = BTreeMap<String, String>;

pub const MAX_METADATA_ENTRIES: usize = 64;
pub const MAX_METADATA_KEY_LEN: usize = 255;
pub const MAX_METADATA_VALUE_LEN: usize = 1024;

/// Checks entry count and key/value lengths; the field path names the offending key.
pub fn validate(metadata: &Metadata) -> Result<(), ValidationError> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(ValidationError::new(
            "metadata",
            format!("{} entries", metadata.len()),
            format!("at most {MAX_METADATA_ENTRIES} entries"),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.len() > MAX_METADATA_KEY_LEN {
            return Err(ValidationError::new("metadata", key, format!("keys must be 1-{MAX_METADATA_KEY_LEN} characters")));
        }
        if value.len() > MAX_METADATA_VALUE_LEN {
            return Err(ValidationError::new(
                format!("metadata.{key}"),
                format!("{} characters", value.len()),
                format!("values must be at most {MAX_METADATA_VALUE_LEN} characters"),
            ));
        }
    }
    Ok(())
}
