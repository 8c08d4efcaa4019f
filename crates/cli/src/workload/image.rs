//! `flotilla workload image`: a `docker save` archive of a one-layer image holding this binary at
//! `/flotilla`, every shared library `ldd` says it needs at the same absolute path (the dynamic loader
//! included) and an empty `/tmp`; it runs `/flotilla workload serve --port 8080`. Built offline (no
//! Docker, no registry) and streamed to disk: the layer goes to a temporary file while its sha256 is
//! computed, then into the archive.

use crate::output;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tar::{Builder, EntryType, Header};
use tempfile::NamedTempFile;

/// What the image runs.
const COMMAND: [&str; 5] = ["/flotilla", "workload", "serve", "--port", "8080"];
/// `/` is on the PATH too, so a container command may say just `flotilla`.
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/";
/// Modification time of every file in the image (the archive is the same for the same binary).
const MTIME: u64 = 0;

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Where to write the archive, e.g. workload.tar (load it with `docker load -i` or upload it
    /// with `flotilla image upload`).
    pub file: PathBuf,
    /// The image's name and tag.
    #[arg(long, default_value = "flotilla/workload:latest")]
    pub tag: String,
}

pub async fn run(args: ImageArgs) -> Result<()> {
    tokio::task::spawn_blocking(move || build(&args)).await?
}

fn build(args: &ImageArgs) -> Result<()> {
    let (tag, libraries, size) = build_archive(&args.file, &args.tag)?;
    println!("wrote {} ({tag}: /flotilla and {libraries} shared libraries, {})", args.file.display(), output::size(size));
    Ok(())
}

/// Writes the workload image of this binary to `file` as `tag`; answers the full tag, how many
/// libraries went in, and the archive's size. Blocking.
pub fn build_archive(file: &Path, tag: &str) -> Result<(String, usize, u64)> {
    let exe = std::env::current_exe().context("cannot find this program's file")?;
    let libraries = shared_libraries(&exe)?;
    let tag = full_tag(tag);
    let size = write_archive(file, &tag, &exe, &libraries)?;
    Ok((tag, libraries.len(), size))
}

/// `name` as Docker tags it: `:latest` when no tag is given.
fn full_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') { name.to_owned() } else { format!("{name}:latest") }
}

/// The shared libraries `exe` loads, as `ldd` lists them; none for a static binary.
fn shared_libraries(exe: &Path) -> Result<Vec<PathBuf>> {
    let out = std::process::Command::new("ldd").arg(exe).output().context("cannot run ldd, which lists the libraries to copy")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stdout.contains("not a dynamic executable") || stderr.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {}", exe.display(), stderr.trim());
    }
    parse_ldd(&stdout).with_context(|| format!("cannot package {}", exe.display()))
}

/// The absolute paths in `ldd` output: `libc.so.6 => /lib/.../libc.so.6 (0x...)` and the loader's
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; the vDSO has no file and is left out.
fn parse_ldd(text: &str) -> Result<Vec<PathBuf>> {
    let mut libraries = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        let file = match line.split_once("=>") {
            Some((name, target)) if target.trim().starts_with("not found") => bail!("it needs {}, which is not installed", name.trim()),
            Some((_, target)) => target,
            None => line,
        };
        if let Some(path) = file.split_whitespace().next().filter(|path| path.starts_with('/')) {
            libraries.insert(PathBuf::from(path));
        }
    }
    Ok(libraries.into_iter().collect())
}

