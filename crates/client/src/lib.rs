//! Typed async client for the Flotilla REST API (`/v1`), used by the CLI, agents, regions and tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), flotilla_client::ClientError> {
//! use flotilla_api::{ListQuery, TokenCreate};
//! let client = flotilla_client::Client::new("http://127.0.0.1:7700")?;
//! let token = client
//!     .create_token(&TokenCreate { user: "admin".into(), password: "pw".into(), project: None, expires_in: None })
//!     .await?;
//! let client = client.with_token(token.token.unwrap_or_default());
//! let projects = client.list_projects(&ListQuery::default()).await?;
//! # Ok(()) }
//! ```

mod actions;
mod clusters;
mod containers;
mod error;
mod events;
#[cfg(test)]
mod fake_server;
mod hosts;
mod images;
mod jobs;
mod networks;
mod nodes;
mod plans;
mod policies;
mod quotas;
mod receivers;
mod regions;
mod routers;
mod routings;
mod volumes;
pub mod websocket;

pub use actions::{ActionProgress, Waited};
pub use containers::LogStream;
pub use error::ClientError;
pub use events::EventStream;
pub use policies::{PolicyTypeInfo, PolicyTypeList};

use flotilla_api::{
    AUTH_TOKEN_HEADER, ActionAccepted, IDEMPOTENCY_KEY_HEADER, ListQuery, Profile, ProfileCreate, ProfileList, ProfileUpdate,
    ProfileValidate, Project, ProjectCreate, ProjectList, ProjectUpdate, RoleAssignment, RoleAssignmentCreate, RoleAssignmentList, Token,
    TokenCreate, User, UserCreate, UserList, UserUpdate, VersionInfo,
};
use flotilla_core::profile::ProfileSpec;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long one ordinary request may take, connecting included. Streams (logs, image uploads) have no
/// such limit: they last as long as the data flows.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle on one Flotilla server, optionally carrying a token. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The server's root, always ending in `/`, e.g. `http://127.0.0.1:7700/`.
    base: Url,
    token: Option<String>,
    idempotency_key: Option<String>,
}

/// `POST /v1/profiles/validate` (and `/v1/policies/validate`) answer with the spec as the server understood it.
#[derive(Debug, serde::Deserialize)]
struct Validated<S> {
    spec: S,
}

/// The answer to an asynchronous create (`202 Accepted`): the object as written, and the action doing the work.
#[derive(Debug, Clone)]
pub struct Accepted<T> {
    pub body: T,
    /// The id of the action to follow, from `Location: /v1/actions/{id}`; `None` when the answer named none.
    pub action: Option<String>,
}

/// The answer to an update that may start an action: applied at once (200), or accepted (202) when it
/// needs work on containers (a new profile).
#[derive(Debug, Clone)]
pub enum Updated<T> {
    Done(T),
    Started(ActionAccepted),
}

/// Query parameters a few lists take besides [`ListQuery`].
#[derive(Debug, Default, Serialize)]
struct Filters<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
}

/// Adds one set of query parameters to a request.
type QueryPart<'a> = Box<dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync + 'a>;

/// One request to make: everything [`Client::send`] needs besides the client itself.
struct Call<'a, B: Serialize> {
    method: Method,
    path: &'a [&'a str],
    query: Vec<QueryPart<'a>>,
    body: Option<&'a B>,
    /// `None` for requests that last as long as their data flows.
    timeout: Option<Duration>,
}

impl<'a> Call<'a, ()> {
    fn get(path: &'a [&'a str]) -> Self {
        Self::new(Method::GET, path, None)
    }

    fn delete(path: &'a [&'a str]) -> Self {
        Self::new(Method::DELETE, path, None)
    }

    /// A POST without a body: an operation on the object at `path`.
    fn action(path: &'a [&'a str]) -> Self {
        Self::new(Method::POST, path, None)
    }

    fn list<F: Serialize + Send + Sync + 'a>(path: &'a [&'a str], listing: impl Into<Listing<'a>>, filters: F) -> Self {
        Self::listing(path, listing.into(), filters)
    }

    /// [`Call::list`] of a listing that may carry a label selector.
    fn listing<F: Serialize + Send + Sync + 'a>(path: &'a [&'a str], listing: Listing<'a>, filters: F) -> Self {
        let Listing { query, labels } = listing;
        Self::get(path).query(query).query(LabelFilter { labels }).query(filters)
    }
}

