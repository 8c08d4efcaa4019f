//! The CLI's session: the server URL and token from flags, environment or the context of the user
//! config file in use, the login that saves them, and the regions learnt from the central.

use crate::cli::Globals;
use crate::config::{Credentials, UserConfig};
use crate::failure::CliError;
use crate::paths;
use crate::target::Target;
use anyhow::{Context, Result, anyhow};
use flotilla_api::region::RegionList;
use flotilla_api::{ListQuery, Token, TokenCreate};
use flotilla_client::Client;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The user config file, the context in use and what it holds.
pub struct Session {
    pub path: PathBuf,
    file: UserConfig,
    /// The context's name: `--context`/`FLOTILLA_CONTEXT`, else the current one.
    pub name: String,
    pub config: Credentials,
}

impl Session {
    /// The context `--context` names (an unknown name is refused), else the current one.
    pub fn load(globals: &Globals) -> Result<Self> {
        let session = Self::open(globals.context.as_deref())?;
        if let Some(name) = &globals.context
            && !session.file.contexts.contains_key(name)
        {
            return Err(CliError::UnknownContext { name: name.clone(), known: session.context_names() }.into());
        }
        Ok(session)
    }

    /// Context `name` (else the current one); one not saved yet starts empty (for `flotilla login`
    /// and `flotilla dev`, which make it).
    pub fn open(name: Option<&str>) -> Result<Self> {
        let path = paths::config_file()?;
        let file = UserConfig::load(&path)?;
        let name = name.map_or_else(|| file.current_name().to_owned(), str::to_owned);
        let config = file.contexts.get(&name).cloned().unwrap_or_default();
        Ok(Self { path, file, name, config })
    }

    /// Every saved context by name, and the current one's name.
    pub fn contexts(&self) -> (&std::collections::BTreeMap<String, Credentials>, &str) {
        (&self.file.contexts, self.file.current_name())
    }

    fn context_names(&self) -> String {
        let names = self.file.contexts.keys().map(String::as_str).collect::<Vec<_>>();
        if names.is_empty() { "none (log in first)".to_owned() } else { names.join(", ") }
    }

    /// Makes `name` the context commands use without `--context`.
    pub fn use_context(&mut self, name: &str) -> Result<()> {
        if !self.file.contexts.contains_key(name) {
            return Err(CliError::UnknownContext { name: name.to_owned(), known: self.context_names() }.into());
        }
        self.file.current_context = Some(name.to_owned());
        self.file.save(&self.path)
    }

    /// Forgets context `name` (its token stays valid at the server until it expires or is revoked).
    pub fn delete_context(&mut self, name: &str) -> Result<()> {
        if self.file.contexts.remove(name).is_none() {
            return Err(CliError::UnknownContext { name: name.to_owned(), known: self.context_names() }.into());
        }
        if self.file.current_context.as_deref() == Some(name) {
            self.file.current_context = None;
        }
        self.file.save(&self.path)
    }

    /// Renames context `from` to `to`, keeping it current when it was.
    pub fn rename_context(&mut self, from: &str, to: &str) -> Result<()> {
        if self.file.contexts.contains_key(to) {
            return Err(CliError::ContextExists(to.to_owned()).into());
        }
        let Some(saved) = self.file.contexts.remove(from) else {
            return Err(CliError::UnknownContext { name: from.to_owned(), known: self.context_names() }.into());
        };
        self.file.contexts.insert(to.to_owned(), saved);
        if self.file.current_name() == from {
            self.file.current_context = Some(to.to_owned());
        }
        self.file.save(&self.path)
    }

    /// Saves this context (made current when no context is current yet) to the user config file.
    pub fn save(&mut self) -> Result<()> {
        self.file.contexts.insert(self.name.clone(), self.config.clone());
        if self.file.current_context.is_none() {
            self.file.current_context = Some(self.name.clone());
        }
        self.file.save(&self.path)
    }

    /// The server URL: `--url`/`FLOTILLA_URL`, else the saved one.
    pub fn url(&self, globals: &Globals) -> Result<String> {
        globals.url.clone().or_else(|| self.config.url.clone()).ok_or_else(|| anyhow!("no server URL: pass --url URL or set FLOTILLA_URL"))
    }

    /// The CA file trusted for HTTPS: `--ca-cert`/`FLOTILLA_CACERT`, else the one saved at login.
    pub fn ca_cert(&self, globals: &Globals) -> Option<PathBuf> {
        globals.ca_cert.clone().or_else(|| self.config.ca_cert.clone())
    }

    /// A client for `url` without a token, trusting the session's CA.
    pub fn anonymous(&self, url: &str, globals: &Globals) -> Result<Client> {
        client_trusting(url, self.ca_cert(globals).as_deref())
    }

    /// A client for the server carrying the token: `--token`/`FLOTILLA_TOKEN`, else the saved one.
    pub fn client(&self, globals: &Globals) -> Result<Client> {
        let token = self.token(globals)?;
        Ok(self.anonymous(&self.url(globals)?, globals)?.with_token(token))
    }

