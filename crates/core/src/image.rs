//! Images: `docker save` archives held by the region, content-addressed by their sha256.

use crate::validation::ValidationError;
use crate::{ImageId, ProjectId, Timestamp, UserId};

/// The longest repository name Docker accepts.
pub const MAX_NAME_LEN: usize = 255;
/// The longest tag Docker accepts.
pub const MAX_TAG_LEN: usize = 128;

/// An uploaded image archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: ImageId,
    /// The reference containers use, e.g. `flotilla/workload:latest` (the archive's first tag unless named).
    pub name: String,
    /// Every `repo:tag` the archive carries.
    pub tags: Vec<String>,
    pub project_id: ProjectId,
    pub user_id: UserId,
    /// Visible to every project (admins only may publish).
    pub public: bool,
    pub size_bytes: u64,
    /// Hex sha256 of the archive as uploaded.
    pub sha256: String,
    /// Docker's image id (`sha256:` of the image config), what `docker load` makes.
    pub docker_id: String,
    pub created_at: Timestamp,
}

/// The image reference a container names, with `:latest` added when no tag is given.
pub fn normalize_reference(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    if last.contains(':') || last.contains('@') { reference.to_owned() } else { format!("{reference}:latest") }
}

/// Checks `reference` against Docker's reference grammar (`[domain[:port]/]path[:tag][@digest]`, the
/// path in lower case, components joined by `.`, `_`, `__` or dashes), naming `field` when it is not one.
pub fn validate_reference(field: &str, reference: &str) -> Result<(), ValidationError> {
    parse_reference(reference).map_err(|reason| ValidationError::new(field, reference, reason))
}

fn parse_reference(reference: &str) -> Result<(), String> {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if name.is_empty() {
        return Err("is not an image reference: the name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the name must be at most {MAX_NAME_LEN} characters"));
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    let has_domain =
        components.len() > 1 && (first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()));
    if has_domain {
        check_domain(first)?;
        components.remove(0);
    }
    components.into_iter().try_for_each(check_path_component)
}

const SHAPE: &str =
    "must read [registry[:port]/]name[:tag][@digest], the name in lower-case letters, digits and single . _ or - between them";

fn check_path_component(component: &str) -> Result<(), String> {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().copied().is_some_and(alnum) || !bytes.last().copied().is_some_and(alnum) {
        return Err(format!("path component {component:?}: {SHAPE}"));
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let valid = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !valid {
            return Err(format!("path component {component:?}: {SHAPE}"));
        }
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (domain, None),
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5)
    {
        return Err(format!("registry port {port:?} must be a number"));
    }
    let label_ok = |label: &str| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    if !host.split('.').all(label_ok) {
        return Err(format!("registry {host:?} is not a host name"));
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.is_empty() || b.len() > MAX_TAG_LEN || !word(b[0]) || !b.iter().all(|c| word(*c) || *c == b'.' || *c == b'-') {
        return Err(format!("tag {tag:?} must be 1-{MAX_TAG_LEN} letters, digits, _ . or -, not starting with . or -"));
    }
    Ok(())
}

fn check_digest(digest: &str) -> Result<(), String> {
    let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
        algorithm
            .split(['+', '.', '-', '_'])
            .all(|c| c.starts_with(|ch: char| ch.is_ascii_alphabetic()) && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            && hex.len() >= 32
            && hex.len() <= 256
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if valid { Ok(()) } else { Err(format!("digest {digest:?} must read algorithm:hex (at least 32 hex digits)")) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_follow_dockers_grammar() {
        let good = [
            "busybox",
            "flotilla/workload:latest",
            "localhost:5000/app",
            "registry.example.com/team/app_1.2-x:v1.0-rc_1",
            "a__b/c---d",
            "demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ];
        for reference in good {
            assert!(super::validate_reference("image", reference).is_ok(), "{reference}");
        }
        let bad = [
            "",
            "../../../etc/passwd",
            "/etc/passwd",
            "Busybox",
            "a//b",
            "a/",
            "app:",
            "app:.x",
            "a___b",
            "a.-b",
            "app@md5:1",
            "a b",
            "a:b:c",
        ];
        for reference in bad {
            let error = super::validate_reference("spec.image", reference).unwrap_err();
            assert_eq!(error.field, "spec.image", "{reference}");
        }
    }

    #[test]
    fn references_get_latest() {
        assert_eq!(super::normalize_reference("busybox"), "busybox:latest");
        assert_eq!(super::normalize_reference("flotilla/workload:1"), "flotilla/workload:1");
        assert_eq!(super::normalize_reference("localhost:5000/app"), "localhost:5000/app:latest");
    }
}
