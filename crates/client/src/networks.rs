//! Network endpoints: networks, their subnets, ports (reserved addresses), and connecting a container
//! to a network or disconnecting it.

use crate::{Call, Client, ClientError, Filters, Listing};
use flotilla_api::{
    Container, ListQuery, Network, NetworkConnect, NetworkCreate, NetworkList, Port, PortCreate, PortFilters, PortList, Subnet,
    SubnetCreate, SubnetList,
};

impl Client {
    /// `POST /v1/networks`, with its first subnet when `body.subnet` is set.
    pub async fn create_network(&self, body: &NetworkCreate) -> Result<Network, ClientError> {
        self.send(Call::post(&["networks"], body)).await
    }

    pub async fn list_networks(&self, query: impl Into<Listing<'_>>) -> Result<NetworkList, ClientError> {
        self.send(Call::listing(&["networks"], query.into(), Filters::default())).await
    }

    /// A network by id or name, with its subnets.
    pub async fn network(&self, key: &str) -> Result<Network, ClientError> {
        self.send(Call::get(&["networks", key])).await
    }

    /// Deletes a network and its subnets; refused (409) while ports remain on it.
    pub async fn delete_network(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["networks", key])).await
    }

    /// Adds a subnet to a network (id or name); refused (409) when it overlaps another of the network's.
    pub async fn create_subnet(&self, network: &str, body: &SubnetCreate) -> Result<Subnet, ClientError> {
        self.send(Call::post(&["networks", network, "subnets"], body)).await
    }

    /// A network's subnets.
    pub async fn list_subnets(&self, network: &str) -> Result<SubnetList, ClientError> {
        self.send(Call::get(&["networks", network, "subnets"])).await
    }

    pub async fn subnet(&self, id: &str) -> Result<Subnet, ClientError> {
        self.send(Call::get(&["subnets", id])).await
    }

    pub async fn delete_subnet(&self, id: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["subnets", id])).await
    }

    /// `POST /v1/ports`: reserves an address on a network, the one given or the next free one.
    pub async fn create_port(&self, body: &PortCreate) -> Result<Port, ClientError> {
        self.send(Call::post(&["ports"], body)).await
    }

    /// Ports, optionally only those of one network and/or one container (names or ids).
    pub async fn list_ports(&self, query: &ListQuery, filters: &PortFilters) -> Result<PortList, ClientError> {
        self.send(Call::list(&["ports"], query, filters)).await
    }

    /// Every port matching `filters`, page after page.
    pub async fn all_ports(&self, filters: &PortFilters) -> Result<Vec<Port>, ClientError> {
        crate::every_page(|query| async move {
            let page = self.list_ports(&query, filters).await?;
            Ok((page.ports, page.next))
        })
        .await
    }

    pub async fn port(&self, id: &str) -> Result<Port, ClientError> {
        self.send(Call::get(&["ports", id])).await
    }

    /// Deletes a port: its address is free again.
    pub async fn delete_port(&self, id: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["ports", id])).await
    }

    /// Connects a container (id or name) to a network; answers the container with its new address.
    pub async fn connect_network(&self, container: &str, body: &NetworkConnect) -> Result<Container, ClientError> {
        self.send(Call::post(&["containers", container, "networks"], body)).await
    }

    /// Disconnects a container from a network (both ids or names); its address there is freed.
    pub async fn disconnect_network(&self, container: &str, network: &str) -> Result<Container, ClientError> {
        self.send(Call::delete(&["containers", container, "networks", network])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::{json_reply, serve, serve_once};
    use flotilla_api::AllocationPool;

    const NETWORK: &str = r#"{"id":"01927c4e-0000-7000-8000-000000000001","name":"front","project_id":"01927c4e-0000-7000-8000-000000000002",
        "shared":false,"is_default":false,"subnets":[],"metadata":{},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;

    #[tokio::test]
    async fn a_network_is_created_with_its_subnet_in_one_body() {
        let (url, server) = serve_once("201 Created", "application/json", NETWORK);
        let subnet = SubnetCreate {
            cidr: "10.1.0.0/24".into(),
            allocation_pools: vec![AllocationPool { start: "10.1.0.10".into(), end: "10.1.0.99".into() }],
            ..SubnetCreate::default()
        };
        let body = NetworkCreate { name: "front".into(), shared: false, global: false, subnet: Some(subnet), metadata: Default::default() };
        let network = Client::new(&url).unwrap().create_network(&body).await.unwrap();
        assert_eq!(network.name, "front");
        let request = server.join().unwrap();
        assert!(request.head.starts_with("POST /v1/networks HTTP/1.1"), "{}", request.head);
        let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let expected = serde_json::json!({"name": "front", "shared": false, "metadata": {},
            "subnet": {"cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.10", "end": "10.1.0.99"}]}});
        assert_eq!(sent, expected, "unset subnet fields are left to the server");
    }

    #[tokio::test]
    async fn ports_subnets_and_connections_have_their_paths() {
        let (url, server) =
            serve(4, |_| json_reply("409 Conflict", r#"{"error":{"code":409,"title":"Conflict","message":"no","request_id":"r"}}"#));
        let client = Client::new(&url).unwrap();
        let filters = PortFilters { network: Some("front".into()), container: None };
        let query = ListQuery { limit: Some(5), ..ListQuery::default() };
        assert_eq!(client.list_ports(&query, &filters).await.unwrap_err().status(), Some(409));
        client.list_subnets("front net").await.unwrap_err();
        let connect = NetworkConnect { network: "front".into(), ip_address: None };
        client.connect_network("web", &connect).await.unwrap_err();
        client.disconnect_network("web", "front").await.unwrap_err();
        let requests = server.join().unwrap();
        let lines: Vec<&str> = requests.iter().map(|r| r.head.lines().next().unwrap()).collect();
        assert_eq!(
            lines,
            [
                "GET /v1/ports?limit=5&network=front HTTP/1.1",
                "GET /v1/networks/front%20net/subnets HTTP/1.1",
                "POST /v1/containers/web/networks HTTP/1.1",
                "DELETE /v1/containers/web/networks/front HTTP/1.1",
            ]
        );
        assert_eq!(requests[2].body, br#"{"network":"front"}"#);
    }
}
