//! `flotilla server` settings: each from its flag, else its `FLOTILLA_*` variable, else the TOML
//! config file, else the default.

use super::logging::{LogArgs, LogFormat};
use crate::paths;
use anyhow::{Context, Result};
use clap::Args;
use flotilla_core::network::{DEFAULT_POOL, DEFAULT_SUBNET_PREFIX, RegionPool};
use flotilla_server::federation::{CentralSettings, DEFAULT_REGION_GRACE_PERIOD, DEFAULT_TOKEN_CACHE_TTL, RegionLinkSettings, Role};
use flotilla_server::{DEFAULT_RETENTION, Retention, TlsFiles};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7700";
pub const DEFAULT_REGION: &str = "local";
pub const DEFAULT_MAX_NODES_PER_CLUSTER: i64 = 1000;

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to serve the API on [default: 127.0.0.1:7700].
    #[arg(long, env = "FLOTILLA_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub location: Location,
    /// Name of this region [default: local].
    #[arg(long, env = "FLOTILLA_REGION", value_name = "NAME")]
    pub region: Option<String>,
    /// Password of the admin created on first start [default: generated and printed once].
    #[arg(long, env = "FLOTILLA_BOOTSTRAP_PASSWORD", hide_env_values = true, value_name = "PASSWORD")]
    pub bootstrap_password: Option<String>,
    /// Seconds without a heartbeat after which a host is DOWN [default: 10].
    #[arg(long, env = "FLOTILLA_HOST_GRACE_PERIOD", value_name = "SECS")]
    pub host_grace_period: Option<u64>,
    /// The largest cluster the region accepts (Senlin's max_nodes_per_cluster; default 1000).
    #[arg(long, env = "FLOTILLA_MAX_NODES_PER_CLUSTER", value_name = "N")]
    pub max_nodes_per_cluster: Option<i64>,
    /// Where projects' default networks are carved from (IPv4 CIDR) [default: 10.128.0.0/9].
    #[arg(long, env = "FLOTILLA_NETWORK_POOL", value_name = "CIDR")]
    pub network_pool: Option<String>,
    /// The prefix length of each project's default subnet [default: 20].
    #[arg(long, env = "FLOTILLA_DEFAULT_SUBNET_PREFIX", value_name = "LEN")]
    pub default_subnet_prefix: Option<u8>,
    /// Seconds a client may take to send a request's head before the connection is closed [default: 30].
    #[arg(long, env = "FLOTILLA_HEADER_READ_TIMEOUT", value_name = "SECS")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a request body may pause between two pieces before the request fails [default: 60].
    #[arg(long, env = "FLOTILLA_BODY_READ_TIMEOUT", value_name = "SECS")]
    pub body_read_timeout: Option<u64>,
    /// Seconds events are kept before they are purged; 0 keeps them for ever [default: 2592000, 30 days as Senlin].
    #[arg(long, env = "FLOTILLA_EVENT_RETENTION", value_name = "SECS")]
    pub event_retention: Option<u64>,
    /// Seconds finished actions are kept before they are purged; 0 keeps them for ever [default: 2592000].
    #[arg(long, env = "FLOTILLA_ACTION_RETENTION", value_name = "SECS")]
    pub action_retention: Option<u64>,
    /// Serve the API over HTTPS with this certificate (PEM, chain) and --tls-key.
    #[arg(long, env = "FLOTILLA_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "FLOTILLA_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The certificate (PEM) the server presents on its calls to agents, with --callback-key; the
    /// servers of one region share it [default: made on first start in DIR/callback-identity].
    #[arg(long, env = "FLOTILLA_CALLBACK_CERT", value_name = "FILE", requires = "callback_key")]
    pub callback_cert: Option<PathBuf>,
    /// The private key (PEM) of --callback-cert.
    #[arg(long, env = "FLOTILLA_CALLBACK_KEY", value_name = "FILE", requires = "callback_cert")]
    pub callback_key: Option<PathBuf>,
    /// Run the central of a federation: identity, the region registry, the global address space; no hosts.
    #[arg(long, env = "FLOTILLA_CENTRAL", conflicts_with = "central_url")]
    pub central: bool,
    /// The central's global address space for global networks (IPv4 CIDR); regions' pools may not overlap it.
    #[arg(long, env = "FLOTILLA_GLOBAL_POOL", value_name = "CIDR")]
    pub global_pool: Option<String>,
    /// At the central: seconds without a heartbeat after which a region is DOWN [default: 10].
    #[arg(long, env = "FLOTILLA_REGION_GRACE_PERIOD", value_name = "SECS")]
    pub region_grace_period: Option<u64>,
    /// Run as a region of the federation whose central serves this URL.
    #[arg(long, env = "FLOTILLA_CENTRAL_URL", value_name = "URL")]
    pub central_url: Option<String>,
    /// A token from `flotilla region join-token` at the central, for this region's first start
    /// (later starts use the credential kept in the store).
    #[arg(long, env = "FLOTILLA_REGION_JOIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub region_join_token: Option<String>,
    /// Where clients and other regions reach this region's API [default: http(s)://LISTEN].
    #[arg(long, env = "FLOTILLA_ADVERTISE_URL", value_name = "URL")]
    pub advertise_url: Option<String>,
    /// Seconds a region trusts the central's validation of a token before asking again [default: 30].
    #[arg(long, env = "FLOTILLA_TOKEN_CACHE_TTL", value_name = "SECS")]
    pub token_cache_ttl: Option<u64>,
    /// Also trust the certificates of this PEM file for the central's HTTPS.
    #[arg(long, env = "FLOTILLA_CACERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Option<Box<super::server::ServerCommand>>,
}

