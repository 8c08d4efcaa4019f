//! Label selectors as kubectl writes them (`app=web,tier!=db,env,!legacy`): every term must match.

use crate::metadata::{MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LEN, MAX_METADATA_VALUE_LEN};
use crate::validation::ValidationError;

/// The query field a selector is read from (the one a bad selector's 400 names).
pub const FIELD: &str = "labels";

/// One term of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` (or `key==value`): the label is there with this value.
    Equals(String, String),
    /// `key!=value`: the label is missing or has another value.
    NotEquals(String, String),
    /// `key`: the label is there, whatever its value.
    Exists(String),
    /// `!key`: the label is missing.
    Missing(String),
}

/// Requirements that must all hold; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Parses comma-separated terms; a bad term is a 400 naming `labels` and the term.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let terms: Vec<&str> = text.split(',').map(str::trim).collect();
        if terms.len() > MAX_METADATA_ENTRIES {
            return Err(ValidationError::new(FIELD, text, format!("at most {MAX_METADATA_ENTRIES} terms")));
        }
        terms.into_iter().map(parse_term).collect::<Result<Vec<_>, _>>().map(Selector)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_term(term: &str) -> Result<Requirement, ValidationError> {
    let requirement = if let Some(key) = term.strip_prefix('!') {
        Requirement::Missing(key.trim().to_owned())
    } else if let Some((key, value)) = term.split_once("!=") {
        Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
    } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
    } else {
        Requirement::Exists(term.to_owned())
    };
    let (key, value) = match &requirement {
        Requirement::Equals(key, value) | Requirement::NotEquals(key, value) => (key, Some(value)),
        Requirement::Exists(key) | Requirement::Missing(key) => (key, None),
    };
    if key.is_empty() || key.len() > MAX_METADATA_KEY_LEN || !key.chars().all(is_key_char) {
        return Err(ValidationError::new(
            FIELD,
            term,
            format!(
                "a term is key, !key, key=value or key!=value; keys are 1-{MAX_METADATA_KEY_LEN} letters, digits, '-', '_', '.' or '/'"
            ),
        ));
    }
    if let Some(value) = value
        && (value.len() > MAX_METADATA_VALUE_LEN || value.contains(['=', '!']))
    {
        return Err(ValidationError::new(
            FIELD,
            term,
            format!("values are at most {MAX_METADATA_VALUE_LEN} characters, without '=' or '!'"),
        ));
    }
    Ok(requirement)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(k: &str) -> String {
        k.to_owned()
    }

    #[test]
    fn parses_every_kind_of_term() {
        let parsed = Selector::parse("app=web, tier!=db,env==prod,team,!legacy").unwrap();
        assert_eq!(
            parsed.0,
            vec![
                Requirement::Equals(s("app"), s("web")),
                Requirement::NotEquals(s("tier"), s("db")),
                Requirement::Equals(s("env"), s("prod")),
                Requirement::Exists(s("team")),
                Requirement::Missing(s("legacy")),
            ]
        );
        assert_eq!(Selector::parse("app=").unwrap().0, vec![Requirement::Equals(s("app"), s(""))]);
    }

    #[test]
    fn refuses_bad_terms_naming_them() {
        for bad in ["", "a=b,", "=web", "!", "a b=c", "a=b=c", "a!=!b", "$x=1", "app=web,\"q\"=1"] {
            let err = Selector::parse(bad).unwrap_err();
            assert_eq!(err.field, "labels", "{bad}");
        }
        let err = Selector::parse("app=web,x y").unwrap_err();
        assert_eq!(err.value, "x y");
        let many = vec!["a"; MAX_METADATA_ENTRIES + 1].join(",");
        assert!(Selector::parse(&many).unwrap_err().reason.contains("terms"));
    }
}
