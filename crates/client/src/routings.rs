//! The central's routing table: list (admins) and where one id lives.

use crate::{Call, Client, ClientError};
use flotilla_api::ListQuery;
use flotilla_api::region::{Routing, RoutingFilter, RoutingList};

impl Client {
    pub async fn list_routings(&self, query: &ListQuery, filter: &RoutingFilter) -> Result<RoutingList, ClientError> {
        self.send(Call::list(&["routings"], query, filter)).await
    }

    /// Which region holds `id` (an id of the caller's project, or any for admins).
    pub async fn routing(&self, id: &str) -> Result<Routing, ClientError> {
        self.send(Call::get(&["routings", id])).await
    }
}
