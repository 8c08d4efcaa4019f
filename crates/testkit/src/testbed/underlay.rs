//! The underlay: a bridge in a namespace of its own, one veth from it to each host and one to the
//! root namespace, all made with netlink; addresses from a block of the spec's range that no route
//! of the root namespace covers (other testbeds' blocks are skipped, any other route refuses).

use super::TestbedError;
use super::names::{LINK_ALIAS, RunName};
use flotilla_core::ipam::Cidr;
use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Name of each host's underlay interface inside its namespace.
pub const HOST_LINK: &str = "underlay";
const BRIDGE: &str = "br0";
/// The bridge namespace's end of the veth to the root namespace.
const ROOT_PEER: &str = "root";

/// The addresses of one testbed: its block of the range, the root namespace's and each host's.
#[derive(Debug, Clone)]
pub struct Plan {
    pub block: Cidr,
    pub server: Ipv4Addr,
    pub hosts: Vec<Ipv4Addr>,
}

/// The smallest block (at least a /28) that holds the network, broadcast, root and `hosts` addresses.
fn block_prefix(hosts: usize) -> u8 {
    let needed = hosts as u64 + 3;
    let bits = 64 - (needed - 1).leading_zeros();
    (32 - bits.max(4)) as u8
}

/// Each link's name and alias in the namespace of `handle`, by index.
async fn links(handle: &Handle) -> Result<HashMap<u32, (String, String)>, TestbedError> {
    let messages: Vec<LinkMessage> = handle.link().get().execute().try_collect().await.map_err(TestbedError::netlink("listing links"))?;
    Ok(messages
        .into_iter()
        .map(|m| {
            let (mut name, mut alias) = (String::new(), String::new());
            for attribute in m.attributes {
                match attribute {
                    LinkAttribute::IfName(n) => name = n,
                    LinkAttribute::IfAlias(a) => alias = a,
                    _ => {}
                }
            }
            (m.header.index, (name, alias))
        })
        .collect())
}

/// Chooses a free block of `range` for `hosts` hosts. A route of the root namespace that overlaps
/// `range` refuses the range, unless it is another testbed's (its link carries [`LINK_ALIAS`]);
/// default routes cover everything and are left out.
pub async fn plan(root: &Handle, range: Cidr, hosts: usize) -> Result<Plan, TestbedError> {
    let links = links(root).await?;
    let routes: Vec<_> = root
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute()
        .try_collect()
        .await
        .map_err(TestbedError::netlink("listing routes"))?;
    let mut taken = Vec::new();
    for route in routes {
        let prefix = route.header.destination_prefix_length;
        if prefix == 0 {
            continue;
        }
        let (mut destination, mut device) = (None, None);
        for attribute in &route.attributes {
            match attribute {
                RouteAttribute::Destination(RouteAddress::Inet(address)) => destination = Some(*address),
                RouteAttribute::Oif(index) => device = links.get(index),
                _ => {}
            }
        }
        let Some(destination) = destination else { continue };
        let cidr = Cidr { network: destination, prefix };
        if !cidr.overlaps(range) {
            continue;
        }
        match device {
            Some((_, alias)) if alias == LINK_ALIAS => taken.push(cidr),
            _ => {
                let device = device.map_or_else(|| "?".to_owned(), |(name, _)| name.clone());
                return Err(TestbedError::Overlap { underlay: range.to_string(), route: cidr.to_string(), device });
            }
        }
    }
    let prefix = block_prefix(hosts);
    let size = 1u32 << (32 - u32::from(prefix));
    if prefix < range.prefix {
        return Err(TestbedError::Spec {
            field: "hosts",
            value: hosts.to_string(),
            reason: format!("do not fit the underlay {range} (a /{prefix} is needed)"),
        });
    }
    let block = (range.first()..=range.last())
        .step_by(size as usize)
        .map(|first| Cidr { network: Ipv4Addr::from(first), prefix })
        .find(|block| !taken.iter().any(|t| t.overlaps(*block)))
        .ok_or(TestbedError::Exhausted { underlay: range.to_string(), size })?;
    let first = block.first();
    Ok(Plan { block, server: Ipv4Addr::from(first + 1), hosts: (0..hosts as u32).map(|i| Ipv4Addr::from(first + 2 + i)).collect() })
}

async fn index_of(handle: &Handle, name: &str) -> Result<u32, TestbedError> {
    let link = handle.link().get().match_name(name.to_owned()).execute().try_next().await;
    match link {
        Ok(Some(link)) => Ok(link.header.index),
        Ok(None) => Err(TestbedError::MissingLink(name.to_owned())),
        Err(e) => Err(TestbedError::netlink(format!("finding link {name}"))(e)),
    }
}

