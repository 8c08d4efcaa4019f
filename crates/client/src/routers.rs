//! Router endpoints: routers and the networks they join.

use crate::{Call, Client, ClientError};
use flotilla_api::{ListQuery, Router, RouterCreate, RouterInterfaceCreate, RouterList};

impl Client {
    pub async fn create_router(&self, body: &RouterCreate) -> Result<Router, ClientError> {
        self.send(Call::post(&["routers"], body)).await
    }

    pub async fn list_routers(&self, query: &ListQuery) -> Result<RouterList, ClientError> {
        self.send(Call::get(&["routers"]).query(query)).await
    }

    /// A router by id or name, with its interfaces.
    pub async fn router(&self, key: &str) -> Result<Router, ClientError> {
        self.send(Call::get(&["routers", key])).await
    }

    /// Deletes a router; refused (409) while it joins networks.
    pub async fn delete_router(&self, key: &str) -> Result<(), ClientError> {
        self.send(Call::delete(&["routers", key])).await
    }

    /// Joins a network (id or name) to a router; answers the router.
    pub async fn add_router_interface(&self, router: &str, network: &str) -> Result<Router, ClientError> {
        self.send(Call::post(&["routers", router, "interfaces"], &RouterInterfaceCreate { network: network.to_owned() })).await
    }

    /// Removes a network's interface from a router; answers the router.
    pub async fn remove_router_interface(&self, router: &str, network: &str) -> Result<Router, ClientError> {
        self.send(Call::delete(&["routers", router, "interfaces", network])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_server::{json_reply, serve};

    #[tokio::test]
    async fn interfaces_have_their_paths_and_body() {
        let (url, server) =
            serve(3, |_| json_reply("404 Not Found", r#"{"error":{"code":404,"title":"Not Found","message":"no","request_id":"r"}}"#));
        let client = Client::new(&url).unwrap();
        assert_eq!(client.add_router_interface("edge", "front net").await.unwrap_err().status(), Some(404));
        client.remove_router_interface("edge", "front net").await.unwrap_err();
        client.delete_router("edge").await.unwrap_err();
        let requests = server.join().unwrap();
        let lines: Vec<&str> = requests.iter().map(|r| r.head.lines().next().unwrap()).collect();
        assert_eq!(
            lines,
            [
                "POST /v1/routers/edge/interfaces HTTP/1.1",
                "DELETE /v1/routers/edge/interfaces/front%20net HTTP/1.1",
                "DELETE /v1/routers/edge HTTP/1.1",
            ]
        );
        assert_eq!(requests[0].body, br#"{"network":"front net"}"#);
    }
}
