//! The autoscaling policy end to end with simulated agents: members that burn CPU make the
//! cluster grow to the policy's max; idle members make it shrink back to its min after the
//! stabilisation window; every resize is an action caused by the policy.

use flotilla_api::{ActionFilter, ClusterActionRequest, ClusterCreate, ListQuery, NodeFilter, PolicyCreate, PolicyParams, ProfileCreate};
use flotilla_client::{Client, Waited};
use flotilla_core::policy::PolicySpec;
use flotilla_core::profile::{CONTAINER_DOCKER, ContainerProperties, ProfileSpec};
use flotilla_testkit::{Backend, SimHost, TestRegion, wait_until};
use std::time::Duration;

async fn active_members(client: &Client) -> Vec<uuid::Uuid> {
    let filter = NodeFilter { cluster: Some("web".into()), status: Some("ACTIVE".into()) };
    client.all_nodes(&filter).await.expect("nodes").into_iter().filter_map(|n| n.physical_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscaling_follows_the_members_cpu() {
    let region = TestRegion::start_with(Backend::Sqlite, |c| c.engine.autoscale_tick = Duration::from_millis(300)).await.expect("sqlite");
    let (_agent, runtime) = region.sim_agent_with_runtime(SimHost::new("h1").cpus(16.0)).await;
    let admin = &region.admin;
    let properties = ContainerProperties { image: "flotilla/workload:latest".into(), cpu: Some(0.5), ..Default::default() };
    let spec = ProfileSpec { type_name: CONTAINER_DOCKER.into(), version: "1.0".into(), properties };
    admin.create_profile(&ProfileCreate { name: "web".into(), spec, metadata: Default::default() }).await.expect("profile");
    let body = ClusterCreate {
        name: "web".into(),
        profile: "web".into(),
        desired_capacity: 1,
        min_size: 1,
        max_size: 10,
        timeout: Some(60),
        config: Default::default(),
        metadata: Default::default(),
    };
    let created = admin.create_cluster(&body).await.expect("cluster");
    let waited = admin.wait_action(&created.action.expect("action"), Duration::from_millis(100), Duration::from_secs(30), |_| {}).await;
    assert!(matches!(waited, Ok(Waited::Ended(ref a)) if a.status == "SUCCEEDED"), "{waited:?}");
    let yaml = "type: autoscaling\nversion: '1.0'\nproperties:\n  target_cpu_percent: 50\n  min_size: 1\n  max_size: 4\n  scale_out_cooldown: 0\n  scale_in_cooldown: 0\n  stabilization_window: 2\n";
    let spec: PolicySpec = serde_saphyr::from_str(yaml).expect("policy");
    admin.create_policy(&PolicyCreate { name: "cpu".into(), spec, metadata: Default::default() }).await.expect("policy");
    let attach =
        admin.cluster_action("web", &ClusterActionRequest::PolicyAttach(PolicyParams { policy: "cpu".into(), enabled: None })).await;
    admin
        .wait_action(&attach.expect("attach").action.to_string(), Duration::from_millis(100), Duration::from_secs(30), |_| {})
        .await
        .expect("attached");

    // Busy members: the cluster grows to the policy's max_size, 4.
    wait_until("busy members grow the cluster to 4", || async {
        let members = active_members(admin).await;
        members.iter().for_each(|&id| runtime.set_cpu_percent(id, 100.0));
        members.len() == 4
    })
    .await;
    // Idle members: after the stabilisation window it shrinks back to min_size, 1.
    wait_until("idle members shrink the cluster to 1", || async {
        let members = active_members(admin).await;
        members.iter().for_each(|&id| runtime.set_cpu_percent(id, 1.0));
        members.len() == 1 && admin.cluster("web").await.is_ok_and(|c| c.desired_capacity == 1 && c.status == "ACTIVE")
    })
    .await;
    let resizes = admin
        .list_actions(&ListQuery::default(), &ActionFilter { action: Some("CLUSTER_RESIZE".into()), ..Default::default() })
        .await
        .expect("actions");
    assert!(resizes.actions.len() >= 2, "at least one resize out and one in");
    assert!(
        resizes.actions.iter().all(|a| a.cause == "Autoscaling Policy"),
        "{:?}",
        resizes.actions.iter().map(|a| &a.cause).collect::<Vec<_>>()
    );
    region.stop().await;
}
