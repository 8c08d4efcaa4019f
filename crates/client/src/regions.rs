//! Region endpoints at the central: the registry (where each region's API is, and whether it is
//! UP) and join tokens for new regions.

use crate::{Call, Client, ClientError, Filters};
use flotilla_api::ListQuery;
use flotilla_api::region::{Region, RegionJoinToken, RegionJoinTokenCreate, RegionList};

impl Client {
    /// `POST /v1/regions/join-tokens` (admins, at the central): a one-use token a region server
    /// registers with, shown once.
    pub async fn create_region_join_token(&self, body: &RegionJoinTokenCreate) -> Result<RegionJoinToken, ClientError> {
        self.send(Call::post(&["regions", "join-tokens"], body)).await
    }

    /// Every region of the federation, with its status, API URL and counts.
    pub async fn list_regions(&self, query: &ListQuery) -> Result<RegionList, ClientError> {
        self.send(Call::list(&["regions"], query, Filters::default())).await
    }

    /// A region by id or name.
    pub async fn region(&self, key: &str) -> Result<Region, ClientError> {
        self.send(Call::get(&["regions", key])).await
    }

    /// Forgets a region (admins): its credential stops working.
    pub async fn delete_region(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["regions", key])).await
    }
}