    fn token(&self, globals: &Globals) -> Result<String> {
        Ok(globals.token.clone().or_else(|| self.config.token.clone()).ok_or(CliError::NotLoggedIn)?)
    }

    /// Where region commands go: the region `--region`/`FLOTILLA_REGION` names, else the default
    /// region, else the server logged in to; with every known region for `--all-regions`. A name
    /// not in the saved table sends the central a fresh look before it is refused.
    pub async fn target(&mut self, globals: &Globals) -> Result<Target> {
        let central = self.client(globals)?;
        let chosen = globals.region.clone().or_else(|| self.config.region.clone());
        if chosen.as_ref().is_some_and(|name| !self.config.regions.contains_key(name)) {
            self.refresh_regions(&central).await?;
        }
        let client = match &chosen {
            Some(name) => self.anonymous(&self.region_url(name)?, globals)?.with_token(self.token(globals)?),
            None => central.clone(),
        };
        let token = self.token(globals)?;
        let regions = self
            .config
            .regions
            .iter()
            .map(|(name, url)| Ok((name.clone(), self.anonymous(url, globals)?.with_token(token.clone()))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Target::new(chosen, client, central, regions))
    }

    /// The saved API URL of region `name`.
    fn region_url(&self, name: &str) -> Result<String, CliError> {
        self.config.regions.get(name).cloned().ok_or_else(|| CliError::UnknownRegion {
            name: name.to_owned(),
            known: self.config.regions.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Saves `name` as the default region (after a fresh look at the central when it is not a known
    /// region), or forgets the default with `None`.
    pub async fn choose_region(&mut self, central: &Client, name: Option<&str>) -> Result<()> {
        if let Some(name) = name
            && !self.config.regions.contains_key(name)
        {
            self.refresh_regions(central).await?;
            self.region_url(name)?;
        }
        self.config.region = name.map(str::to_owned);
        self.save()
    }

    /// Asks the central for every region and saves their URLs.
    pub async fn refresh_regions(&mut self, central: &Client) -> Result<()> {
        let regions = all_regions(central).await?;
        self.remember_regions(&regions, true)
    }

    /// Saves the API URLs of `listed`; with `complete`, forgets the regions not among them.
    pub fn remember_regions(&mut self, listed: &RegionList, complete: bool) -> Result<()> {
        let urls = listed.regions.iter().map(|r| (r.name.clone(), r.api_url.trim_end_matches('/').to_owned()));
        if complete {
            self.config.regions = urls.collect();
        } else {
            self.config.regions.extend(urls);
        }
        self.save()
    }

    /// Asks `url` (trusting `ca_cert` for HTTPS) for a token and saves it with the server, the CA,
    /// the user and project it belongs to.
    pub async fn log_in(&mut self, url: &str, ca_cert: Option<PathBuf>, request: TokenCreate) -> Result<Token> {
        let server = client_trusting(url, ca_cert.as_deref())?;
        let token = server.create_token(&request).await?;
        let secret = token.token.clone().ok_or_else(|| anyhow!("the server issued a token without its secret"))?;
        let regions = match all_regions(&server.clone().with_token(secret.clone())).await {
            Ok(list) => list.regions.into_iter().map(|r| (r.name, r.api_url.trim_end_matches('/').to_owned())).collect(),
            Err(e) if e.downcast_ref::<flotilla_client::ClientError>().and_then(|e| e.status()) == Some(404) => BTreeMap::new(),
            Err(e) => return Err(e.context("logged in, but cannot learn the federation's regions")),
        };
        let same_server = self.config.url.as_deref() == Some(url.trim_end_matches('/'));
        let region = self.config.region.take().filter(|name| same_server && regions.contains_key(name));
        self.config = Credentials {
            url: Some(url.trim_end_matches('/').to_owned()),
            ca_cert,
            token: Some(secret),
            user: Some(token.user.name.clone()),
            project: Some(token.project.name.clone()),
            expires_at: Some(token.expires_at),
            region,
            regions,
        };
        self.save()?;
        Ok(token)
    }
}

/// A client for `url` that also trusts the certificates of the PEM file `ca_cert`.
fn client_trusting(url: &str, ca_cert: Option<&Path>) -> Result<Client> {
    let pem = match ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read the CA certificate {}", path.display()))?),
        None => None,
    };
    Ok(Client::with_ca(url, pem.as_deref())?)
}

/// Every region the central knows (404 from a server that is no central).
async fn all_regions(central: &Client) -> Result<RegionList> {
    let query = ListQuery { limit: Some(1000), ..Default::default() };
    let mut list = central.list_regions(&query).await?;
    while let Some(marker) = list.next.take() {
        let page = central.list_regions(&ListQuery { marker: Some(marker), ..query.clone() }).await?;
        list.regions.extend(page.regions);
        list.next = page.next;
    }
    Ok(list)
}
