//! Reads the image references (`RepoTags` of `manifest.json`) and ids (its `Config`) of a `docker save` archive as it
//! streams by, holding nothing but the current tar header and that one small file.

use serde::Deserialize;

const BLOCK: usize = 512;
/// A `manifest.json` larger than this is not believed.
const MANIFEST_LIMIT: u64 = 1024 * 1024;

#[derive(Debug)]
enum Part {
    Header,
    /// Inside an entry: bytes of data left, then bytes of padding; `keep` collects the manifest.
    Data {
        data: u64,
        padding: u64,
        keep: bool,
    },
    End,
}

/// Feed it the archive's chunks in order, then ask for [`ArchiveSkimmer::references`].
#[derive(Debug)]
pub struct ArchiveSkimmer {
    part: Part,
    header: Vec<u8>,
    manifest: Vec<u8>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Config", default)]
    config: String,
}

/// What is wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a tar archive: bad entry size in a header")]
    BadHeader,
    #[error("the archive has no manifest.json")]
    NoManifest,
    #[error("manifest.json is not a docker save manifest: {0}")]
    BadManifest(String),
}

fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() { Some(0) } else { u64::from_str_radix(text, 8).ok() }
}

impl Default for ArchiveSkimmer {
    fn default() -> Self {
        Self { part: Part::Header, header: Vec::with_capacity(BLOCK), manifest: Vec::new() }
    }
}

impl ArchiveSkimmer {
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), ArchiveError> {
        while !chunk.is_empty() {
            match &mut self.part {
                Part::End => return Ok(()),
                Part::Header => {
                    let take = (BLOCK - self.header.len()).min(chunk.len());
                    self.header.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.header.len() == BLOCK {
                        self.part = self.parse_header()?;
                        self.header.clear();
                    }
                }
                Part::Data { data, padding, keep } => {
                    if *data > 0 {
                        let take = (*data).min(chunk.len() as u64) as usize;
                        if *keep {
                            self.manifest.extend_from_slice(&chunk[..take]);
                        }
                        *data -= take as u64;
                        chunk = &chunk[take..];
                    } else if *padding > 0 {
                        let take = (*padding).min(chunk.len() as u64) as usize;
                        *padding -= take as u64;
                        chunk = &chunk[take..];
                    } else {
                        self.part = Part::Header;
                    }
                }
            }
        }
        if let Part::Data { data: 0, padding: 0, .. } = self.part {
            self.part = Part::Header;
        }
        Ok(())
    }

    fn parse_header(&self) -> Result<Part, ArchiveError> {
        if self.header.iter().all(|b| *b == 0) {
            return Ok(Part::End);
        }
        let name_end = self.header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&self.header[..name_end]);
        let size = octal(&self.header[124..136]).ok_or(ArchiveError::BadHeader)?;
        let keep = name.trim_start_matches("./") == "manifest.json" && size <= MANIFEST_LIMIT && self.manifest.is_empty();
        let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        Ok(Part::Data { data: size, padding, keep })
    }

    fn entries(&self) -> Result<Vec<ManifestEntry>, ArchiveError> {
        if self.manifest.is_empty() {
            return Err(ArchiveError::NoManifest);
        }
        serde_json::from_slice(&self.manifest).map_err(|e| ArchiveError::BadManifest(e.to_string()))
    }

    /// The tags named by the manifest.
    pub fn references(&self) -> Result<Vec<String>, ArchiveError> {
        Ok(self.entries()?.into_iter().flat_map(|e| e.repo_tags.unwrap_or_default()).collect())
    }

    /// Docker's ids of the archive's images, `sha256:` of each config (its file name), as
    /// `docker load` makes them.
    pub fn image_ids(&self) -> Result<Vec<String>, ArchiveError> {
        let id = |config: &str| format!("sha256:{}", config.rsplit('/').next().unwrap_or(config).trim_end_matches(".json"));
        Ok(self.entries()?.iter().filter(|e| !e.config.is_empty()).map(|e| id(&e.config)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            let mut header = [0u8; BLOCK];
            header[..name.len()].copy_from_slice(name.as_bytes());
            let size = format!("{:011o}\0", data.len());
            header[124..136].copy_from_slice(size.as_bytes());
            out.extend_from_slice(&header);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.extend_from_slice(&[0u8; 2 * BLOCK]);
        out
    }

    #[test]
    fn tags_are_found_whatever_the_chunking() {
        let layer = vec![7u8; 3000];
        let manifest = br#"[{"Config":"abc.json","RepoTags":["demo/app:latest","demo/app:v2"],"Layers":["l/layer.tar"]}]"#;
        let bytes = archive(&[("l/layer.tar", &layer), ("abc.json", b"{}"), ("manifest.json", manifest)]);
        for chunk in [1, 7, 512, 513, 4096, bytes.len()] {
            let mut skimmer = ArchiveSkimmer::default();
            for piece in bytes.chunks(chunk) {
                skimmer.feed(piece).unwrap();
            }
            assert_eq!(skimmer.references().unwrap(), vec!["demo/app:latest".to_owned(), "demo/app:v2".to_owned()], "chunk {chunk}");
            assert_eq!(skimmer.image_ids().unwrap(), vec!["sha256:abc".to_owned()], "chunk {chunk}");
        }
    }

    #[test]
    fn an_archive_without_manifest_is_refused() {
        let mut skimmer = ArchiveSkimmer::default();
        skimmer.feed(&archive(&[("other.json", b"[]")])).unwrap();
        assert_eq!(skimmer.references(), Err(ArchiveError::NoManifest));
        let mut skimmer = ArchiveSkimmer::default();
        skimmer.feed(&archive(&[("manifest.json", b"not json")])).unwrap();
        assert!(matches!(skimmer.references(), Err(ArchiveError::BadManifest(_))));
        let mut garbage = [b'x'; BLOCK];
        garbage[124..136].copy_from_slice(b"zzzzzzzzzzz\0");
        assert_eq!(ArchiveSkimmer::default().feed(&garbage), Err(ArchiveError::BadHeader));
    }
}
