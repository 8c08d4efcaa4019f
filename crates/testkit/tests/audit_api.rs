//! The audit trail through the real HTTP API: every identity, network, volume and quota change
//! leaves one event naming who made it (user id, name and project) and never a secret, listed by
//! object type; a refused change leaves none. On SQLite, and PostgreSQL when present.

use flotilla_api::{
    Event, EventFilter, ListQuery, NetworkCreate, PortCreate, ProjectCreate, ProjectUpdate, QuotaLimits, RoleAssignmentCreate,
    SubnetCreate, UserCreate, UserUpdate, VolumeCreate,
};
use flotilla_client::Client;
use flotilla_core::Role;
use flotilla_testkit::{Backend, TestRegion, login};

const FIRST_PASSWORD: &str = "first-audit-secret";
const SECOND_PASSWORD: &str = "second-audit-secret";

async fn events_of(admin: &Client, object_type: &str) -> Vec<Event> {
    let query = ListQuery { all_projects: Some(true), limit: Some(500), ..ListQuery::default() };
    let filter = EventFilter { object_type: Some(object_type.into()), ..EventFilter::default() };
    admin.list_events(&query, &filter).await.expect("list events").events
}

fn subnet(cidr: &str) -> SubnetCreate {
    SubnetCreate { name: None, cidr: cidr.into(), gateway: None, allocation_pools: Vec::new(), reserved: Vec::new() }
}

