//! The service catalog: one `clustering` and one `container` endpoint per region. At the central,
//! every registered region (the central runs no hosts); elsewhere, this server's own region.

use super::Keystone;
use super::error::KeystoneError;
use axum::http::{HeaderMap, Method, StatusCode};
use flotilla_api::region::RegionList;
use serde_json::{Value, json};

/// Page size of the region listing.
const PAGE: u32 = 1000;

/// Where each service of a region is, relative to the region's API URL.
const SERVICES: [(&str, &str, &str); 2] = [("clustering", "senlin", "/clustering"), ("container", "zun", "/container/v1")];

/// Every region's name and API URL when this server is the central; `None` anywhere else.
async fn registered_regions(keystone: &Keystone, token: &str) -> Result<Option<Vec<(String, String)>>, KeystoneError> {
    let mut regions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let path = match &marker {
            Some(marker) => format!("/v1/regions?limit={PAGE}&marker={marker}"),
            None => format!("/v1/regions?limit={PAGE}"),
        };
        let answer = keystone.api.call(Method::GET, &path, Some(token), None).await;
        match answer.status {
            StatusCode::OK => {}
            // Not a central: this server has no regions.
            StatusCode::NOT_FOUND if marker.is_none() => return Ok(None),
            _ => return Err(KeystoneError::from_answer(&answer)),
        }
        let page: RegionList = serde_json::from_value(answer.body)
            .map_err(|error| KeystoneError::Unreadable(format!("the region list could not be read: {error}")))?;
        regions.extend(page.regions.into_iter().map(|r| (r.name, r.api_url.trim_end_matches('/').to_owned())));
        match page.next {
            Some(next) => marker = Some(next),
            None => return Ok(Some(regions)),
        }
    }
}

/// The catalog a token of `token` gets, for a request that carried `headers`.
pub(super) async fn catalog(keystone: &Keystone, token: &str, headers: &HeaderMap) -> Result<Value, KeystoneError> {
    let regions = match registered_regions(keystone, token).await? {
        Some(regions) => regions,
        None => vec![(keystone.site.region.clone(), keystone.site.base_url(headers))],
    };
    let services = SERVICES.iter().map(|(kind, name, suffix)| {
        let endpoints: Vec<Value> = regions
            .iter()
            .map(|(region, url)| {
                json!({"id": format!("{kind}-{region}-public"), "interface": "public", "region": region, "region_id": region, "url": format!("{url}{suffix}")})
            })
            .collect();
        json!({"type": kind, "name": name, "id": kind, "endpoints": endpoints})
    });
    Ok(Value::Array(services.collect()))
}
