//! The one error every validator returns: which field, which value, and why it was refused.

/// A refused input value. `field` is a path such as `properties.ports[0].container`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field} {value:?}: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub value: String,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, value: impl ToString, reason: impl Into<String>) -> Self {
        Self { field: field.into(), value: value.to_string(), reason: reason.into() }
    }
}
