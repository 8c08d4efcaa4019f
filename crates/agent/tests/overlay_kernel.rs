//! The overlay against the real kernel, in a throwaway network namespace (this test's thread
//! unshares one; it goes with the thread): bridge, VXLAN device, forwarding and neighbour entries
//! made from the wanted state, kept across a restart, changed as containers move and go, and
//! gone after cleanup. Needs root (CAP_NET_ADMIN), as the agent does.

use flotilla_agent::overlay::{Overlay, OverlayNetwork, Remote, bridge_name, vxlan_name};
use futures::TryStreamExt;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::{InfoData, InfoVxlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage};
use rtnetlink::{Handle, LinkVeth};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use uuid::Uuid;

const LOCAL: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const HOST_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const HOST_C: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);

/// Runs `test` on a thread of its own in a new network namespace, on a runtime of that thread.
fn in_new_netns<F: std::future::Future<Output = ()>>(test: impl FnOnce() -> F + Send + 'static) {
    std::thread::spawn(move || {
        // `unshare` is deprecated for flags that change the thread's files or filesystem under
        // std's feet (CLONE_FILES, CLONE_FS); a network namespace is not one of them, and
        // `unshare_unsafe` would need `unsafe`, which the workspace forbids.
        #[allow(deprecated)]
        rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET).expect("unshare a network namespace (run as root)");
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(test());
    })
    .join()
    .expect("the test thread");
}

fn remote(ip: [u8; 4], tunnel: Ipv4Addr) -> Remote {
    let ip = Ipv4Addr::from(ip);
    let [a, b, c, d] = ip.octets();
    Remote { ip, mac: [0x02, 0x42, a, b, c, d], tunnel }
}

fn network(vni: u32, remotes: Vec<Remote>) -> OverlayNetwork {
    let id = Uuid::now_v7();
    OverlayNetwork {
        network_id: id,
        runtime_name: format!("flt-net-test-{vni}"),
        bridge: bridge_name(id),
        vxlan: vxlan_name(vni),
        vni,
        mtu: 1450,
        remotes,
    }
}

async fn link(handle: &Handle, name: &str) -> Option<LinkMessage> {
    handle.link().get().match_name(name.to_owned()).execute().try_next().await.ok().flatten()
}

fn attribute<T>(m: &LinkMessage, pick: impl Fn(&LinkAttribute) -> Option<T>) -> Option<T> {
    m.attributes.iter().find_map(pick)
}

fn vxlan_data(m: &LinkMessage) -> Vec<InfoVxlan> {
    attribute(m, |a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Data(InfoData::Vxlan(d)) => Some(d.clone()),
            _ => None,
        }),
        _ => None,
    })
    .unwrap_or_default()
}

/// Forwarding entries with a destination on device `index` (MAC → address), and neighbour
/// entries on it (IP → MAC), as `bridge fdb` and `ip neigh` would show them.
async fn entries(handle: &Handle, index: u32) -> (BTreeMap<[u8; 6], Ipv4Addr>, BTreeMap<Ipv4Addr, [u8; 6]>) {
    let mac = |m: &NeighbourMessage| {
        m.attributes.iter().find_map(|a| if let NeighbourAttribute::LinkLayerAddress(b) = a { b.as_slice().try_into().ok() } else { None })
    };
    let ip = |m: &NeighbourMessage| {
        m.attributes.iter().find_map(|a| match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => Some(*ip),
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => <[u8; 4]>::try_from(b.as_slice()).ok().map(Ipv4Addr::from),
            _ => None,
        })
    };
    let fdb: Vec<NeighbourMessage> =
        handle.neighbours().get().set_address_family(AddressFamily::Bridge).execute().try_collect().await.unwrap();
    let neigh: Vec<NeighbourMessage> =
        handle.neighbours().get().set_address_family(AddressFamily::Inet).execute().try_collect().await.unwrap();
    (
        fdb.iter()
            .filter(|m| m.header.ifindex == index && !m.header.flags.contains(NeighbourFlags::Controller))
            .filter_map(|m| Some((mac(m)?, ip(m)?)))
            .collect(),
        neigh.iter().filter(|m| m.header.ifindex == index).filter_map(|m| Some((ip(m)?, mac(m)?))).collect(),
    )
}

