//! The central's dashboard shows every region at once: a page's `/v1` call goes to each region
//! that is up, at the same time, with the browser's own token (a region accepts its central's
//! tokens), and a region's own dashboard opens from the central already signed in.

use super::forms::Csrf;
use super::session::Session;
use super::{Ui, UiError};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use flotilla_api::region::{Region, RegionList};
use flotilla_api::{AUTH_TOKEN_HEADER, DashboardLink, ErrorBody};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// How long the central waits for a region before showing the page without it.
pub(crate) const REGION_TIMEOUT: Duration = Duration::from_secs(3);

/// One region's answer to a page's call, or why there is none.
pub(crate) struct FromRegion<T> {
    pub region: String,
    pub answer: Result<T, String>,
}

impl Ui {
    /// The central's regions; `None` on a region, which keeps no registry (its API answers 404).
    pub(crate) async fn regions(&self, session: &Session) -> Result<Option<Vec<Region>>, UiError> {
        match self.get::<RegionList>(session, "/v1/regions").await {
            Ok(list) => Ok(Some(list.regions)),
            Err(UiError::Api { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// `GET path` at every region that is up, all at once, as the session.
    async fn ask_each<T: DeserializeOwned>(&self, session: &Session, regions: &[Region], path: &str) -> Vec<FromRegion<T>> {
        let calls = regions.iter().filter(|r| r.status == "UP").map(|region| async move {
            FromRegion { region: region.name.clone(), answer: self.at_region(Method::GET, region, path, &session.token).await }
        });
        futures::future::join_all(calls).await
    }

    /// `method path` at `region`'s API with `token`; the error says why in a line.
    async fn at_region<T: DeserializeOwned>(&self, method: Method, region: &Region, path: &str, token: &str) -> Result<T, String> {
        let url = format!("{}{path}", region.api_url.trim_end_matches('/'));
        let response = self
            .http
            .request(method, &url)
            .header(AUTH_TOKEN_HEADER, token)
            .timeout(REGION_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("{url} did not answer: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            let message = response.json::<ErrorBody>().await.map(|body| body.error.message).unwrap_or_default();
            return Err(format!("{url} answered {status}: {message}"));
        }
        response.json::<T>().await.map_err(|e| format!("{url} answered something unreadable: {e}"))
    }
}

/// `POST /ui/regions/{region}/open`: asks the region for a one-time sign-in link for the
/// session's token and sends the browser there.
pub(crate) async fn open(
    State(ui): State<Ui>,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<Csrf>,
) -> Result<Response, UiError> {
    session.check_csrf(&form.csrf)?;
    let regions = ui.regions(&session).await?.unwrap_or_default();
    let Some(region) = regions.iter().find(|r| r.name == name) else {
        return Err(UiError::Api { status: StatusCode::NOT_FOUND, message: format!("no region is named {name:?}") });
    };
    let link: DashboardLink = ui
        .at_region(Method::POST, region, "/v1/dashboard/links", &session.token)
        .await
        .map_err(|message| UiError::Api { status: StatusCode::BAD_GATEWAY, message })?;
    Ok(Redirect::to(&format!("{}{}", region.api_url.trim_end_matches('/'), link.path)).into_response())
}

/// A page's list: from this server, or at the central from every region that answered, with
/// a line for each region that did not.
pub(crate) struct Gathered<T> {
    /// Each part with the region it came from (`None`: this server).
    pub parts: Vec<(Option<String>, T)>,
    /// Why a region's part is missing, one line each.
    pub missing: Vec<String>,
}

impl Ui {
    /// `GET path` here, or at the central (`regions` is its registry) at every region.
    pub(crate) async fn gather<T: DeserializeOwned>(
        &self,
        session: &Session,
        regions: Option<&[Region]>,
        path: &str,
    ) -> Result<Gathered<T>, UiError> {
        let Some(regions) = regions else {
            return Ok(Gathered { parts: vec![(None, self.get(session, path).await?)], missing: Vec::new() });
        };
        let mut gathered = Gathered { parts: Vec::new(), missing: Vec::new() };
        for region in regions.iter().filter(|r| r.status != "UP") {
            gathered.missing.push(format!("region {} is {}: its part is not shown", region.name, region.status));
        }
        for from in self.ask_each(session, regions, path).await {
            match from.answer {
                Ok(part) => gathered.parts.push((Some(from.region), part)),
                Err(why) => gathered.missing.push(format!("region {}: {why}", from.region)),
            }
        }
        Ok(gathered)
    }
}
