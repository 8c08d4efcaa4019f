//! Object names: short, printable, never shaped like an id, so the API can take either.

use crate::validation::ValidationError;
use std::fmt;

/// Longest name accepted.
pub const MAX_NAME_LEN: usize = 63;

/// A validated object name: 1–63 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or
/// digit, and not parseable as a UUID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Validates `value` as the name held by `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let refuse = |reason: &str| Err(ValidationError::new(field, value, reason));
        if value.is_empty() {
            return refuse("must not be empty");
        }
        if value.len() > MAX_NAME_LEN {
            return refuse(&format!("must be at most {MAX_NAME_LEN} characters"));
        }
        if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return refuse("must start with a letter or a digit");
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return refuse("may hold only letters, digits, '.', '_' and '-'");
        }
        if uuid::Uuid::parse_str(value).is_ok() {
            return refuse("must not look like an id");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let cases = [
            ("web", true),
            ("web-1.a_b", true),
            ("9lives", true),
            ("", false),
            ("-web", false),
            ("web server", false),
            ("wéb", false),
            ("0191a5a0-0000-7000-8000-000000000000", false),
        ];
        for (value, ok) in cases {
            assert_eq!(Name::parse("name", value).is_ok(), ok, "{value:?}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        let err = Name::parse("name", &long).unwrap_err();
        assert_eq!(err.field, "name");
        assert!(err.reason.contains("63"), "{err}");
    }
}
