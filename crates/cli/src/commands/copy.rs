//! `flotilla container cp SRC DST`: copies a file or directory into or out of a container, as
//! `docker cp` does, one side written `CONTAINER:PATH`; the files travel as a tar. The other side
//! `-` is that tar itself, read from stdin or written to stdout.

use crate::output;
use crate::target::Target;
use anyhow::Result;
use flotilla_api::MAX_ARCHIVE_BYTES;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// `CONTAINER:PATH`.
    Container {
        container: String,
        path: String,
    },
    Local(PathBuf),
    /// `-`: a tar on stdin (SRC) or stdout (DST).
    Stream,
}

/// What makes a copy impossible before or after the server is asked.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}: give one side as CONTAINER:PATH and the other as a local path (write a local path with `:` as ./{0})")]
    Sides(String),
    #[error("{side} {value:?}: the container path must be absolute, e.g. web:/tmp")]
    RelativePath { side: &'static str, value: String },
    #[error("{path}: {error}")]
    Local { path: String, error: std::io::Error },
    #[error("{path}: the archive is larger than {MAX_ARCHIVE_BYTES} bytes, the most a copy carries")]
    TooLarge { path: String },
    #[error("the archive holds {0:?}, which leaves the destination")]
    Escaping(PathBuf),
}

/// `CONTAINER:PATH` when a `:` comes before any `/`, else a local path.
pub fn side(arg: &str) -> Side {
    match arg.split_once(':') {
        _ if arg == "-" => Side::Stream,
        Some((container, path)) if !container.is_empty() && !container.contains('/') => {
            Side::Container { container: container.to_owned(), path: path.to_owned() }
        }
        _ => Side::Local(PathBuf::from(arg)),
    }
}

fn local(path: &Path) -> impl Fn(std::io::Error) -> CopyError + '_ {
    move |error| CopyError::Local { path: path.display().to_string(), error }
}

pub async fn run(client: &Target, src: String, dst: String) -> Result<()> {
    match (side(&src), side(&dst)) {
        (Side::Local(from), Side::Container { container, path }) => {
            absolute("DST", &dst, &path)?;
            let tar = pack(&from)?;
            client.found(&container, async |c| c.upload_archive(&container, &path, tar.clone()).await).await?;
            Ok(())
        }
        (Side::Stream, Side::Container { container, path }) => {
            absolute("DST", &dst, &path)?;
            let tar = read_stdin()?;
            client.found(&container, async |c| c.upload_archive(&container, &path, tar.clone()).await).await?;
            Ok(())
        }
        (Side::Container { container, path }, to @ (Side::Local(_) | Side::Stream)) => {
            absolute("SRC", &src, &path)?;
            let (tar, _) = client.found(&container, async |c| c.download_archive(&container, &path).await).await?;
            match to {
                Side::Local(to) => Ok(unpack(&tar, &to)?),
                _ => output::raw(&tar).map(drop),
            }
        }
        _ => Err(CopyError::Sides(format!("{src} {dst}")).into()),
    }
}

fn absolute(side: &'static str, value: &str, path: &str) -> Result<(), CopyError> {
    if path.starts_with('/') { Ok(()) } else { Err(CopyError::RelativePath { side, value: value.to_owned() }) }
}

/// The tar on stdin, refused past the most a copy carries.
fn read_stdin() -> Result<Vec<u8>, CopyError> {
    let mut tar = Vec::new();
    let limit = u64::try_from(MAX_ARCHIVE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
    std::io::stdin().lock().take(limit).read_to_end(&mut tar).map_err(local(Path::new("stdin")))?;
    if tar.len() > MAX_ARCHIVE_BYTES {
        return Err(CopyError::TooLarge { path: "stdin".into() });
    }
    Ok(tar)
}

/// A tar of `from` (a file or a directory with all it holds) under its own name.
fn pack(from: &Path) -> Result<Vec<u8>, CopyError> {
    let name = from.canonicalize().map_err(local(from))?;
    let name = name.file_name().map_or_else(|| PathBuf::from("root"), PathBuf::from);
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    if from.is_dir() {
        builder.append_dir_all(&name, from).map_err(local(from))?;
    } else {
        builder.append_path_with_name(from, &name).map_err(local(from))?;
    }
    let tar = builder.into_inner().map_err(local(from))?;
    if tar.len() > MAX_ARCHIVE_BYTES {
        return Err(CopyError::TooLarge { path: from.display().to_string() });
    }
    Ok(tar)
}

/// Extracts `tar` (whose first component is the copied path's name) as `docker cp` does: into
/// `to` when it is a directory, else as `to` itself.
fn unpack(tar: &[u8], to: &Path) -> Result<(), CopyError> {
    let into_dir = to.is_dir();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(local(to))? {
        let mut entry = entry.map_err(local(to))?;
        let inside = entry.path().map_err(local(to))?.into_owned();
        if !inside.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(CopyError::Escaping(inside));
        }
        let rest: PathBuf = inside.components().skip(1).collect();
        let target = match (into_dir, rest.as_os_str().is_empty()) {
            (true, _) => to.join(&inside),
            (false, true) => to.to_path_buf(),
            (false, false) => to.join(rest),
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(local(parent))?;
        }
        entry.unpack(&target).map_err(local(&target))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colon_before_any_slash_names_a_container() {
        assert_eq!(side("web:/etc/hosts"), Side::Container { container: "web".into(), path: "/etc/hosts".into() });
        assert_eq!(side("./a:b"), Side::Local("./a:b".into()));
        assert_eq!(side("notes.txt"), Side::Local("notes.txt".into()));
        assert_eq!(side(":x"), Side::Local(":x".into()));
        assert_eq!(side("-"), Side::Stream);
        assert_eq!(side("./-"), Side::Local("./-".into()));
    }

    #[test]
    fn a_directory_round_trips_into_a_new_name_or_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("conf");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/a.txt"), "alpha").unwrap();
        let tar = pack(&src).unwrap();
        unpack(&tar, &dir.path().join("copy")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("copy/sub/a.txt")).unwrap(), "alpha");
        let existing = dir.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        unpack(&tar, &existing).unwrap();
        assert_eq!(std::fs::read_to_string(existing.join("conf/sub/a.txt")).unwrap(), "alpha");
    }

    #[test]
    fn a_file_unpacks_under_the_new_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "alpha").unwrap();
        let tar = pack(&dir.path().join("a.txt")).unwrap();
        unpack(&tar, &dir.path().join("b.txt")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("b.txt")).unwrap(), "alpha");
    }

    #[test]
    fn a_missing_source_names_its_path() {
        let error = pack(Path::new("/no/such/file")).unwrap_err().to_string();
        assert!(error.starts_with("/no/such/file:"), "{error}");
    }

    #[test]
    fn entries_may_not_leave_the_destination() {
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        let mut raw = tar::Builder::new(Vec::new());
        // `append_data` refuses `..`; write the name into the header directly.
        header.as_old_mut().name[..7].copy_from_slice(b"../evil");
        header.set_cksum();
        raw.append(&header, &b"x"[..]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(unpack(&raw.into_inner().unwrap(), dir.path()), Err(CopyError::Escaping(_))));
    }
}