/// Where a server keeps its state, and the config file that may say so; `flotilla server` and its
/// maintenance commands (migrate, backup, restore) take them alike.
#[derive(Debug, Clone, Default, Args)]
pub struct Location {
    /// Directory for the region's files [default: $XDG_DATA_HOME/flotilla or ~/.local/share/flotilla].
    #[arg(long, env = "FLOTILLA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://... [default: sqlite://DIR/flotilla.db].
    #[arg(long, env = "FLOTILLA_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// TOML file with any of: listen, data_dir, database, region, bootstrap_password, host_grace_period, max_nodes_per_cluster,
    /// network_pool, default_subnet_prefix, header_read_timeout, body_read_timeout, event_retention, action_retention,
    /// tls_cert, tls_key, callback_cert, callback_key, central, global_pool, region_grace_period, central_url,
    /// region_join_token, advertise_url, token_cache_ttl, ca_cert, log_format.
    #[arg(long, env = "FLOTILLA_SERVER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl Location {
    /// The config file `--config` names, or nothing.
    pub fn file(&self) -> Result<FileSettings> {
        Ok(self.config.as_deref().map(FileSettings::load).transpose()?.unwrap_or_default())
    }

    /// The data dir and the database URL: flag (or variable), else the file, else the defaults.
    pub fn resolve(&self, file: &FileSettings, default_data_dir: impl FnOnce() -> Result<PathBuf>) -> Result<(PathBuf, String)> {
        let data_dir = match self.data_dir.clone().or(file.data_dir.clone()) {
            Some(dir) => dir,
            None => default_data_dir()?,
        };
        let database = self.database.clone().or(file.database.clone()).unwrap_or_else(|| sqlite_url(&data_dir));
        Ok((data_dir, database))
    }

    /// [`Location::resolve`] with the config file read and the user's default data dir.
    pub fn locate(&self) -> Result<(PathBuf, String)> {
        self.resolve(&self.file()?, paths::data_dir)
    }
}

/// The optional config file; a key it does not know is an error that names the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub region: Option<String>,
    pub bootstrap_password: Option<String>,
    pub host_grace_period: Option<u64>,
    pub max_nodes_per_cluster: Option<i64>,
    pub network_pool: Option<String>,
    pub default_subnet_prefix: Option<u8>,
    pub header_read_timeout: Option<u64>,
    pub body_read_timeout: Option<u64>,
    pub event_retention: Option<u64>,
    pub action_retention: Option<u64>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub callback_cert: Option<PathBuf>,
    pub callback_key: Option<PathBuf>,
    pub central: Option<bool>,
    pub global_pool: Option<String>,
    pub region_grace_period: Option<u64>,
    pub central_url: Option<String>,
    pub region_join_token: Option<String>,
    pub advertise_url: Option<String>,
    pub token_cache_ttl: Option<u64>,
    pub ca_cert: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
}

