//! Where the CLI and the local roles keep their files, following the XDG base directory rules.

use anyhow::{Result, bail};
use std::ffi::OsString;
use std::path::PathBuf;

/// The user config file: `$FLOTILLA_CONFIG`, else `$XDG_CONFIG_HOME/flotilla/config.toml`, else
/// `~/.config/flotilla/config.toml`.
pub fn config_file() -> Result<PathBuf> {
    config_file_from(&|name| std::env::var_os(name))
}

/// The default data directory of `flotilla server`: `$XDG_DATA_HOME/flotilla`, else
/// `~/.local/share/flotilla`.
pub fn data_dir() -> Result<PathBuf> {
    data_dir_from(&|name| std::env::var_os(name))
}

type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn config_file_from(env: Env<'_>) -> Result<PathBuf> {
    if let Some(path) = env("FLOTILLA_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    Ok(xdg_dir(env, "XDG_CONFIG_HOME", ".config")?.join("flotilla").join("config.toml"))
}

fn data_dir_from(env: Env<'_>) -> Result<PathBuf> {
    Ok(xdg_dir(env, "XDG_DATA_HOME", ".local/share")?.join("flotilla"))
}

/// `$var` when it holds an absolute path (the spec says to ignore relative ones), else `~/fallback`.
fn xdg_dir(env: Env<'_>, var: &str, fallback: &str) -> Result<PathBuf> {
    if let Some(dir) = env(var).map(PathBuf::from).filter(|p| p.is_absolute()) {
        return Ok(dir);
    }
    match env("HOME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        Some(home) => Ok(home.join(fallback)),
        None => bail!("cannot find a place for flotilla's files: set HOME or {var}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn config_file_precedence() {
        let cases = [
            (vec![("FLOTILLA_CONFIG", "/x/cli.toml"), ("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/h")], "/x/cli.toml"),
            (vec![("FLOTILLA_CONFIG", ""), ("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/h")], "/xdg/flotilla/config.toml"),
            (vec![("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")], "/h/.config/flotilla/config.toml"),
            (vec![("HOME", "/h")], "/h/.config/flotilla/config.toml"),
        ];
        for (vars, want) in cases {
            assert_eq!(config_file_from(&env(&vars)).unwrap(), PathBuf::from(want), "{vars:?}");
        }
        let err = config_file_from(&env(&[])).unwrap_err();
        assert!(err.to_string().contains("HOME"), "{err}");
    }

    #[test]
    fn data_dir_precedence() {
        assert_eq!(data_dir_from(&env(&[("XDG_DATA_HOME", "/d"), ("HOME", "/h")])).unwrap(), PathBuf::from("/d/flotilla"));
        assert_eq!(data_dir_from(&env(&[("HOME", "/h")])).unwrap(), PathBuf::from("/h/.local/share/flotilla"));
    }
}
