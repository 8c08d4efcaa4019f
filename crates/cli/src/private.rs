//! Files and directories only their owner may read (the user config holds a token, data
//! directories, the dev admin password): `flotilla_tls::private` with the path in the error.

use anyhow::{Context, Result};
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is.
pub fn create_dir(dir: &Path) -> Result<()> {
    flotilla_tls::private::create_dir(dir).with_context(|| format!("cannot create directory {}", dir.display()))
}

/// Replaces `path` with `contents` atomically, mode 0600 (see [`flotilla_tls::private::write_file`]).
pub fn write_file(path: &Path, contents: &[u8]) -> Result<()> {
    flotilla_tls::private::write_file(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