async fn set(handle: &Handle, message: LinkMessage, what: String) -> Result<(), TestbedError> {
    handle.link().set(message).execute().await.map_err(TestbedError::netlink(what))
}

/// Moves link `name` of `from` into the namespace at `to`.
async fn move_link(from: &Handle, name: &str, to: &Path) -> Result<(), TestbedError> {
    let index = index_of(from, name).await?;
    let target = std::fs::File::open(to).map_err(TestbedError::io(format!("opening {}", to.display())))?;
    set(from, LinkUnspec::new_with_index(index).setns_by_fd(target.as_raw_fd()).build(), format!("moving {name}")).await
}

/// Brings `lo` up in the namespace of `handle`.
async fn loopback_up(handle: &Handle) -> Result<(), TestbedError> {
    let index = index_of(handle, "lo").await?;
    set(handle, LinkUnspec::new_with_index(index).up().build(), "bringing lo up".into()).await
}

/// Gives link `name` of `handle` address `address/prefix` and brings it up; answers its index.
async fn address_up(handle: &Handle, name: &str, address: Ipv4Addr, prefix: u8) -> Result<u32, TestbedError> {
    let index = index_of(handle, name).await?;
    handle
        .address()
        .add(index, address.into(), prefix)
        .execute()
        .await
        .map_err(TestbedError::netlink(format!("adding {address}/{prefix} to {name}")))?;
    set(handle, LinkUnspec::new_with_index(index).up().build(), format!("bringing {name} up")).await?;
    Ok(index)
}

/// The bridge in `bridge_ns`, linked to the root namespace (`root`) and to each host's namespace,
/// with the addresses of `plan`. The root link is made (and carries its alias) before anything else,
/// so a concurrent [`plan`] sees the block as taken as soon as its route exists.
pub async fn build(root: &Handle, run: &RunName, plan: &Plan, bridge_ns: &Path, host_ns: &[impl AsRef<Path>]) -> Result<(), TestbedError> {
    let root_link = run.root_link();
    root.link()
        .add(LinkVeth::new(&root_link, ROOT_PEER).build())
        .execute()
        .await
        .map_err(TestbedError::netlink(format!("creating veth {root_link}")))?;
    let index = index_of(root, &root_link).await?;
    set(root, LinkUnspec::new_with_index(index).alias(LINK_ALIAS).build(), format!("naming {root_link}'s alias")).await?;
    address_up(root, &root_link, plan.server, plan.block.prefix).await?;
    move_link(root, ROOT_PEER, bridge_ns).await?;

    let bridge = super::netns::netlink(Some(bridge_ns)).await?;
    loopback_up(&bridge).await?;
    bridge.link().add(LinkBridge::new(BRIDGE).build()).execute().await.map_err(TestbedError::netlink("creating the bridge"))?;
    let bridge_index = index_of(&bridge, BRIDGE).await?;
    let mut ports = vec![ROOT_PEER.to_owned()];
    for (i, (ns, address)) in host_ns.iter().zip(&plan.hosts).enumerate() {
        let (port, peer) = (format!("h{i}"), format!("u{i}"));
        bridge
            .link()
            .add(LinkVeth::new(&port, &peer).build())
            .execute()
            .await
            .map_err(TestbedError::netlink(format!("creating veth {port}")))?;
        move_link(&bridge, &peer, ns.as_ref()).await?;
        let host = super::netns::netlink(Some(ns.as_ref())).await?;
        loopback_up(&host).await?;
        let index = index_of(&host, &peer).await?;
        set(&host, LinkUnspec::new_with_index(index).name(HOST_LINK.to_owned()).build(), format!("renaming {peer}")).await?;
        address_up(&host, HOST_LINK, *address, plan.block.prefix).await?;
        ports.push(port);
    }
    for port in ports {
        let index = index_of(&bridge, &port).await?;
        set(&bridge, LinkUnspec::new_with_index(index).controller(bridge_index).up().build(), format!("attaching {port}")).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::block_prefix;

    #[test]
    fn blocks_fit_the_hosts_with_room_for_network_broadcast_and_root() {
        assert_eq!(block_prefix(1), 28);
        assert_eq!(block_prefix(13), 28);
        assert_eq!(block_prefix(14), 27);
        assert_eq!(block_prefix(29), 27);
        assert_eq!(block_prefix(30), 26);
    }
}
