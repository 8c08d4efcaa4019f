//! Keeps one name server per network the host carries, on the network's gateway address (on the
//! host's bridge, where its containers reach it), answering the network's names: asked of the
//! region, or those its latest assignments list (an older server lists them).
//! A gateway not yet on the host (its bridge is made by the reconciler) is tried again each tick.

use super::{NameLookup, NameServer, NameSource, Names, Resolvers};
use crate::follow::Follow;
use flotilla_api::agent::{Assignments, HostNetwork};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use uuid::Uuid;

/// The networks of `assignments` by id (each once).
fn networks(assignments: &Assignments) -> HashMap<Uuid, &HostNetwork> {
    assignments.containers.iter().flat_map(|a| &a.networks).map(|n| (n.network.id, &n.network)).collect()
}

/// Where `network`'s names come from: listed with it, else asked through `lookup`.
fn source(network: &HostNetwork, lookup: &Arc<NameLookup>) -> NameSource {
    match network.names.is_empty() {
        true => NameSource::Asked { network: network.id, lookup: lookup.clone() },
        false => NameSource::Listed(Names::new(&network.names)),
    }
}

/// Serves the names of every network of the latest assignments on its gateway, port `port`,
/// until the agent stops.
pub(crate) async fn serve_names(port: u16, lookup: Arc<NameLookup>, mut follow: Follow) {
    let mut servers: HashMap<Uuid, NameServer> = HashMap::new();
    let resolvers = Arc::new(Resolvers::system());
    while let Some(current) = follow.next().await {
        let wanted = networks(&current);
        servers.retain(|id, server| {
            wanted.get(id).is_some_and(|n| n.gateway.parse::<IpAddr>().is_ok_and(|gateway| gateway == server.address().ip()))
        });
        for (id, network) in wanted {
            let names = source(network, &lookup);
            if let Some(server) = servers.get(&id) {
                server.replace(names);
                continue;
            }
            let Ok(gateway) = network.gateway.parse::<IpAddr>() else { continue };
            match NameServer::start(SocketAddr::new(gateway, port), names, resolvers.clone()).await {
                Ok(server) => {
                    tracing::info!(network = %network.name, address = %server.address(), "serving the network's names");
                    servers.insert(id, server);
                }
                Err(error) => tracing::debug!(network = %network.name, %gateway, %error, "the network's name server waits for its gateway"),
            }
        }
    }
}
