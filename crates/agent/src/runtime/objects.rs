//! Flotilla networks and volumes as a runtime makes and lists them (runtime names, labels, specs),
//! and a container's endpoints on networks and mounts of volumes.

use super::{RuntimeError, short_id};
use flotilla_api::agent::{HostNetwork, HostVolume, LABEL_HOST, LABEL_NETWORK, LABEL_VOLUME, NetworkAttachment, VolumeMount};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The runtime's name of a Flotilla network: `flt-net-{name}-{last 12 hex digits of its id}`.
pub fn network_name(network: &HostNetwork) -> String {
    format!("flt-net-{}-{}", network.name, short_id(network.id))
}

/// The runtime's name of a Flotilla volume: `flt-vol-{name}-{last 12 hex digits of its id}`.
pub fn volume_name(volume: &HostVolume) -> String {
    format!("flt-vol-{}-{}", volume.name, short_id(volume.id))
}

/// One Flotilla network as the agent of host `host_id` has the runtime make it: a bridge with
/// this subnet and gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// See [`network_name`].
    pub name: String,
    pub network_id: Uuid,
    pub host_id: Uuid,
    /// `ADDRESS/PREFIX`.
    pub cidr: String,
    pub gateway: String,
    /// Set for a network with an overlay: the runtime binds the network to this bridge (which
    /// [`crate::overlay`] makes and keeps) and gives its interfaces this MTU.
    pub bridge: Option<Bridge>,
}

/// The host bridge an overlay network is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    pub mtu: u32,
}

impl NetworkSpec {
    pub fn new(network: &HostNetwork, host_id: Uuid) -> Self {
        Self {
            name: network_name(network),
            network_id: network.id,
            host_id,
            cidr: network.cidr.clone(),
            gateway: network.gateway.clone(),
            bridge: network.overlay.as_ref().map(|o| Bridge { name: crate::overlay::bridge_name(network.id), mtu: o.mtu }),
        }
    }

    /// `flotilla.network` and `flotilla.host`.
    pub fn labels(&self) -> HashMap<String, String> {
        labels(LABEL_NETWORK, self.network_id, self.host_id)
    }
}

/// One Flotilla volume as the agent of host `host_id` has the runtime make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// See [`volume_name`].
    pub name: String,
    pub volume_id: Uuid,
    pub host_id: Uuid,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
}

impl VolumeSpec {
    pub fn new(volume: &HostVolume, host_id: Uuid) -> Self {
        Self {
            name: volume_name(volume),
            volume_id: volume.id,
            host_id,
            driver: volume.driver.clone(),
            driver_opts: volume.driver_opts.clone(),
        }
    }

    /// `flotilla.volume` and `flotilla.host`.
    pub fn labels(&self) -> HashMap<String, String> {
        labels(LABEL_VOLUME, self.volume_id, self.host_id)
    }
}

fn labels(kind: &str, id: Uuid, host_id: Uuid) -> HashMap<String, String> {
    HashMap::from([(kind.to_owned(), id.to_string()), (LABEL_HOST.to_owned(), host_id.to_string())])
}

/// A network or volume an agent made, as the runtime lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeObject {
    pub name: String,
    /// The Flotilla object's id (label `flotilla.network` or `flotilla.volume`).
    pub id: Uuid,
    /// The host whose agent made it (label `flotilla.host`).
    pub host_id: Uuid,
}

impl RuntimeObject {
    /// Reads label `kind` (`flotilla.network` or `flotilla.volume`) and `flotilla.host`; `None`
    /// when the object is not one of ours (or its labels are damaged).
    pub fn from_labels(name: String, labels: &HashMap<String, String>, kind: &str) -> Option<Self> {
        let id = labels.get(kind)?.parse().ok()?;
        let host_id = labels.get(LABEL_HOST)?.parse().ok()?;
        Some(Self { name, id, host_id })
    }
}