/// Writes the archive to `out` (through a temporary file beside it, so a failure leaves nothing
/// half-written); answers its size.
fn write_archive(out: &Path, tag: &str, exe: &Path, libraries: &[PathBuf]) -> Result<u64> {
    let dir = out.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temporary = |what: &str| NamedTempFile::new_in(dir).with_context(|| format!("cannot create the {what} in {}", dir.display()));
    let layer = temporary("layer")?;
    let (diff_id, layer_size) = write_layer(layer.as_file(), exe, libraries)?;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let config = serde_json::to_vec(&image_config(&diff_id, &created))?;
    let config_id = hex::encode(Sha256::digest(&config));
    let manifest = serde_json::to_vec(&json!([{
        "Config": format!("{config_id}.json"),
        "RepoTags": [tag],
        "Layers": [format!("{diff_id}/layer.tar")],
    }]))?;

    let archive = temporary("archive")?;
    let mut tar = Builder::new(BufWriter::new(archive.as_file()));
    append(&mut tar, EntryType::Directory, &diff_id, 0o755, 0, io::empty())?;
    let layer_file = File::open(layer.path()).context("cannot read the layer back")?;
    append(&mut tar, EntryType::Regular, &format!("{diff_id}/layer.tar"), 0o644, layer_size, layer_file)?;
    append(&mut tar, EntryType::Regular, &format!("{config_id}.json"), 0o644, config.len() as u64, &config[..])?;
    append(&mut tar, EntryType::Regular, "manifest.json", 0o644, manifest.len() as u64, &manifest[..])?;
    tar.into_inner()?.into_inner().map_err(io::IntoInnerError::into_error)?;
    let file = archive.as_file();
    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    let size = file.metadata()?.len();
    archive.persist(out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(size)
}

/// The layer: `/tmp`, the libraries' directories, `/flotilla` and the libraries. Answers its hex
/// sha256 (the image's diff id) and size.
fn write_layer(file: &File, exe: &Path, libraries: &[PathBuf]) -> Result<(String, u64)> {
    let mut tar = Builder::new(Hashing { inner: BufWriter::new(file), hasher: Sha256::new(), written: 0 });
    append(&mut tar, EntryType::Directory, "tmp", 0o1777, 0, io::empty())?;
    let relative = |path: &Path| path.strip_prefix("/").unwrap_or(path).to_path_buf();
    let dirs: BTreeSet<PathBuf> = libraries
        .iter()
        .flat_map(|library| library.ancestors().skip(1))
        .map(relative)
        .filter(|dir| !dir.as_os_str().is_empty() && dir != Path::new("tmp"))
        .collect();
    for dir in &dirs {
        append(&mut tar, EntryType::Directory, &dir.to_string_lossy(), 0o755, 0, io::empty())?;
    }
    for (source, target) in std::iter::once((exe, PathBuf::from("flotilla"))).chain(libraries.iter().map(|l| (l.as_path(), relative(l)))) {
        let data = File::open(source).with_context(|| format!("cannot read {}", source.display()))?;
        let size = data.metadata()?.len();
        append(&mut tar, EntryType::Regular, &target.to_string_lossy(), 0o755, size, data.take(size))
            .with_context(|| format!("cannot add {} to the layer", source.display()))?;
    }
    let Hashing { inner, hasher, written } = tar.into_inner()?;
    inner.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok((hex::encode(hasher.finalize()), written))
}

/// Adds one entry owned by root.
fn append<W: Write>(tar: &mut Builder<W>, kind: EntryType, path: &str, mode: u32, size: u64, data: impl Read) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(MTIME);
    header.set_uid(0);
    header.set_gid(0);
    tar.append_data(&mut header, path, data)
}

