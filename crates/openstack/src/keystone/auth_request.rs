//! The body of `POST /v3/auth/tokens` (password method) read into a Flotilla login.

use super::error::KeystoneError;
use serde_json::Value;

/// What a Keystone password authentication asks for.
#[derive(Debug, PartialEq)]
pub(super) struct Login {
    /// The user's name or id.
    pub user: String,
    pub password: String,
    /// The project's name or id; `None` for an unscoped token.
    pub project: Option<String>,
}

fn bad(field: &str, value: &Value, why: &str) -> KeystoneError {
    KeystoneError::BadRequest(format!("{field}: {why} (got {value})"))
}

/// The one domain Flotilla has: `{"id": "default"}` or `{"name": "Default"}`.
fn check_domain(field: &str, domain: &Value) -> Result<(), KeystoneError> {
    let default = domain["id"].as_str() == Some("default") || domain["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("default"));
    if default { Ok(()) } else { Err(bad(field, domain, "Flotilla has only the domain `Default` (id `default`)")) }
}

/// An object named by `id`, or by `name` within the default domain.
fn named(field: &str, object: &Value) -> Result<String, KeystoneError> {
    if let Some(id) = object["id"].as_str() {
        return Ok(id.to_owned());
    }
    let Some(name) = object["name"].as_str() else {
        return Err(bad(field, object, "needs `id`, or `name` with `domain`"));
    };
    let domain = &object["domain"];
    if domain.is_null() {
        return Err(bad(&format!("{field}.domain"), domain, "a name needs its domain"));
    }
    check_domain(&format!("{field}.domain"), domain)?;
    Ok(name.to_owned())
}

/// Reads `body` (`{"auth": {"identity": {...}, "scope": ...}}`).
pub(super) fn parse(body: &Value) -> Result<Login, KeystoneError> {
    let identity = &body["auth"]["identity"];
    let methods = &identity["methods"];
    if !methods.as_array().is_some_and(|m| m.iter().any(|m| m == "password")) {
        return Err(bad("auth.identity.methods", methods, "only the `password` method is supported"));
    }
    let user = &identity["password"]["user"];
    let Some(password) = user["password"].as_str() else {
        return Err(bad("auth.identity.password.user.password", &user["password"], "must be a string"));
    };
    let name = named("auth.identity.password.user", user)?;
    let scope = &body["auth"]["scope"];
    let project = match scope {
        Value::Null => None,
        Value::String(s) if s == "unscoped" => None,
        Value::Object(map) if map.contains_key("project") => Some(named("auth.scope.project", &scope["project"])?),
        _ => return Err(bad("auth.scope", scope, "only project scope or `unscoped` is supported (no domain or system scope)")),
    };
    Ok(Login { user: name, password: password.to_owned(), project })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn auth(user: Value, scope: Value) -> Value {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}})
    }

    #[test]
    fn reads_name_with_domain_and_project_by_name() {
        let body = auth(
            json!({"name": "demo", "password": "pw", "domain": {"name": "Default"}}),
            json!({"project": {"name": "p", "domain": {"id": "default"}}}),
        );
        assert_eq!(parse(&body).unwrap(), Login { user: "demo".into(), password: "pw".into(), project: Some("p".into()) });
    }

    #[test]
    fn reads_ids_and_unscoped() {
        let body = auth(json!({"id": "u1", "password": "pw"}), json!("unscoped"));
        assert_eq!(parse(&body).unwrap(), Login { user: "u1".into(), password: "pw".into(), project: None });
        let body = auth(json!({"id": "u1", "password": "pw"}), json!({"project": {"id": "p1"}}));
        assert_eq!(parse(&body).unwrap().project.as_deref(), Some("p1"));
    }

    #[test]
    fn refuses_other_domains_methods_and_scopes() {
        let other = auth(json!({"name": "demo", "password": "pw", "domain": {"name": "corp"}}), Value::Null);
        assert!(parse(&other).unwrap_err().to_string().starts_with("auth.identity.password.user.domain: Flotilla has only"));
        let token = json!({"auth": {"identity": {"methods": ["token"]}}});
        assert!(parse(&token).unwrap_err().to_string().contains("auth.identity.methods"));
        let system = auth(json!({"id": "u", "password": "pw"}), json!({"system": {"all": true}}));
        assert!(parse(&system).unwrap_err().to_string().contains("auth.scope"));
        let nameless = auth(json!({"name": "demo", "password": "pw"}), Value::Null);
        assert!(parse(&nameless).unwrap_err().to_string().contains("a name needs its domain"));
    }
}
