//! The overlay's netlink calls (rtnetlink): links listed, made, set and deleted; forwarding
//! entries (AF_BRIDGE, on the VXLAN device itself) and neighbour entries (AF_INET) listed, put
//! (replacing) and removed. No decisions here: [`super::plan`] makes them.

use super::OverlayError;
use super::plan::{Link, LinkKind, LinkStep};
use flotilla_core::overlay::VXLAN_PORT;
use futures::TryStreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVxlan};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// A netlink connection in the namespace it was opened in.
pub(super) struct Kernel {
    handle: Handle,
}

fn failed(context: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> OverlayError {
    let context = context.into();
    move |e| OverlayError::Netlink { context, message: e.to_string() }
}

/// Whether `e` is the kernel's "no such entry/device" (ENOENT, ENODEV).
fn is_gone(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if matches!(m.raw_code().abs(), 2 | 19))
}

fn link_of(message: &LinkMessage) -> Option<Link> {
    let mut name = None;
    let mut kind = LinkKind::Other;
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::LinkInfo(infos) => {
                let mut vni = None;
                let mut local = None;
                let mut is = None;
                for info in infos {
                    match info {
                        LinkInfo::Kind(InfoKind::Bridge) => is = Some(InfoKind::Bridge),
                        LinkInfo::Kind(InfoKind::Vxlan) => is = Some(InfoKind::Vxlan),
                        LinkInfo::Data(InfoData::Vxlan(data)) => {
                            for d in data {
                                match d {
                                    InfoVxlan::Id(id) => vni = Some(*id),
                                    InfoVxlan::Local(ip) => local = Some(*ip),
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
                kind = match is {
                    Some(InfoKind::Bridge) => LinkKind::Bridge,
                    Some(InfoKind::Vxlan) => LinkKind::Vxlan { vni: vni.unwrap_or(0), local },
                    _ => LinkKind::Other,
                };
            }
            _ => {}
        }
    }
    Some(Link { name: name?, kind })
}

impl Kernel {
    pub(super) fn connect() -> Result<Self, OverlayError> {
        let (connection, handle, _) = rtnetlink::new_connection()
            .map_err(|e| OverlayError::Netlink { context: "opening a socket".into(), message: e.to_string() })?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// Every link of the namespace, with its index.
    pub(super) async fn links(&self) -> Result<Vec<(Link, u32)>, OverlayError> {
        let messages: Vec<LinkMessage> = self.handle.link().get().execute().try_collect().await.map_err(failed("listing links"))?;
        Ok(messages.iter().filter_map(|m| link_of(m).map(|l| (l, m.header.index))).collect())
    }

    /// The index of link `name`.
    pub(super) async fn index(&self, name: &str) -> Result<u32, OverlayError> {
        let mut found = self.handle.link().get().match_name(name.to_owned()).execute();
        match found.try_next().await {
            Ok(Some(m)) => Ok(m.header.index),
            Ok(None) => Err(OverlayError::Netlink { context: format!("finding link {name}"), message: "not found".into() }),
            Err(e) => Err(failed(format!("finding link {name}"))(e)),
        }
    }

    pub(super) async fn apply(&self, step: &LinkStep, local: Ipv4Addr) -> Result<(), OverlayError> {
        let links = self.handle.link();
        match step {
            LinkStep::Delete { name } => {
                let Ok(index) = self.index(name).await else { return Ok(()) };
                match links.del(index).execute().await {
                    Err(e) if !is_gone(&e) => Err(failed(format!("deleting {name}"))(e)),
                    _ => Ok(()),
                }
            }
            LinkStep::Bridge { name, mtu, create: true } => {
                links.add(LinkBridge::new(name).mtu(*mtu).up().build()).execute().await.map_err(failed(format!("making bridge {name}")))
            }
            LinkStep::Bridge { name, mtu, create: false } => {
                let index = self.index(name).await?;
                links
                    .set(LinkUnspec::new_with_index(index).mtu(*mtu).up().build())
                    .execute()
                    .await
                    .map_err(failed(format!("setting {name}")))
            }
            LinkStep::Vxlan { name, vni, bridge, mtu, create } => {
                let bridge = self.index(bridge).await?;
                if *create {
                    let vxlan = LinkVxlan::new(name, *vni).local(local).port(VXLAN_PORT).learning(false).proxy(true);
                    links
                        .add(vxlan.mtu(*mtu).controller(bridge).up().build())
                        .execute()
                        .await
                        .map_err(failed(format!("making VXLAN device {name}")))
                } else {
                    let index = self.index(name).await?;
                    let set = LinkUnspec::new_with_index(index).mtu(*mtu).controller(bridge).up().build();
                    links.set(set).execute().await.map_err(failed(format!("setting {name}")))
                }
            }
        }
    }

    /// Every entry of `family` (AF_BRIDGE: forwarding; AF_INET: neighbour) in the namespace.
    async fn dump(&self, family: AddressFamily) -> Result<Vec<NeighbourMessage>, OverlayError> {
        let request = self.handle.neighbours().get().set_address_family(family);
        request.execute().try_collect().await.map_err(failed(format!("listing {family:?} entries")))
    }

    /// The forwarding entries with a remote destination on VXLAN device `index`: MAC → address.
    pub(super) async fn forwarding(&self, index: u32) -> Result<BTreeMap<[u8; 6], Ipv4Addr>, OverlayError> {
        let all = self.dump(AddressFamily::Bridge).await?;
        Ok(all
            .iter()
            .filter(|m| m.header.ifindex == index && !m.header.flags.contains(NeighbourFlags::Controller))
            .filter_map(|m| Some((mac_of(m)?, ipv4_of(m)?)))
            .collect())
    }

    /// The neighbour entries on device `index`: IP → MAC.
    pub(super) async fn neighbours(&self, index: u32) -> Result<BTreeMap<Ipv4Addr, [u8; 6]>, OverlayError> {
        let all = self.dump(AddressFamily::Inet).await?;
        Ok(all.iter().filter(|m| m.header.ifindex == index).filter_map(|m| Some((ipv4_of(m)?, mac_of(m)?))).collect())
    }

    pub(super) async fn put_forwarding(&self, index: u32, mac: [u8; 6], tunnel: Ipv4Addr) -> Result<(), OverlayError> {
        self.handle
            .neighbours()
            .add_bridge(index, &mac)
            .destination(IpAddr::V4(tunnel))
            .flags(NeighbourFlags::Own)
            .replace()
            .execute()
            .await
            .map_err(failed(format!("adding forwarding entry {} → {tunnel}", hex_mac(mac))))
    }

    pub(super) async fn remove_forwarding(&self, index: u32, mac: [u8; 6]) -> Result<(), OverlayError> {
        let mut message = NeighbourMessage::default();
        message.header.family = AddressFamily::Bridge;
        message.header.ifindex = index;
        message.header.state = NeighbourState::Permanent;
        message.header.flags = NeighbourFlags::Own;
        message.attributes.push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        match self.handle.neighbours().del(message).execute().await {
            Err(e) if !is_gone(&e) => Err(failed(format!("removing forwarding entry {}", hex_mac(mac)))(e)),
            _ => Ok(()),
        }
    }

    pub(super) async fn put_neighbour(&self, index: u32, ip: Ipv4Addr, mac: [u8; 6]) -> Result<(), OverlayError> {
        self.handle
            .neighbours()
            .add(index, IpAddr::V4(ip))
            .link_layer_address(&mac)
            .state(NeighbourState::Permanent)
            .replace()
            .execute()
            .await
            .map_err(failed(format!("adding neighbour entry {ip} → {}", hex_mac(mac))))
    }

    pub(super) async fn remove_neighbour(&self, index: u32, ip: Ipv4Addr) -> Result<(), OverlayError> {
        let mut message = NeighbourMessage::default();
        message.header.family = AddressFamily::Inet;
        message.header.ifindex = index;
        message.attributes.push(NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)));
        match self.handle.neighbours().del(message).execute().await {
            Err(e) if !is_gone(&e) => Err(failed(format!("removing neighbour entry {ip}"))(e)),
            _ => Ok(()),
        }
    }
}

fn mac_of(m: &NeighbourMessage) -> Option<[u8; 6]> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(bytes) => bytes.as_slice().try_into().ok(),
        _ => None,
    })
}

/// The IPv4 destination of an entry; forwarding entries (AF_BRIDGE) carry it as raw bytes.
fn ipv4_of(m: &NeighbourMessage) -> Option<Ipv4Addr> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => Some(*ip),
        NeighbourAttribute::Destination(NeighbourAddress::Other(bytes)) => <[u8; 4]>::try_from(bytes.as_slice()).ok().map(Ipv4Addr::from),
        _ => None,
    })
}

fn hex_mac(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}
