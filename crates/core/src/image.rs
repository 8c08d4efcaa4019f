//! Images: `docker save` archives held by the region, content-addressed by their sha256.

use crate::{ImageId, ProjectId, Timestamp, UserId};

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

/// Whether `reference` names an image by Docker's id (`sha256:…`) rather than by a repository:
/// that names whatever a host's cache holds, so only Flotilla's own images may be named so.
pub fn names_an_id(reference: &str) -> bool {
    reference.get(..7).is_some_and(|prefix| prefix.eq_ignore_ascii_case("sha256:"))
}

/// The repository of a reference, without its tag or digest: `repo/app` of `repo/app:1` and of
/// `repo/app@sha256:…` (a registry's port stays: `localhost:5000/app`).
pub fn repository(reference: &str) -> &str {
    let named = reference.split('@').next().unwrap_or(reference);
    let last = named.rfind('/').map_or(0, |slash| slash + 1);
    match named[last..].find(':') {
        Some(colon) => &named[..last + colon],
        None => named,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_get_latest() {
        assert_eq!(super::normalize_reference("busybox"), "busybox:latest");
        assert_eq!(super::normalize_reference("flotilla/workload:1"), "flotilla/workload:1");
        assert_eq!(super::normalize_reference("localhost:5000/app"), "localhost:5000/app:latest");
    }

    #[test]
    fn ids_and_repositories() {
        assert!(super::names_an_id("sha256:0123abcd"));
        assert!(super::names_an_id("SHA256:0123abcd"));
        assert!(!super::names_an_id("busybox:latest"));
        assert!(!super::names_an_id("sha"));
        assert_eq!(super::repository("busybox:latest"), "busybox");
        assert_eq!(super::repository("team/app@sha256:abc"), "team/app");
        assert_eq!(super::repository("localhost:5000/app:1"), "localhost:5000/app");
        assert_eq!(super::repository("localhost:5000/app"), "localhost:5000/app");
    }
}