async fn every_change_is_audited(backend: Backend) {
    let Some(region) = TestRegion::start(backend).await else { return };
    let admin = &region.admin;
    let admin_id = admin.current_token().await.expect("admin's token").user.id;

    // Identity: a project, a user, a role; the user's password changes (and stays out of the log).
    let project = ProjectCreate { name: "ops".into(), description: String::new(), enabled: None, metadata: Default::default() };
    admin.create_project(&project).await.unwrap();
    admin.update_project("ops", &ProjectUpdate { description: Some("operations".into()), ..Default::default() }).await.unwrap();
    let user = UserCreate {
        name: "bob".into(),
        password: FIRST_PASSWORD.into(),
        email: None,
        enabled: None,
        default_project: Some("ops".into()),
        metadata: Default::default(),
    };
    admin.create_user(&user).await.unwrap();
    admin.update_user("bob", &UserUpdate { password: Some(SECOND_PASSWORD.into()), ..Default::default() }).await.unwrap();
    let role = RoleAssignmentCreate { user: "bob".into(), project: "ops".into(), role: Role::Member };
    let assignment = admin.assign_role(&role).await.unwrap();
    let bob = login(&region.url, "bob", SECOND_PASSWORD, Some("ops")).await.expect("bob logs in");
    let bob_id = bob.current_token().await.unwrap().user.id;

    // Networks, as bob: a network, its subnet, a port (a taken address refused); then all undone.
    let network = NetworkCreate { name: "back".into(), shared: false, global: false, subnet: None, metadata: Default::default() };
    bob.create_network(&network).await.unwrap();
    let second = bob.create_subnet("back", &subnet("10.77.1.0/24")).await.unwrap();
    assert_eq!(bob.create_subnet("back", &subnet("10.77.2.0/24")).await.expect_err("one subnet a network").status(), Some(409));
    let port = bob.create_port(&PortCreate { network: "back".into(), name: Some("vip".into()), ip_address: None }).await.unwrap();
    let taken = PortCreate { network: "back".into(), name: Some("bad".into()), ip_address: Some(port.ip_address.clone()) };
    assert_eq!(bob.create_port(&taken).await.expect_err("the address is taken").status(), Some(409));
    bob.delete_port(&port.id.to_string()).await.unwrap();
    bob.delete_subnet(&second.id.to_string()).await.unwrap();
    bob.delete_network("back").await.unwrap();

    // A volume, and the project's quota (admin).
    let volume: VolumeCreate = serde_json::from_value(serde_json::json!({"name": "data"})).unwrap();
    bob.create_volume(&volume).await.unwrap();
    bob.delete_volume("data").await.unwrap();
    let limits: QuotaLimits = serde_json::from_value(serde_json::json!({"containers": 5})).unwrap();
    admin.set_quota("ops", &limits).await.unwrap();

    // Bob logs out; the admin takes the role back and deletes the user and the project.
    bob.revoke_token().await.unwrap();
    admin.delete_role_assignment(&assignment.id.to_string()).await.unwrap();
    admin.delete_user("bob").await.unwrap();
    admin.delete_project("ops").await.unwrap();

    // Each change once, by whom, in order; the project's own events carry the project.
    let said = |events: &[Event]| -> Vec<(String, String, String, String)> {
        events
            .iter()
            .map(|e| {
                let by = e.metadata.get("by").cloned().unwrap_or_default();
                (e.object_name.clone(), e.action.clone(), e.status.clone(), by)
            })
            .collect()
    };
    let want = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String, String)> {
        rows.iter().map(|(name, action, by)| (name.to_string(), action.to_string(), "END".to_owned(), by.to_string())).collect()
    };
    let projects = events_of(admin, "project").await;
    let ops: Vec<&Event> = projects.iter().filter(|e| e.object_name == "ops").collect();
    assert_eq!(
        said(&ops.into_iter().cloned().collect::<Vec<_>>()),
        want(&[("ops", "PROJECT_CREATE", "admin"), ("ops", "PROJECT_UPDATE", "admin"), ("ops", "PROJECT_DELETE", "admin")])
    );
    assert_eq!(projects.iter().find(|e| e.action == "PROJECT_UPDATE").unwrap().metadata["changed"], "description");
    let users = events_of(admin, "user").await;
    let bobs: Vec<Event> = users.into_iter().filter(|e| e.object_name == "bob").collect();
    assert_eq!(said(&bobs), want(&[("bob", "USER_CREATE", "admin"), ("bob", "USER_UPDATE", "admin"), ("bob", "USER_DELETE", "admin")]));
    assert_eq!(bobs[1].metadata["changed"], "password");
    assert!(bobs.iter().all(|e| e.user_id == Some(admin_id) && e.project_id.is_none()), "{bobs:?}");
    let roles = events_of(admin, "role_assignment").await;
    let roles: Vec<Event> = roles.into_iter().filter(|e| e.object_name == "bob@ops").collect();
    assert_eq!(said(&roles), want(&[("bob@ops", "ROLE_ASSIGN", "admin"), ("bob@ops", "ROLE_UNASSIGN", "admin")]));
    assert_eq!((roles[0].metadata["role"].as_str(), roles[0].object_id), ("member", assignment.id));
    assert_eq!(said(&events_of(admin, "token").await), want(&[("bob", "TOKEN_REVOKE", "bob")]));
    assert_eq!(said(&events_of(admin, "network").await), want(&[("back", "NETWORK_CREATE", "bob"), ("back", "NETWORK_DELETE", "bob")]));
    let subnets = events_of(admin, "subnet").await;
    let cidrs: Vec<(&str, &str)> = subnets.iter().map(|e| (e.action.as_str(), e.metadata["cidr"].as_str())).collect();
    assert_eq!(cidrs, [("SUBNET_CREATE", "10.77.1.0/24"), ("SUBNET_DELETE", "10.77.1.0/24")], "the refused one left none");
    let ports = events_of(admin, "port").await;
    assert_eq!(said(&ports), want(&[("vip", "PORT_CREATE", "bob"), ("vip", "PORT_DELETE", "bob")]), "the refused port left none");
    assert_eq!((ports[0].metadata["network"].as_str(), ports[0].metadata["ip"].as_str()), ("back", port.ip_address.as_str()));
    assert_eq!(said(&events_of(admin, "volume").await), want(&[("data", "VOLUME_CREATE", "bob"), ("data", "VOLUME_DELETE", "bob")]));
    let quotas = events_of(admin, "quota").await;
    assert_eq!(said(&quotas), want(&[("ops", "QUOTA_UPDATE", "admin")]));
    assert_eq!((quotas[0].metadata["containers"].as_str(), quotas[0].metadata["cpu_millis"].as_str()), ("5", "unlimited"));

    // Who: bob's changes carry his id and project; nothing secret anywhere in the log.
    let networks = events_of(admin, "network").await;
    assert!(networks.iter().all(|e| e.user_id == Some(bob_id) && e.metadata["by_project"] == "ops" && e.project_id.is_some()));
    let all = ListQuery { all_projects: Some(true), limit: Some(500), ..ListQuery::default() };
    let text = serde_json::to_string(&admin.list_events(&all, &EventFilter::default()).await.unwrap().events).unwrap();
    for secret in [FIRST_PASSWORD, SECOND_PASSWORD, "$argon2"] {
        assert!(!text.contains(secret), "{secret} in the event log");
    }
    // An unknown type is refused, naming the field and the types known.
    let filter = EventFilter { object_type: Some("galaxy".into()), ..EventFilter::default() };
    let refused = admin.list_events(&ListQuery::default(), &filter).await.expect_err("no such type");
    assert_eq!(refused.status(), Some(400));
    assert!(refused.to_string().contains("object_type") && refused.to_string().contains("role_assignment"), "{refused}");
    region.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_on_sqlite() {
    every_change_is_audited(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_on_postgres() {
    every_change_is_audited(Backend::Postgres).await;
}
