//! Zun's query strings: only the parameters a route knows, booleans as oslo reads them
//! (`True`/`False`/`1`/`0`/`yes`/`no`), commands as shell words.

use super::error::ZunError;
use std::collections::BTreeMap;

/// A request's query parameters by name (the last value of a repeated name wins).
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Params {
    /// Reads `query`, refusing any parameter not in `known` (400 naming it).
    pub(crate) fn parse(query: Option<&str>, known: &[&str]) -> Result<Params, ZunError> {
        let mut params = BTreeMap::new();
        for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (decode(name), decode(value));
            if !known.contains(&name.as_str()) {
                return Err(ZunError::BadRequest(format!("Invalid parameter `{name}` (known here: {})", known.join(", "))));
            }
            params.insert(name, value);
        }
        Ok(Params(params))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean parameter; absent is `false`.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ZunError> {
        let Some(value) = self.get(name) else { return Ok(false) };
        match value.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
            "0" | "f" | "false" | "off" | "n" | "no" | "" => Ok(false),
            _ => Err(ZunError::BadRequest(format!("{name}: `{value}` is not a boolean (True or False)"))),
        }
    }

    /// A number parameter, when present.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ZunError> {
        self.get(name)
            .map(|value| value.parse().map_err(|_| ZunError::BadRequest(format!("{name}: `{value}` is not a whole number"))))
            .transpose()
    }
}

/// Splits `command` into words as a POSIX shell would (quotes and backslashes).
pub(crate) fn shell_words(command: &str) -> Result<Vec<String>, ZunError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\'' | '"' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => text.extend(chars.next()),
                        Some(other) => text.push(other),
                        None => return Err(ZunError::BadRequest(format!("command: unbalanced quote in `{command}`"))),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_words() {
        assert_eq!(shell_words(r#""ls" "-l" /tmp"#).unwrap(), ["ls", "-l", "/tmp"]);
        assert_eq!(shell_words(r#"sh -c 'echo "a b"'"#).unwrap(), ["sh", "-c", "echo \"a b\""]);
        assert!(shell_words("echo 'open").is_err());
    }

    #[test]
    fn reads_known_parameters_only() {
        let params = Params::parse(Some("command=%22ls%22+%22-l%22&run=True"), &["command", "run"]).unwrap();
        assert_eq!(params.get("command"), Some(r#""ls" "-l""#));
        assert!(params.flag("run").unwrap());
        let unknown = Params::parse(Some("colour=red"), &["command"]).unwrap_err();
        assert!(unknown.to_string().starts_with("Invalid parameter `colour`"));
        let bad = Params::parse(Some("stop=perhaps"), &["stop"]).unwrap().flag("stop").unwrap_err();
        assert!(bad.to_string().contains("perhaps"));
    }
}