#[test]
fn bridges_tunnels_and_entries_follow_the_wanted_state_and_go_after_cleanup() {
    in_new_netns(|| async {
        let (connection, handle, _) = rtnetlink::new_connection().unwrap();
        tokio::spawn(connection);
        // The underlay: a link holding the tunnel address.
        handle.link().add(LinkVeth::new("underlay0", "underlay1").up().build()).execute().await.unwrap();
        let underlay = link(&handle, "underlay0").await.unwrap().header.index;
        handle.address().add(underlay, IpAddr::V4(LOCAL), 24).execute().await.unwrap();

        let (b1, b2, c1) = (remote([10, 213, 7, 11], HOST_B), remote([10, 213, 7, 12], HOST_B), remote([10, 213, 7, 21], HOST_C));
        let mut n = network(4321, vec![b1, b2, c1]);
        let overlay = Overlay::connect(LOCAL).unwrap();
        let failed = overlay.reconcile(std::slice::from_ref(&n), &[]).await;
        assert!(failed.is_empty(), "{failed:?}");

        let bridge = link(&handle, &n.bridge).await.expect("the bridge");
        assert!(bridge.header.flags.contains(LinkFlags::Up), "the bridge is up");
        assert_eq!(attribute(&bridge, |a| if let LinkAttribute::Mtu(m) = a { Some(*m) } else { None }), Some(1450));
        let vxlan = link(&handle, "fltx-4321").await.expect("the VXLAN device");
        assert!(vxlan.header.flags.contains(LinkFlags::Up), "the VXLAN device is up");
        assert_eq!(attribute(&vxlan, |a| if let LinkAttribute::Controller(c) = a { Some(*c) } else { None }), Some(bridge.header.index));
        assert_eq!(attribute(&vxlan, |a| if let LinkAttribute::Mtu(m) = a { Some(*m) } else { None }), Some(1450));
        let data = vxlan_data(&vxlan);
        for wanted in
            [InfoVxlan::Id(4321), InfoVxlan::Local(LOCAL), InfoVxlan::Port(4789), InfoVxlan::Learning(false), InfoVxlan::Proxy(true)]
        {
            assert!(data.contains(&wanted), "{wanted:?} in {data:?}");
        }
        let index = vxlan.header.index;
        let (fdb, neigh) = entries(&handle, index).await;
        assert_eq!(
            fdb,
            BTreeMap::from([(b1.mac, HOST_B), (b2.mac, HOST_B), (c1.mac, HOST_C)]),
            "one forwarding entry per remote, no flooding entry"
        );
        assert_eq!(neigh, BTreeMap::from([(b1.ip, b1.mac), (b2.ip, b2.mac), (c1.ip, c1.mac)]));

        // An agent restart: a new overlay finds everything right and recreates nothing.
        drop(overlay);
        let overlay = Overlay::connect(LOCAL).unwrap();
        assert!(overlay.reconcile(std::slice::from_ref(&n), &[]).await.is_empty());
        assert_eq!(link(&handle, "fltx-4321").await.unwrap().header.index, index, "the VXLAN device was kept");
        assert_eq!(link(&handle, &n.bridge).await.unwrap().header.index, bridge.header.index, "the bridge was kept");

        // b2 moves to host C (same address), c1 goes, a new one comes.
        let moved = Remote { tunnel: HOST_C, ..b2 };
        let new = remote([10, 213, 7, 30], HOST_B);
        n.remotes = vec![b1, moved, new];
        assert!(overlay.reconcile(std::slice::from_ref(&n), &[]).await.is_empty());
        let (fdb, neigh) = entries(&handle, index).await;
        assert_eq!(fdb, BTreeMap::from([(b1.mac, HOST_B), (moved.mac, HOST_C), (new.mac, HOST_B)]));
        assert_eq!(neigh, BTreeMap::from([(b1.ip, b1.mac), (moved.ip, moved.mac), (new.ip, new.mac)]));

        // While its runtime network is there, the bridge stays; its tunnel goes with the network.
        assert!(overlay.reconcile(&[], std::slice::from_ref(&n.bridge)).await.is_empty());
        assert!(link(&handle, &n.bridge).await.is_some(), "kept while named");
        assert!(link(&handle, "fltx-4321").await.is_none(), "the VXLAN device goes with its entries");

        // Cleanup: nothing of the overlay is left; other links are untouched.
        assert!(overlay.reconcile(&[], &[]).await.is_empty());
        assert!(link(&handle, &n.bridge).await.is_none(), "the bridge is gone");
        let (fdb, neigh) = entries(&handle, index).await;
        assert!(fdb.is_empty() && neigh.is_empty(), "no entry is left: {fdb:?} {neigh:?}");
        assert!(link(&handle, "underlay0").await.is_some(), "not ours: left alone");
    });
}