impl FileSettings {
    pub fn load(path: &Path) -> Result<Self> {
        load_toml(path, "server")
    }
}

/// The `role`'s TOML config file at `path`; an error names the file (and the key it does not know).
pub fn load_toml<T: serde::de::DeserializeOwned>(path: &Path, role: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid {role} config {}", path.display()))
}

/// The settings a server starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: String,
    pub region: String,
    pub bootstrap_password: Option<String>,
    pub host_grace_period: Duration,
    pub max_nodes_per_cluster: i64,
    pub network_pool: RegionPool,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// How long events and finished actions are kept.
    pub retention: Retention,
    /// The API's certificate and key: HTTPS when set.
    pub tls: Option<TlsFiles>,
    /// The identity presented to agents, when given rather than made in the data dir.
    pub callback: Option<TlsFiles>,
    /// Standalone, the central, or a region of a federation.
    pub role: Role,
}

/// A certificate and key pair of files from the flags or the file, both or neither.
fn pair(what: &str, cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<TlsFiles>> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (None, None) => Ok(None),
        _ => anyhow::bail!("{what}_cert and {what}_key go together: give both or neither"),
    }
}

impl Settings {
    /// Flags (clap has already put environment variables in their place) over the file over defaults.
    pub fn merge(args: &ServerArgs, file: FileSettings, default_data_dir: impl FnOnce() -> Result<PathBuf>) -> Result<Self> {
        let role = role(args, &file)?;
        if matches!(role, Role::Region(_)) && (args.bootstrap_password.is_some() || file.bootstrap_password.is_some()) {
            anyhow::bail!("bootstrap_password: a federated region creates no admin of its own (users log in at the central)");
        }
        let (data_dir, database) = args.location.resolve(&file, default_data_dir)?;
        let max_nodes_per_cluster = args.max_nodes_per_cluster.or(file.max_nodes_per_cluster).unwrap_or(DEFAULT_MAX_NODES_PER_CLUSTER);
        flotilla_core::bounds::range("max_nodes_per_cluster", max_nodes_per_cluster, 1, flotilla_core::bounds::MAX_CLUSTER_SIZE)?;
        Ok(Settings {
            listen: args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid default")),
            database,
            region: args.region.clone().or(file.region).unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            bootstrap_password: args.bootstrap_password.clone().or(file.bootstrap_password),
            host_grace_period: Duration::from_secs(
                args.host_grace_period.or(file.host_grace_period).unwrap_or(flotilla_core::host::DEFAULT_GRACE_PERIOD_SECS),
            ),
            max_nodes_per_cluster,
            header_read_timeout: timeout(
                "header_read_timeout",
                args.header_read_timeout.or(file.header_read_timeout),
                flotilla_server::DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            body_read_timeout: timeout(
                "body_read_timeout",
                args.body_read_timeout.or(file.body_read_timeout),
                flotilla_server::DEFAULT_BODY_READ_TIMEOUT,
            )?,
            network_pool: RegionPool::parse(
                args.network_pool.as_deref().or(file.network_pool.as_deref()).unwrap_or(DEFAULT_POOL),
                args.default_subnet_prefix.or(file.default_subnet_prefix).unwrap_or(DEFAULT_SUBNET_PREFIX),
            )?,
            retention: Retention {
                events: retention("event_retention", args.event_retention.or(file.event_retention))?,
                actions: retention("action_retention", args.action_retention.or(file.action_retention))?,
                ..Retention::default()
            },
            tls: pair("tls", args.tls_cert.clone().or(file.tls_cert), args.tls_key.clone().or(file.tls_key))?,
            callback: pair("callback", args.callback_cert.clone().or(file.callback_cert), args.callback_key.clone().or(file.callback_key))?,
            role,
            data_dir,
        })
    }
}

/// The server's role among regions from the federation settings; a setting of one role given to
/// another is an error naming it (nothing parsed goes unapplied).
fn role(args: &ServerArgs, file: &FileSettings) -> Result<Role> {
    let central = args.central || file.central == Some(true);
    let global_pool = args.global_pool.clone().or(file.global_pool.clone());
    let grace = args.region_grace_period.or(file.region_grace_period);
    let central_url = args.central_url.clone().or(file.central_url.clone());
    let join_token = args.region_join_token.clone().or(file.region_join_token.clone());
    let advertise_url = args.advertise_url.clone().or(file.advertise_url.clone());
    let token_cache_ttl = args.token_cache_ttl.or(file.token_cache_ttl);
    let ca_cert = args.ca_cert.clone().or(file.ca_cert.clone());
    let listen = args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a valid default"));
    let tls = args.tls_cert.is_some() || file.tls_cert.is_some();
    let central_only = [("global_pool", global_pool.is_some()), ("region_grace_period", grace.is_some())];
    let region_only = [
        ("region_join_token", join_token.is_some()),
        ("advertise_url", advertise_url.is_some()),
        ("token_cache_ttl", token_cache_ttl.is_some()),
        ("ca_cert", ca_cert.is_some()),
    ];
    let refuse = |settings: &[(&str, bool)], role: &str| match settings.iter().find(|(_, given)| *given) {
        Some((name, _)) => Err(anyhow::anyhow!("{name} is a setting of {role}")),
        None => Ok(()),
    };
    let (central_role, region_role) = ("the central (--central)", "a region (with --central-url)");
    match (central, central_url) {
        (true, Some(_)) => anyhow::bail!("central and central_url exclude each other: the central has no central"),
        (true, None) => {
            refuse(&region_only, region_role)?;
            let global_pool = global_pool.map(|p| flotilla_core::ipam::Cidr::parse("global_pool", &p)).transpose()?;
            let region_grace_period = timeout("region_grace_period", grace, DEFAULT_REGION_GRACE_PERIOD)?;
            Ok(Role::Central(CentralSettings { global_pool, region_grace_period }))
        }
        (false, Some(central_url)) => {
            refuse(&central_only, central_role)?;
            let uri: axum::http::Uri = central_url.parse().map_err(|e| anyhow::anyhow!("central_url {central_url:?} is not a URL: {e}"))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
                anyhow::bail!("central_url {central_url:?} must be an http:// or https:// URL with a host");
            }
            let advertise_url = match advertise_url {
                Some(url) => url,
                None if listen.ip().is_unspecified() || listen.port() == 0 => {
                    anyhow::bail!(
                        "advertise_url is needed when listening on {listen}: other regions and clients must know where to reach this one"
                    )
                }
                None => format!("{}://{listen}", if tls { "https" } else { "http" }),
            };
            let token_cache_ttl = timeout("token_cache_ttl", token_cache_ttl, DEFAULT_TOKEN_CACHE_TTL)?;
            let ca_cert =
                ca_cert.map(|path| std::fs::read(&path).with_context(|| format!("cannot read ca_cert {}", path.display()))).transpose()?;
            Ok(Role::Region(RegionLinkSettings { central_url, join_token, advertise_url, ca_cert, token_cache_ttl }))
        }
        (false, None) => {
            refuse(&central_only, central_role)?;
            refuse(&region_only, region_role)?;
            Ok(Role::Standalone)
        }
    }
}