/// What an ensure makes of an object found under the name it wanted: that Flotilla object (label
/// `kind` is `id`, whichever host's agent made it) is fine; anything else is a conflict.
pub fn check_existing(name: &str, labels: &HashMap<String, String>, kind: &str, id: Uuid) -> Result<(), RuntimeError> {
    match labels.get(kind) {
        Some(found) if *found == id.to_string() => Ok(()),
        found => Err(RuntimeError::Conflict(format!("{name} exists and is not {kind}={id} (it is {})", found.map_or("unlabelled", |f| f)))),
    }
}

/// A container's place on a network, as creating or connecting it takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The network's runtime name.
    pub network: String,
    pub ip_address: String,
    pub mac_address: String,
    pub aliases: Vec<String>,
    /// The network's gateway, where the agent answers the network's names.
    pub gateway: String,
}

impl From<&NetworkAttachment> for Endpoint {
    fn from(attachment: &NetworkAttachment) -> Self {
        Self {
            network: network_name(&attachment.network),
            ip_address: attachment.ip_address.clone(),
            mac_address: attachment.mac_address.clone(),
            aliases: attachment.aliases.clone(),
            gateway: attachment.network.gateway.clone(),
        }
    }
}

/// A volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The volume's runtime name.
    pub volume: String,
    pub target: String,
    pub read_only: bool,
}

impl From<&VolumeMount> for MountSpec {
    fn from(mount: &VolumeMount) -> Self {
        Self { volume: volume_name(&mount.volume), target: mount.target.clone(), read_only: mount.read_only }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Uuid {
        "0190f5a2-1b2c-7d3e-8f40-123456789abc".parse().unwrap()
    }

    #[test]
    fn names_carry_the_random_tail_of_the_id() {
        let network = HostNetwork {
            id: id(),
            name: "backend".into(),
            cidr: "10.0.0.0/24".into(),
            gateway: "10.0.0.1".into(),
            overlay: None,
            names: vec![],
        };
        assert_eq!(network_name(&network), "flt-net-backend-123456789abc");
        let volume = HostVolume { id: id(), name: "data".into(), driver: "local".into(), driver_opts: BTreeMap::new() };
        assert_eq!(volume_name(&volume), "flt-vol-data-123456789abc");
    }

    #[test]
    fn labels_name_the_object_and_the_host() {
        let host = Uuid::from_u128(7);
        let network = HostNetwork {
            id: id(),
            name: "n".into(),
            cidr: "10.0.0.0/24".into(),
            gateway: "10.0.0.1".into(),
            overlay: None,
            names: vec![],
        };
        let labels = NetworkSpec::new(&network, host).labels();
        assert_eq!(labels[LABEL_NETWORK], id().to_string());
        assert_eq!(labels[LABEL_HOST], host.to_string());
        let listed = RuntimeObject::from_labels("flt-net-n".into(), &labels, LABEL_NETWORK).unwrap();
        assert_eq!(listed, RuntimeObject { name: "flt-net-n".into(), id: id(), host_id: host });
        assert_eq!(RuntimeObject::from_labels("x".into(), &labels, LABEL_VOLUME), None, "a network is no volume");
    }

    #[test]
    fn an_existing_object_is_fine_only_when_it_is_the_same_flotilla_object() {
        let volume = HostVolume { id: id(), name: "v".into(), driver: "local".into(), driver_opts: BTreeMap::new() };
        let made_by_another_host = VolumeSpec::new(&volume, Uuid::from_u128(9)).labels();
        assert_eq!(check_existing("flt-vol-v", &made_by_another_host, LABEL_VOLUME, id()), Ok(()));
        let other = Uuid::from_u128(3);
        let Err(RuntimeError::Conflict(why)) = check_existing("flt-vol-v", &made_by_another_host, LABEL_VOLUME, other) else {
            panic!("another volume's name")
        };
        assert!(why.contains(&id().to_string()), "{why}");
        assert!(check_existing("flt-vol-v", &HashMap::new(), LABEL_VOLUME, id()).is_err(), "an unlabelled volume is not ours");
    }
}
