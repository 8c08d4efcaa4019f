//! Routers through the real HTTP API on both backends: interfaces join a project's networks with
//! a subnet (each network at most one router), a router with interfaces and a joined network or
//! subnet are not deleted (409 naming them), another project's routers and networks are as unknown
//! ones, a shared network of another project is refused, and every change is in the event log.

use flotilla_api::{EventFilter, ListQuery, NetworkCreate, RouterCreate, SubnetCreate};
use flotilla_client::ClientError;
use flotilla_core::Role;
use flotilla_testkit::{Backend, TestRegion};

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String) {
    let error = result.expect_err("the call must fail");
    (error.status().expect("an HTTP answer"), error.to_string())
}

fn network(name: &str, cidr: Option<&str>, shared: bool) -> NetworkCreate {
    let subnet = cidr.map(|cidr| SubnetCreate { cidr: cidr.into(), ..SubnetCreate::default() });
    NetworkCreate { name: name.into(), shared, global: false, subnet, metadata: Default::default() }
}

fn router(name: &str) -> RouterCreate {
    RouterCreate { name: name.into(), global: false }
}

async fn routers_join_their_projects_networks(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let ann = region.add_user("ann", "alpha", Role::Member).await;
    let front = ann.create_network(&network("front", Some("192.168.61.0/24"), false)).await.unwrap();
    let back = ann.create_network(&network("back", Some("192.168.62.0/24"), false)).await.unwrap();
    ann.create_network(&network("bare", None, false)).await.unwrap();
    let edge = ann.create_router(&router("edge")).await.unwrap();
    assert!(edge.interfaces.is_empty());
    assert_eq!(status(ann.create_router(&router("edge")).await).0, 409, "names are unique per project");

    ann.add_router_interface("edge", "front").await.unwrap();
    let edge = ann.add_router_interface(&edge.id.to_string(), &back.id.to_string()).await.unwrap();
    let joined: Vec<(&str, &str, &str)> =
        edge.interfaces.iter().map(|i| (i.network.as_str(), i.cidr.as_str(), i.gateway.as_str())).collect();
    assert_eq!(joined, [("back", "192.168.62.0/24", "192.168.62.1"), ("front", "192.168.61.0/24", "192.168.61.1")]);
    assert_eq!(edge.interfaces[1].network_id, front.id);
    assert_eq!(ann.router("edge").await.unwrap().interfaces, edge.interfaces, "show answers what the add did");

    let (code, message) = status(ann.add_router_interface("edge", "front").await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("already joined to router edge"), "{message}");
    ann.create_router(&router("core")).await.unwrap();
    let (code, message) = status(ann.add_router_interface("core", "front").await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("joined to router edge: a network joins at most one router"), "{message}");
    let (code, message) = status(ann.add_router_interface("core", "bare").await);
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("network") && message.contains("bare") && message.contains("has no subnet"), "{message}");
    let (code, message) = status(ann.add_router_interface("core", "nowhere").await);
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("network") && message.contains("nowhere"), "{message}");
    assert!(ann.router("core").await.unwrap().interfaces.is_empty(), "refusals join nothing");

    // A shared network is usable by every project, but a router joins only its own project's.
    region.admin.create_network(&network("common", Some("192.168.63.0/24"), true)).await.unwrap();
    let (code, message) = status(ann.add_router_interface("core", "common").await);
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("common") && message.contains("another project"), "{message}");

    // What is joined stays until the interface goes.
    let (code, message) = status(ann.delete_router("edge").await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("router edge still joins network(s) back, front"), "{message}");
    let (code, message) = status(ann.delete_network("front").await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("joined to router edge"), "{message}");
    let (code, message) = status(ann.delete_subnet(&back.subnets[0].id.to_string()).await);
    assert_eq!(code, 409, "{message}");
    assert!(message.contains("joined to router edge"), "{message}");

    // Another project: A's router and network are as unknown ones, and B's router cannot take A's network.
    let bob = region.add_user("bob", "beta", Role::Member).await;
    let (code, message) = status(bob.router("edge").await);
    assert_eq!(code, 404, "{message}");
    assert!(message.contains("router \"edge\" not found"), "as an unknown name: {message}");
    assert_eq!(status(bob.router(&edge.id.to_string()).await).0, 404);
    assert!(bob.list_routers(&ListQuery::default()).await.unwrap().routers.is_empty());
    assert_eq!(status(bob.add_router_interface("edge", "front").await).0, 404);
    assert_eq!(status(bob.remove_router_interface("edge", "front").await).0, 404);
    assert_eq!(status(bob.delete_router("edge").await).0, 404);
    bob.create_router(&router("theirs")).await.unwrap();
    // Said as of an unknown network (the request id aside).
    let said = |message: String, key: &str| message.replace(key, "KEY").split(" (400").next().unwrap_or_default().to_owned();
    let (code, message) = status(bob.add_router_interface("theirs", &front.id.to_string()).await);
    let unknown_id = "01927c4e-0000-7000-8000-00000000ffff";
    let (_, unknown) = status(bob.add_router_interface("theirs", unknown_id).await);
    assert_eq!((code, said(message, &front.id.to_string())), (400, said(unknown, unknown_id)));
    let reader = region.add_user("ari", "alpha", Role::Reader).await;
    assert_eq!(status(reader.remove_router_interface("edge", "front").await).0, 403);
    assert_eq!(reader.router("edge").await.unwrap().interfaces.len(), 2, "readers read");
    let all = ListQuery { all_projects: Some(true), ..ListQuery::default() };
    let names: Vec<String> = region.admin.list_routers(&all).await.unwrap().routers.into_iter().map(|r| r.name).collect();
    assert_eq!(names.len(), 3, "an admin lists every project's routers: {names:?}");
    assert_eq!(status(ann.list_routers(&all).await).0, 403);

    // Removing the interfaces frees the network and then the router.
    let edge = ann.remove_router_interface("edge", "front").await.unwrap();
    assert_eq!(edge.interfaces.iter().map(|i| i.network.as_str()).collect::<Vec<_>>(), ["back"]);
    let (code, message) = status(ann.remove_router_interface("edge", "front").await);
    assert_eq!(code, 404, "{message}");
    ann.add_router_interface("core", "front").await.unwrap();
    ann.remove_router_interface("core", &front.id.to_string()).await.unwrap();
    ann.delete_network("front").await.unwrap();
    ann.remove_router_interface("edge", "back").await.unwrap();
    ann.delete_router("edge").await.unwrap();
    assert_eq!(status(ann.router("edge").await).0, 404);

    let filter = EventFilter { object_type: Some("router".into()), ..EventFilter::default() };
    let events = ann.list_events(&ListQuery { limit: Some(100), ..ListQuery::default() }, &filter).await.unwrap().events;
    let said: Vec<(String, String, Option<String>)> =
        events.iter().map(|e| (e.object_name.clone(), e.action.clone(), e.metadata.get("network").cloned())).collect();
    let want = |name: &str, action: &str, network: Option<&str>| (name.to_owned(), action.to_owned(), network.map(str::to_owned));
    for expected in [
        want("edge", "ROUTER_CREATE", None),
        want("edge", "ROUTER_ADD_INTERFACE", Some("front")),
        want("core", "ROUTER_REMOVE_INTERFACE", Some("front")),
        want("edge", "ROUTER_DELETE", None),
    ] {
        assert!(said.contains(&expected), "{expected:?} in {said:?}");
    }
    assert!(!said.iter().any(|(name, ..)| name == "theirs"), "another project's events stay there");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_on_sqlite() {
    routers_join_their_projects_networks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_on_postgres() {
    routers_join_their_projects_networks(Backend::Postgres).await;
}