/// The image config Docker reads: what to run, the port, and the layer's diff id.
fn image_config(diff_id: &str, created: &str) -> serde_json::Value {
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    json!({
        "architecture": architecture,
        "os": "linux",
        "created": created,
        "config": {
            "Cmd": COMMAND,
            "Env": [PATH_ENV],
            "ExposedPorts": {"8080/tcp": {}},
            "WorkingDir": "/",
            "Labels": {
                "org.opencontainers.image.title": "flotilla workload",
                "org.opencontainers.image.version": env!("CARGO_PKG_VERSION"),
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created": created, "created_by": "flotilla workload image"}],
    })
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeMap;

    #[test]
    fn ldd_output_names_the_files() {
        let glibc = "\tlinux-vdso.so.1 (0x00007ffd5d1e4000)\n\
                     \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0f1c9e0000)\n\
                     \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0f1c7ff000)\n\
                     \t/lib64/ld-linux-x86-64.so.2 (0x00007f0f1d5c1000)\n";
        let expected = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib64/ld-linux-x86-64.so.2"];
        assert_eq!(parse_ldd(glibc).unwrap(), expected.map(PathBuf::from));
        let musl = "\t/lib/ld-musl-x86_64.so.1 (0x7f1)\n\tlibc.musl-x86_64.so.1 => /lib/ld-musl-x86_64.so.1 (0x7f1)\n";
        assert_eq!(parse_ldd(musl).unwrap(), [PathBuf::from("/lib/ld-musl-x86_64.so.1")]);
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
        let err = parse_ldd("\tlibssl.so.3 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n").unwrap_err().to_string();
        assert!(err.contains("libssl.so.3"), "{err}");
    }

    #[test]
    fn tags_get_latest_when_they_have_none() {
        assert_eq!(full_tag("flotilla/workload"), "flotilla/workload:latest");
        assert_eq!(full_tag("flotilla/workload:v2"), "flotilla/workload:v2");
        assert_eq!(full_tag("localhost:5000/workload"), "localhost:5000/workload:latest");
    }

    /// The entries of a tar stream: path to (mode, content).
    fn entries(data: &[u8]) -> BTreeMap<String, (u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(data);
        let mut found = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().trim_end_matches('/').to_owned();
            let mode = entry.header().mode().unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            found.insert(path, (mode, content));
        }
        found
    }

    #[test]
    fn the_archive_is_what_docker_load_reads() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("flotilla-bin");
        std::fs::write(&exe, b"\x7fELF pretend binary").unwrap();
        let lib_dir = tmp.path().join("lib/x86_64-linux-gnu");
        std::fs::create_dir_all(&lib_dir).unwrap();
        let libc = lib_dir.join("libc.so.6");
        std::fs::write(&libc, vec![7u8; 70_000]).unwrap();
        let out = tmp.path().join("out/workload.tar");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();

        let size = write_archive(&out, "flotilla/workload:test", &exe, std::slice::from_ref(&libc)).unwrap();
        assert_eq!(size, std::fs::metadata(&out).unwrap().len());
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(out.parent().unwrap()).unwrap().count(), 1, "no temporary file left");

        let outer = entries(&std::fs::read(&out).unwrap());
        let manifest: Value = serde_json::from_slice(&outer["manifest.json"].1).unwrap();
        assert_eq!(manifest[0]["RepoTags"], json!(["flotilla/workload:test"]));
        let config_name = manifest[0]["Config"].as_str().unwrap();
        let config_bytes = &outer[config_name].1;
        assert_eq!(format!("{}.json", hex::encode(Sha256::digest(config_bytes))), config_name, "content-addressed config");
        let config: Value = serde_json::from_slice(config_bytes).unwrap();
        assert_eq!(config["config"]["Cmd"], json!(["/flotilla", "workload", "serve", "--port", "8080"]));
        assert_eq!(config["config"]["ExposedPorts"], json!({"8080/tcp": {}}));
        assert_eq!(config["os"], "linux");

        let layer_name = manifest[0]["Layers"][0].as_str().unwrap();
        let layer = &outer[layer_name].1;
        assert_eq!(config["rootfs"]["diff_ids"], json!([format!("sha256:{}", hex::encode(Sha256::digest(layer)))]));

        let files = entries(layer);
        assert_eq!(files["tmp"], (0o1777, vec![]));
        assert_eq!(files["flotilla"], (0o755, b"\x7fELF pretend binary".to_vec()));
        let libc_in_layer = libc.strip_prefix("/").unwrap().to_string_lossy().into_owned();
        assert_eq!(files[&libc_in_layer], (0o755, vec![7u8; 70_000]), "at its own absolute path");
        let lib_dir_in_layer = lib_dir.strip_prefix("/").unwrap().to_string_lossy().into_owned();
        assert_eq!(files[&lib_dir_in_layer].0, 0o755, "its directories too");
    }
}
