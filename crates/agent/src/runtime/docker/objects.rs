//! Docker networks and volumes of Flotilla networks and volumes: ensure, remove, list, and a
//! container's connects and disconnects.

use super::{engine_error, spec};
use crate::runtime::objects::check_existing;
use crate::runtime::{Endpoint, NetworkSpec, RuntimeError, RuntimeObject, VolumeSpec};
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::{ListNetworksOptions, ListVolumesOptions, RemoveVolumeOptions};
use flotilla_api::agent::{LABEL_NETWORK, LABEL_VOLUME};
use std::collections::HashMap;

pub async fn ensure_network(docker: &Docker, spec: &NetworkSpec) -> Result<(), RuntimeError> {
    if network_exists(docker, spec).await? {
        return Ok(());
    }
    match docker.create_network(spec::network_create(spec)).await {
        Ok(_) => Ok(()),
        // Another agent sharing this engine may be making it meanwhile: the engine refuses a
        // second bridge on the same subnet, and shows the other's network a moment later.
        Err(e) => {
            for _ in 0..10 {
                if network_exists(docker, spec).await? {
                    return Ok(());
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(engine_error(&format!("creating network {}", spec.name), e))
        }
    }
}

/// Whether network `spec.name` exists as this Flotilla network; a conflict when the name is another's.
async fn network_exists(docker: &Docker, spec: &NetworkSpec) -> Result<bool, RuntimeError> {
    match docker.inspect_network(&spec.name, None).await {
        Ok(found) => check_existing(&spec.name, &found.labels.unwrap_or_default(), LABEL_NETWORK, spec.network_id).map(|()| true),
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(e) => Err(engine_error(&format!("inspecting network {}", spec.name), e)),
    }
}

pub async fn ensure_volume(docker: &Docker, spec: &VolumeSpec) -> Result<(), RuntimeError> {
    // Creating a volume that exists answers the existing one, labels and all.
    let volume =
        docker.create_volume(spec::volume_create(spec)).await.map_err(|e| engine_error(&format!("creating volume {}", spec.name), e))?;
    check_existing(&spec.name, &volume.labels, LABEL_VOLUME, spec.volume_id)
}

pub async fn remove_network(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    docker.remove_network(name).await.map_err(|e| removal_error(&format!("removing network {name}"), e))
}

pub async fn remove_volume(docker: &Docker, name: &str) -> Result<(), RuntimeError> {
    docker.remove_volume(name, None::<RemoveVolumeOptions>).await.map_err(|e| removal_error(&format!("removing volume {name}"), e))
}

/// A network with active endpoints (403) or a volume a container uses (409) is in use.
fn removal_error(context: &str, error: DockerError) -> RuntimeError {
    match error {
        DockerError::DockerResponseServerError { message, .. } if message.contains("active endpoints") || message.contains("in use") => {
            RuntimeError::InUse(message)
        }
        other => engine_error(context, other),
    }
}

fn labelled(label: &str) -> Option<HashMap<String, Vec<String>>> {
    Some(HashMap::from([("label".to_owned(), vec![label.to_owned()])]))
}

pub async fn networks(docker: &Docker) -> Result<Vec<RuntimeObject>, RuntimeError> {
    let options = ListNetworksOptions { filters: labelled(LABEL_NETWORK) };
    let listed = docker.list_networks(Some(options)).await.map_err(|e| engine_error("listing networks", e))?;
    Ok(listed.into_iter().filter_map(|n| RuntimeObject::from_labels(n.name?, &n.labels.unwrap_or_default(), LABEL_NETWORK)).collect())
}

pub async fn volumes(docker: &Docker) -> Result<Vec<RuntimeObject>, RuntimeError> {
    let options = ListVolumesOptions { filters: labelled(LABEL_VOLUME) };
    let listed = docker.list_volumes(Some(options)).await.map_err(|e| engine_error("listing volumes", e))?;
    Ok(listed.volumes.unwrap_or_default().into_iter().filter_map(|v| RuntimeObject::from_labels(v.name, &v.labels, LABEL_VOLUME)).collect())
}

pub async fn connect(docker: &Docker, id: &str, endpoint: &Endpoint) -> Result<(), RuntimeError> {
    let request = NetworkConnectRequest { container: id.to_owned(), endpoint_config: Some(spec::endpoint_settings(endpoint)) };
    docker
        .connect_network(&endpoint.network, request)
        .await
        .map_err(|e| engine_error(&format!("connecting to network {}", endpoint.network), e))
}

pub async fn disconnect(docker: &Docker, id: &str, network: &str) -> Result<(), RuntimeError> {
    let request = NetworkDisconnectRequest { container: id.to_owned(), force: Some(false) };
    docker.disconnect_network(network, request).await.map_err(|e| engine_error(&format!("disconnecting from network {network}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_in_use_are_told_apart_from_failures() {
        let e = |status_code, message: &str| DockerError::DockerResponseServerError { status_code, message: message.into() };
        let busy_network = "error while removing network: network flt-net-a id 68bb has active endpoints";
        assert_eq!(removal_error("x", e(403, busy_network)), RuntimeError::InUse(busy_network.into()));
        let busy_volume = "remove flt-vol-v: volume is in use - [a59e]";
        assert_eq!(removal_error("x", e(409, busy_volume)), RuntimeError::InUse(busy_volume.into()));
        assert_eq!(removal_error("x", e(404, "no such network")), RuntimeError::NotFound("no such network".into()));
        assert!(matches!(removal_error("x", e(500, "boom")), RuntimeError::Engine { .. }));
    }
}