/// A list's page request and, for lists of labelled objects, the label selector (`-l`) the
/// server matches them against. A plain `&ListQuery` is a listing without a selector.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    pub query: &'a ListQuery,
    pub labels: Option<&'a str>,
}

impl<'a> From<&'a ListQuery> for Listing<'a> {
    fn from(query: &'a ListQuery) -> Self {
        Self { query, labels: None }
    }
}

/// The `labels` query parameter of a [`Listing`].
#[derive(Serialize)]
struct LabelFilter<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<&'a str>,
}

/// The page size used when reading every object of a list.
const PAGE: u32 = 1000;

/// Every object of a list, `fetch` answering one page (its objects and the next page's marker)
/// for each query, page after page.
async fn every_page<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, ClientError>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), ClientError>>,
{
    let mut query = ListQuery { limit: Some(PAGE), ..ListQuery::default() };
    let mut all = Vec::new();
    loop {
        let (items, next) = fetch(query.clone()).await?;
        all.extend(items);
        match next {
            Some(next) if query.marker.as_ref() != Some(&next) => query.marker = Some(next),
            _ => return Ok(all),
        }
    }
}

impl<'a, B: Serialize> Call<'a, B> {
    fn new(method: Method, path: &'a [&'a str], body: Option<&'a B>) -> Self {
        Call { method, path, query: Vec::new(), body, timeout: Some(REQUEST_TIMEOUT) }
    }

    fn post(path: &'a [&'a str], body: &'a B) -> Self {
        Self::new(Method::POST, path, Some(body))
    }

    fn patch(path: &'a [&'a str], body: &'a B) -> Self {
        Self::new(Method::PATCH, path, Some(body))
    }

    fn put(path: &'a [&'a str], body: &'a B) -> Self {
        Self::new(Method::PUT, path, Some(body))
    }

    /// Adds the fields of `params` (a flat struct; `None`s left out) to the query string.
    fn query<Q: Serialize + Send + Sync + 'a>(mut self, params: Q) -> Self {
        self.query.push(Box::new(move |req| req.query(&params)));
        self
    }

    fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, with or without a trailing `/v1`).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::with_ca(base_url, None)
    }

    /// A client for the server at `base_url` that also trusts the certificates of `ca_cert` (PEM)
    /// for HTTPS, e.g. the CA of a server started with `--tls-cert`.
    pub fn with_ca(base_url: &str, ca_cert: Option<&[u8]>) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl { url: base_url.to_owned(), reason };
        let mut base = Url::parse(base_url.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("expected http://HOST:PORT or https://HOST:PORT".into()));
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/');
        let path = path.strip_suffix("/v1").unwrap_or(path);
        let path = format!("{path}/");
        base.set_path(&path);
        let mut http =
            reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).user_agent(concat!("flotilla-client/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_cert {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| ClientError::CaCert(e.to_string()))?;
            if certs.is_empty() {
                return Err(ClientError::CaCert("it holds no PEM certificate".into()));
            }
            for cert in certs {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| invalid(e.to_string()))?;
        Ok(Self { http, base, token: None, idempotency_key: None })
    }

    /// The same client, sending `token` with every request.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The token this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server root this client talks to, e.g. `http://127.0.0.1:7700/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// A copy of this client that sends `Idempotency-Key: key` with its POSTs, so that a retried
    /// create replays the first answer instead of creating twice. Use it for one create:
    /// `client.with_idempotency_key("k1").create_project(&body)`.
    pub fn with_idempotency_key(&self, key: impl Into<String>) -> Self {
        Self { idempotency_key: Some(key.into()), ..self.clone() }
    }

    /// The URL of `/v1/<segments...>`, each segment percent-encoded.
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        url
    }

    fn request<B: Serialize>(&self, call: &Call<'_, B>) -> RequestBuilder {
        let mut req = self.http.request(call.method.clone(), self.endpoint(call.path));
        for part in &call.query {
            req = part(req);
        }
        if let Some(body) = call.body {
            req = req.json(body);
        }
        if let Some(timeout) = call.timeout {
            req = req.timeout(timeout);
        }
        if let Some(token) = &self.token {
            req = req.header(AUTH_TOKEN_HEADER, token);
        }
        if let Some(key) = self.idempotency_key.as_ref().filter(|_| call.method == Method::POST) {
            req = req.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        req
    }

    /// Sends `req` (to `url`, named in errors); an error status becomes the server's error, with its body read.
    async fn answer(&self, url: &str, req: RequestBuilder) -> Result<Response, ClientError> {
        let transport = |error| ClientError::Transport { url: url.to_owned(), error };
        let response = req.send().await.map_err(transport)?;
        let status = response.status();
        if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(response);
        }
        let request_id = error::request_id(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        Err(ClientError::from_answer(status, request_id, &body))
    }

    /// Reads a success answer as JSON; an empty answer (204) decodes as JSON `null`.
    async fn decode<T: DeserializeOwned>(url: &str, response: Response) -> Result<T, ClientError> {
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| ClientError::Transport { url: url.to_owned(), error })?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"null" } else { &body };
        serde_json::from_slice(body).map_err(|e| ClientError::Decode { url: url.to_owned(), status, reason: e.to_string() })
    }

    /// Makes the call; answers the URL (for errors) and the successful response.
    async fn respond<B: Serialize>(&self, call: Call<'_, B>) -> Result<(String, Response), ClientError> {
        let url = self.endpoint(call.path).to_string();
        let response = self.answer(&url, self.request(&call)).await?;
        Ok((url, response))
    }

    /// Makes the call and decodes the answer.
    async fn send<T: DeserializeOwned, B: Serialize>(&self, call: Call<'_, B>) -> Result<T, ClientError> {
        let (url, response) = self.respond(call).await?;
        Self::decode(&url, response).await
    }

    /// Makes a call answered with `202` + `Location`: decodes the body and reads the action's id.
    async fn send_accepted<T: DeserializeOwned, B: Serialize>(&self, call: Call<'_, B>) -> Result<Accepted<T>, ClientError> {
        let (url, response) = self.respond(call).await?;
        let action = location_action(response.headers());
        Ok(Accepted { body: Self::decode(&url, response).await?, action })
    }

    /// Makes an update call: `200` with the object, or `202` with the action it started.
    async fn send_update<T: DeserializeOwned, B: Serialize>(&self, call: Call<'_, B>) -> Result<Updated<T>, ClientError> {
        let (url, response) = self.respond(call).await?;
        if response.status() == StatusCode::ACCEPTED {
            Ok(Updated::Started(Self::decode(&url, response).await?))
        } else {
            Ok(Updated::Done(Self::decode(&url, response).await?))
        }
    }

    // --- meta and tokens

    /// `GET /v1`: the server's name, version and region.
    pub async fn version(&self) -> Result<VersionInfo, ClientError> {
        self.send(Call::get(&[])).await
    }

    /// `POST /v1/auth/tokens`: trade a user name and password for a token (its secret in `token`).
    pub async fn create_token(&self, body: &TokenCreate) -> Result<Token, ClientError> {
        self.send(Call::post(&["auth", "tokens"], body)).await
    }

    /// `GET /v1/auth/tokens`: the token this client sends (who am I).
    pub async fn current_token(&self) -> Result<Token, ClientError> {
        self.send(Call::get(&["auth", "tokens"])).await
    }

    /// `DELETE /v1/auth/tokens`: revokes the token this client sends.
    pub async fn revoke_token(&self) -> Result<(), ClientError> {
        self.send(Call::delete(&["auth", "tokens"])).await
    }

    /// `POST /v1/dashboard/links`: a one-time link (a path on this server) that signs a browser in
    /// to the dashboard with this client's token.
    pub async fn create_dashboard_link(&self) -> Result<flotilla_api::DashboardLink, ClientError> {
        self.send(Call::post(&["dashboard", "links"], &serde_json::json!({}))).await
    }

    // --- users

    pub async fn list_users(&self, query: &ListQuery) -> Result<UserList, ClientError> {
        self.send(Call::list(&["users"], query, Filters::default())).await
    }

    pub async fn create_user(&self, body: &UserCreate) -> Result<User, ClientError> {
        self.send(Call::post(&["users"], body)).await
    }

    /// A user by id or name.
    pub async fn user(&self, key: &str) -> Result<User, ClientError> {
        self.send(Call::get(&["users", key])).await
    }

    pub async fn update_user(&self, key: &str, body: &UserUpdate) -> Result<User, ClientError> {
        self.send(Call::patch(&["users", key], body)).await
    }

    pub async fn delete_user(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["users", key])).await
    }

    // --- projects

    pub async fn list_projects(&self, query: &ListQuery) -> Result<ProjectList, ClientError> {
        self.send(Call::list(&["projects"], query, Filters::default())).await
    }

    pub async fn create_project(&self, body: &ProjectCreate) -> Result<Project, ClientError> {
        self.send(Call::post(&["projects"], body)).await
    }

    /// A project by id or name.
    pub async fn project(&self, key: &str) -> Result<Project, ClientError> {
        self.send(Call::get(&["projects", key])).await
    }

    pub async fn update_project(&self, key: &str, body: &ProjectUpdate) -> Result<Project, ClientError> {
        self.send(Call::patch(&["projects", key], body)).await
    }

    pub async fn delete_project(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["projects", key])).await
    }

    // --- role assignments

    /// Role assignments, optionally only those of one user and/or one project (names or ids).
    pub async fn list_role_assignments(
        &self,
        user: Option<&str>,
        project: Option<&str>,
        query: &ListQuery,
    ) -> Result<RoleAssignmentList, ClientError> {
        self.send(Call::list(&["role_assignments"], query, Filters { user, project, ..Filters::default() })).await
    }

    pub async fn assign_role(&self, body: &RoleAssignmentCreate) -> Result<RoleAssignment, ClientError> {
        self.send(Call::post(&["role_assignments"], body)).await
    }

    pub async fn delete_role_assignment(&self, id: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["role_assignments", id])).await
    }

    // --- profiles

    /// Profiles, optionally only those of one type (e.g. `container.docker`).
    pub async fn list_profiles(&self, type_name: Option<&str>, query: impl Into<Listing<'_>>) -> Result<ProfileList, ClientError> {
        self.send(Call::listing(&["profiles"], query.into(), Filters { type_name, ..Filters::default() })).await
    }

    pub async fn create_profile(&self, body: &ProfileCreate) -> Result<Profile, ClientError> {
        self.send(Call::post(&["profiles"], body)).await
    }

    /// A profile by id or name.
    pub async fn profile(&self, key: &str) -> Result<Profile, ClientError> {
        self.send(Call::get(&["profiles", key])).await
    }

    pub async fn update_profile(&self, key: &str, body: &ProfileUpdate) -> Result<Profile, ClientError> {
        self.send(Call::patch(&["profiles", key], body)).await
    }

    pub async fn delete_profile(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["profiles", key])).await
    }

    /// Checks a spec without saving it; answers the spec as the server understood it.
    pub async fn validate_profile(&self, body: &ProfileValidate) -> Result<ProfileSpec, ClientError> {
        self.send::<Validated<ProfileSpec>, _>(Call::post(&["profiles", "validate"], body)).await.map(|v| v.spec)
    }
}

