//! Test image archives: `docker save`-shaped tars made without Docker, with their Docker id.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Writes in `dir` an archive tagged `tag` whose layer is `padding` bytes; answers its path and
/// the Docker id `docker load` would give it (`sha256:` of its config).
pub fn image_archive(dir: &Path, tag: &str, padding: usize) -> (PathBuf, String) {
    let path = dir.join(format!("{}.tar", tag.replace(['/', ':'], "_")));
    let mut builder = tar::Builder::new(std::fs::File::create(&path).expect("create the archive"));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/x"]}},"rootfs":{{"type":"layers","diff_ids":[]}},"tag":"{tag}"}}"#
    );
    let digest = hex::encode(Sha256::digest(config.as_bytes()));
    let manifest = format!(r#"[{{"Config":"blobs/sha256/{digest}","RepoTags":["{tag}"],"Layers":["layer.tar"]}}]"#);
    let layer = vec![7u8; padding];
    for (name, bytes) in [
        (format!("blobs/sha256/{digest}"), config.as_bytes()),
        ("layer.tar".into(), &layer[..]),
        ("manifest.json".into(), manifest.as_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, bytes).expect("write the archive");
    }
    builder.finish().expect("finish the archive");
    (path, format!("sha256:{digest}"))
}
