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

#[cfg(test)]
mod tests {
    #[test]
    fn references_get_latest() {
        assert_eq!(super::normalize_reference("busybox"), "busybox:latest");
        assert_eq!(super::normalize_reference("flotilla/workload:1"), "flotilla/workload:1");
        assert_eq!(super::normalize_reference("localhost:5000/app"), "localhost:5000/app:latest");
    }
}