/// The action id a `Location: /v1/actions/{id}` header names.
fn location_action(headers: &HeaderMap) -> Option<String> {
    let location = headers.get(LOCATION)?.to_str().ok()?;
    let path = location.split(['?', '#']).next()?.trim_end_matches('/');
    let (before, id) = path.rsplit_once('/')?;
    (before.ends_with("/actions") && !id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built<B: Serialize>(client: &Client, call: Call<'_, B>) -> reqwest::Request {
        client.request(&call).build().unwrap()
    }

    #[test]
    fn base_urls_are_normalised() {
        for base in ["http://h:7700", "http://h:7700/", "http://h:7700/v1", "http://h:7700/v1/", " http://h:7700?x=1 "] {
            let client = Client::new(base).unwrap();
            assert_eq!(client.endpoint(&["users"]).as_str(), "http://h:7700/v1/users", "{base}");
        }
        let prefixed = Client::new("https://example.test/flotilla/").unwrap();
        assert_eq!(prefixed.endpoint(&[]).as_str(), "https://example.test/flotilla/v1");
        assert_eq!(prefixed.endpoint(&["auth", "tokens"]).as_str(), "https://example.test/flotilla/v1/auth/tokens");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for base in ["", "h:7700", "ftp://h/", "mailto:a@b"] {
            let err = Client::new(base).unwrap_err();
            assert!(matches!(err, ClientError::InvalidUrl { .. }), "{base}: {err}");
            assert!(err.to_string().contains("invalid server URL"), "{err}");
        }
    }

    #[test]
    fn keys_are_one_path_segment() {
        let client = Client::new("http://h:1").unwrap();
        assert_eq!(client.endpoint(&["users", "a/b c?"]).as_str(), "http://h:1/v1/users/a%2Fb%20c%3F");
    }

    #[test]
    fn list_queries_carry_only_what_is_set() {
        let client = Client::new("http://h:1").unwrap();
        let query = ListQuery { limit: Some(5), marker: None, sort: Some("name:desc".into()), name: None, all_projects: Some(true) };
        let req = built(&client, Call::list(&["users"], &query, Filters::default()));
        assert_eq!(req.url().query(), Some("limit=5&sort=name%3Adesc&all_projects=true"));
        let req = built(
            &client,
            Call::list(
                &["role_assignments"],
                &ListQuery::default(),
                Filters { user: Some("alice"), project: Some("demo"), ..Filters::default() },
            ),
        );
        assert_eq!(req.url().query(), Some("user=alice&project=demo"));
        let req = built(
            &client,
            Call::list(&["profiles"], &ListQuery::default(), Filters { type_name: Some("container.docker"), ..Filters::default() }),
        );
        assert_eq!(req.url().query(), Some("type=container.docker"));
        let req = built(&client, Call::list(&["hosts"], &ListQuery::default(), Filters { state: Some("UP"), ..Filters::default() }));
        assert_eq!(req.url().query(), Some("state=UP"));
        let filter = flotilla_api::ContainerFilter { status: Some("RUNNING".into()), host: Some("h1".into()) };
        let query = ListQuery { limit: Some(3), ..ListQuery::default() };
        let req = built(&client, Call::list(&["containers"], &query, &filter));
        assert_eq!(req.url().query(), Some("limit=3&status=RUNNING&host=h1"));
    }

    #[test]
    fn locations_name_the_action() {
        let headers = |location: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(LOCATION, location.parse().unwrap());
            headers
        };
        assert_eq!(location_action(&headers("/v1/actions/0192-a")), Some("0192-a".into()));
        assert_eq!(location_action(&headers("http://h:1/prefix/v1/actions/0192-b/")), Some("0192-b".into()));
        assert_eq!(location_action(&headers("/v1/clusters/web")), None);
        assert_eq!(location_action(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn accepted_answers_carry_their_action() {
        let reply =
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\nlocation: /v1/actions/a1\r\nconnection: close\r\n\r\n{\"n\":1}";
        let (url, _server) = crate::fake_server::serve(1, move |_| reply.to_owned());
        let client = Client::new(&url).unwrap();
        let accepted: Accepted<serde_json::Value> = client.send_accepted(Call::post(&["clusters"], &())).await.unwrap();
        assert_eq!((accepted.body["n"].as_i64(), accepted.action.as_deref()), (Some(1), Some("a1")));
    }

    #[test]
    fn streams_have_no_overall_timeout() {
        let client = Client::new("http://h:1").unwrap();
        assert_eq!(built(&client, Call::get(&["users"])).timeout(), Some(&REQUEST_TIMEOUT));
        assert_eq!(built(&client, Call::get(&["containers", "c", "logs"]).timeout(None)).timeout(), None);
    }

    #[test]
    fn token_and_idempotency_key_headers() {
        let client = Client::new("http://h:1").unwrap();
        let req = built(&client, Call::get(&["users"]));
        assert!(req.headers().get(AUTH_TOKEN_HEADER).is_none());

        let client = client.with_token("s3cret");
        assert_eq!(client.token(), Some("s3cret"));
        let body = ProjectCreate { name: "demo".into(), description: String::new(), enabled: None, metadata: Default::default() };
        let req = built(&client, Call::post(&["projects"], &body));
        assert_eq!(req.headers()[AUTH_TOKEN_HEADER], "s3cret");
        assert!(req.headers().get(IDEMPOTENCY_KEY_HEADER).is_none());

        let keyed = client.with_idempotency_key("k-1");
        let req = built(&keyed, Call::post(&["projects"], &body));
        assert_eq!(req.headers()[IDEMPOTENCY_KEY_HEADER], "k-1");
        assert_eq!(req.method(), Method::POST);
        let body = req.body().and_then(|b| b.as_bytes()).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(body).unwrap()["name"], "demo");
        // Only POSTs carry the key.
        let req = built(&keyed, Call::delete(&["projects", "demo"]));
        assert!(req.headers().get(IDEMPOTENCY_KEY_HEADER).is_none());
    }
}
