//! `flotilla server backup FILE` and `flotilla server restore FILE`: a SQLite region's database
//! (an online copy, `VACUUM INTO`) and the files of its data dir (image archives, the callback
//! identity) in one tar file, and putting them back. PostgreSQL is backed up with `pg_dump`.

use super::server::announce;
use super::settings::{Location, sqlite_file};
use crate::private;
use anyhow::{Context, Result};
use clap::Args;
use flotilla_store::{Backend, Store, backend_of};
use std::path::{Path, PathBuf};

/// The archive's name for the database; the data dir's files are under [`DATA`].
const DATABASE: &str = "flotilla.db";
const DATA: &str = "data";

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The tar file to write (replaced whole once complete).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub location: Location,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// A tar file `flotilla server backup` wrote.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Restore into a data dir that holds files: the backup's database and files replace those
    /// of the same names (stop the server first).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub location: Location,
}

/// Why a backup or a restore is refused.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is PostgreSQL: back it up with pg_dump and the data dir's files with tar (see the operating notes); backup and restore here are SQLite's"
    )]
    Postgres,
    #[error(
        "data dir {0} is not empty: restore into an empty one, or pass --force to replace its database and files (stop its server first)"
    )]
    NotEmpty(PathBuf),
    #[error("{0} is not a flotilla backup: it holds no {DATABASE}")]
    NotABackup(PathBuf),
}

/// The data dir and the SQLite file of `location`; PostgreSQL is refused.
fn sqlite_location(location: &Location) -> Result<(PathBuf, String, PathBuf)> {
    let (data_dir, database) = location.locate()?;
    if backend_of(&database)? == Backend::Postgres {
        return Err(BackupError::Postgres.into());
    }
    let file = sqlite_file(&database).ok_or(BackupError::Postgres)?;
    Ok((data_dir, database, file))
}

/// The database file and SQLite's companions of it (`-wal`, `-shm`, `-journal`).
fn database_files(file: &Path) -> Vec<PathBuf> {
    let mut files = vec![file.to_owned()];
    files.extend(["-wal", "-shm", "-journal"].map(|suffix| PathBuf::from(format!("{}{suffix}", file.display()))));
    files
}

/// The directory a file is written in, to stage next to it (one filesystem: renames are atomic).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

pub async fn backup(args: BackupArgs) -> Result<()> {
    let (data_dir, database, db_file) = sqlite_location(&args.location)?;
    let staging = tempfile::Builder::new()
        .prefix(".flotilla-backup-")
        .tempdir_in(parent_of(&args.file))
        .with_context(|| format!("cannot write next to {}", args.file.display()))?;
    let snapshot = staging.path().join(DATABASE);
    let store = Store::open(&database, false).await?;
    let copied = store.backup_into(&snapshot).await;
    store.close().await;
    copied?;
    let archive = staging.path().join("backup.tar");
    let mut skip = database_files(&db_file);
    skip.extend([args.file.clone(), staging.path().to_owned()]);
    let count = write_archive(&archive, &snapshot, &data_dir, &skip)?;
    std::fs::rename(&archive, &args.file).with_context(|| format!("cannot write {}", args.file.display()))?;
    announce(&[format!("backed up the database and {count} files of {} to {}", data_dir.display(), args.file.display())])
}

/// Writes the tar: the database `snapshot`, then every file of `data_dir` but `skip` and
/// uploads in progress; answers how many files of the data dir it holds.
fn write_archive(archive: &Path, snapshot: &Path, data_dir: &Path, skip: &[PathBuf]) -> Result<usize> {
    let file = std::fs::File::create(archive).with_context(|| format!("cannot create {}", archive.display()))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.append_path_with_name(snapshot, DATABASE).context("cannot archive the database copy")?;
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| std::path::absolute(p).ok()).collect();
    let mut count = 0;
    let mut dirs = vec![PathBuf::new()];
    while let Some(relative) = dirs.pop() {
        let dir = data_dir.join(&relative);
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
            let path = entry.path();
            let uploading = entry.file_name().to_string_lossy().starts_with(".upload-");
            if uploading || std::path::absolute(&path).is_ok_and(|p| skip.contains(&p)) {
                continue;
            }
            let name = Path::new(DATA).join(&relative).join(entry.file_name());
            if entry.file_type()?.is_dir() {
                tar.append_dir(&name, &path).with_context(|| format!("cannot archive {}", path.display()))?;
                dirs.push(relative.join(entry.file_name()));
            } else {
                tar.append_path_with_name(&path, &name).with_context(|| format!("cannot archive {}", path.display()))?;
                count += 1;
            }
        }
    }
    tar.into_inner().and_then(|mut out| std::io::Write::flush(&mut out)).context("cannot write the backup")?;
    Ok(count)
}

pub fn restore(args: RestoreArgs) -> Result<()> {
    let (data_dir, _, db_file) = sqlite_location(&args.location)?;
    let holds_files = std::fs::read_dir(&data_dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if !args.force && (holds_files || db_file.exists()) {
        return Err(BackupError::NotEmpty(data_dir).into());
    }
    let parent = parent_of(&data_dir);
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".flotilla-restore-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    tar::Archive::new(std::io::BufReader::new(file))
        .unpack(staging.path())
        .with_context(|| format!("{} is not a readable tar file", args.file.display()))?;
    let snapshot = staging.path().join(DATABASE);
    if !snapshot.is_file() {
        return Err(BackupError::NotABackup(args.file).into());
    }
    private::create_dir(&data_dir)?;
    let files = staging.path().join(DATA);
    if files.is_dir() {
        for entry in std::fs::read_dir(&files).with_context(|| format!("cannot read {}", files.display()))? {
            let entry = entry?;
            let target = data_dir.join(entry.file_name());
            remove(&target)?;
            std::fs::rename(entry.path(), &target).with_context(|| format!("cannot restore {}", target.display()))?;
        }
    }
    for companion in database_files(&db_file) {
        remove(&companion)?;
    }
    private::create_dir(parent_of(&db_file))?;
    std::fs::rename(&snapshot, &db_file).with_context(|| format!("cannot restore the database to {}", db_file.display()))?;
    announce(&[format!("restored {} into {} (database {})", args.file.display(), data_dir.display(), db_file.display())])
}

/// Removes a file or a directory tree, if there is one.
fn remove(path: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => Ok(()),
    };
    removed.with_context(|| format!("cannot replace {}", path.display()))
}