/// A duration setting in seconds (1 s to an hour), else `default`.
fn timeout(name: &str, secs: Option<u64>, default: Duration) -> Result<Duration> {
    let Some(secs) = secs else { return Ok(default) };
    flotilla_core::bounds::range(name, secs, 1, 3600)?;
    Ok(Duration::from_secs(secs))
}

/// A retention setting in seconds: unset is the default, 0 keeps for ever.
fn retention(name: &str, seconds: Option<u64>) -> Result<Option<Duration>> {
    Ok(match seconds {
        None => Some(DEFAULT_RETENTION),
        Some(0) => None,
        Some(secs) => {
            flotilla_core::bounds::seconds(name, secs, 1)?;
            Some(Duration::from_secs(secs))
        }
    })
}

/// The file of a `sqlite:` database URL; `None` for another database.
pub fn sqlite_file(database: &str) -> Option<PathBuf> {
    let path = database.strip_prefix("sqlite://").or_else(|| database.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// The SQLite database inside `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("flotilla.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServerArgs {
        ServerArgs {
            listen: None,
            location: Location::default(),
            region: None,
            bootstrap_password: None,
            host_grace_period: None,
            max_nodes_per_cluster: None,
            header_read_timeout: None,
            body_read_timeout: None,
            network_pool: None,
            default_subnet_prefix: None,
            event_retention: None,
            action_retention: None,
            tls_cert: None,
            tls_key: None,
            callback_cert: None,
            callback_key: None,
            central: false,
            global_pool: None,
            region_grace_period: None,
            central_url: None,
            region_join_token: None,
            advertise_url: None,
            token_cache_ttl: None,
            ca_cert: None,
            log: LogArgs { log_format: None },
            command: None,
        }
    }

    fn default_dir() -> Result<PathBuf> {
        Ok(PathBuf::from("/home/u/.local/share/flotilla"))
    }

    #[test]
    fn defaults() {
        let settings = Settings::merge(&args(), FileSettings::default(), default_dir).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:7700");
        assert_eq!(settings.data_dir, PathBuf::from("/home/u/.local/share/flotilla"));
        assert_eq!(settings.database, "sqlite:///home/u/.local/share/flotilla/flotilla.db");
        assert_eq!(sqlite_file(&settings.database), Some(PathBuf::from("/home/u/.local/share/flotilla/flotilla.db")));
        assert_eq!(sqlite_file("sqlite:rel.db?mode=rwc"), Some(PathBuf::from("rel.db")));
        assert_eq!(sqlite_file("postgres://h/db"), None);
        assert_eq!(settings.region, "local");
        assert_eq!(settings.bootstrap_password, None);
        assert_eq!(settings.host_grace_period, Duration::from_secs(10));
        assert_eq!(settings.network_pool, RegionPool::default());
        assert_eq!(settings.retention, Retention::default());
        assert_eq!(settings.retention.events, Some(Duration::from_secs(30 * 86_400)));
    }

    #[test]
    fn retention_from_flags_and_file_zero_keeps_for_ever() {
        let file: FileSettings = toml::from_str("event_retention = 3600\naction_retention = 7200\n").unwrap();
        let mut flags = args();
        flags.action_retention = Some(0);
        let settings = Settings::merge(&flags, file, default_dir).unwrap();
        assert_eq!(settings.retention.events, Some(Duration::from_secs(3600)));
        assert_eq!(settings.retention.actions, None);
    }

    #[test]
    fn a_bad_network_pool_names_the_setting() {
        let mut flags = args();
        flags.network_pool = Some("10.0.0.1/8".into());
        let error = Settings::merge(&flags, FileSettings::default(), default_dir).unwrap_err().to_string();
        assert!(error.contains("network_pool") && error.contains("10.0.0.1/8"), "{error}");
        flags.network_pool = Some("10.9.0.0/16".into());
        flags.default_subnet_prefix = Some(24);
        let settings = Settings::merge(&flags, FileSettings::default(), default_dir).unwrap();
        assert_eq!(settings.network_pool.cidr.to_string(), "10.9.0.0/16");
        assert_eq!(settings.network_pool.prefix, 24);
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let file: FileSettings = toml::from_str(
            "listen = \"0.0.0.0:8000\"\ndata_dir = \"/srv/f\"\nregion = \"file-region\"\nbootstrap_password = \"from-file-pw\"\n",
        )
        .unwrap();
        let mut flags = args();
        flags.region = Some("flag-region".into());
        flags.listen = Some("127.0.0.1:9000".parse().unwrap());
        let settings = Settings::merge(&flags, file, || panic!("the file names a data dir")).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(settings.region, "flag-region");
        assert_eq!(settings.data_dir, PathBuf::from("/srv/f"));
        assert_eq!(settings.database, "sqlite:///srv/f/flotilla.db", "the database follows the data dir");
        assert_eq!(settings.bootstrap_password.as_deref(), Some("from-file-pw"));
    }

    #[test]
    fn certificates_come_with_their_keys() {
        let file: FileSettings = toml::from_str("tls_cert = \"/etc/f/api.pem\"\n").unwrap();
        let error = Settings::merge(&args(), file, default_dir).unwrap_err().to_string();
        assert!(error.contains("tls_cert and tls_key"), "{error}");
        let mut flags = args();
        flags.callback_cert = Some("/etc/f/cb.pem".into());
        flags.callback_key = Some("/etc/f/cb.key".into());
        let settings = Settings::merge(&flags, FileSettings::default(), default_dir).unwrap();
        assert_eq!(settings.callback.unwrap().key, PathBuf::from("/etc/f/cb.key"));
        assert!(settings.tls.is_none());
    }

    #[test]
    fn the_role_comes_from_the_federation_settings() {
        assert_eq!(Settings::merge(&args(), FileSettings::default(), default_dir).unwrap().role, Role::Standalone);
        let mut central = args();
        central.central = true;
        central.global_pool = Some("10.200.0.0/16".into());
        let Role::Central(settings) = Settings::merge(&central, FileSettings::default(), default_dir).unwrap().role else {
            panic!("--central runs the central")
        };
        assert_eq!(settings.global_pool.map(|p| p.to_string()).as_deref(), Some("10.200.0.0/16"));
        assert_eq!(settings.region_grace_period, DEFAULT_REGION_GRACE_PERIOD);

        let file: FileSettings =
            toml::from_str("central_url = \"https://central:7700\"\nlisten = \"127.0.0.1:7800\"\ntoken_cache_ttl = 5\n").unwrap();
        let mut region = args();
        region.region_join_token = Some("flt_x".into());
        let Role::Region(link) = Settings::merge(&region, file, default_dir).unwrap().role else { panic!("central_url makes a region") };
        assert_eq!(
            (link.central_url.as_str(), link.advertise_url.as_str(), link.join_token.as_deref()),
            ("https://central:7700", "http://127.0.0.1:7800", Some("flt_x")),
            "the advertised URL defaults to the listen address"
        );
        assert_eq!(link.token_cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn a_setting_of_another_role_is_refused_by_name() {
        let refused =
            |flags: ServerArgs, file: &str| Settings::merge(&flags, toml::from_str(file).unwrap(), default_dir).unwrap_err().to_string();
        let mut flags = args();
        flags.global_pool = Some("10.200.0.0/16".into());
        assert!(refused(flags, "").contains("global_pool is a setting of the central"));
        let mut flags = args();
        flags.central = true;
        assert!(refused(flags.clone(), "token_cache_ttl = 5").contains("token_cache_ttl is a setting of a region"));
        assert!(refused(flags, "central_url = \"http://c:1\"").contains("exclude each other"));
        let mut flags = args();
        flags.central_url = Some("http://c:1".into());
        flags.region_grace_period = Some(5);
        assert!(refused(flags.clone(), "listen = \"127.0.0.1:7800\"").contains("region_grace_period is a setting of the central"));
        flags.region_grace_period = None;
        assert!(refused(flags.clone(), "listen = \"0.0.0.0:7800\"").contains("advertise_url is needed"));
        flags.bootstrap_password = Some("pw-pw-pw-pw".into());
        assert!(refused(flags, "listen = \"127.0.0.1:7800\"").contains("bootstrap_password"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("server.toml");
        std::fs::write(&path, "region = \"r\"\nlisten_addr = \"127.0.0.1:1\"\n").unwrap();
        let err = format!("{:#}", FileSettings::load(&path).unwrap_err());
        assert!(err.contains("listen_addr") && err.contains("server.toml"), "{err}");
    }
}
