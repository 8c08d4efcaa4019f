//! A cluster across two regions on the real Docker Engine: a central and two regions as real
//! processes, each with a real agent on the local engine, the workload image built offline and
//! uploaded to both. A cluster of 4 at its home region with weights 1:1 runs 2 members in each
//! region, each a running Docker container. The other region's server and agent are killed
//! (SIGKILL; their Docker containers keep running): its members are recreated in the home region
//! as new Docker containers. Started again on its data, that region's agent removes the old ones
//! (the fence): 4 run in Docker, never more once settled.

mod support;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};
use support::regions::{central, cli_json, region, region_again, spread_cluster};
use support::{Running, Sandbox, log_in_as_admin};

const SETTLE: Duration = Duration::from_secs(120);

fn docker(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().expect("the docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

/// Running Docker containers of Flotilla container `id` (the same id in every region).
fn running(id: &str) -> usize {
    docker(&["ps", "-q", "--filter", &format!("label=flotilla.container={id}"), "--filter", "status=running"]).len()
}

/// Docker containers of the project, running or not.
fn of_project(project: &str) -> Vec<String> {
    docker(&["ps", "-aq", "--filter", &format!("label=flotilla.project={project}")])
}

/// Whatever happens, the project's Docker containers and the image go (agents stopped first).
struct Cleanup {
    project: String,
    tag: String,
    processes: Vec<Running>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.processes.clear();
        for id in of_project(&self.project) {
            let _ = Command::new("docker").args(["rm", "-f", &id]).output();
        }
        let _ = Command::new("docker").args(["image", "rm", "-f", &self.tag]).output();
    }
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The cluster's members from its home region: (region, status, container id).
fn members(sandbox: &Sandbox) -> Vec<(String, String, String)> {
    let nodes = cli_json(sandbox, &["--region", "d1", "cluster", "members", "web"]);
    nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (field("region"), field("status"), field("physical_id"))
        })
        .collect()
}

/// A real agent on the local Docker Engine joined to `region` as `name` (its credential kept in the sandbox).
fn docker_agent(sandbox: &Sandbox, region_name: &str, server: &Running, name: &str, token: Option<&str>) -> Running {
    let state = sandbox.path(&format!("{name}-state"));
    let mut args =
        vec!["agent", "--server", &server.url, "--name", name, "--listen", "127.0.0.1:0", "--state-dir", state.to_str().unwrap()];
    if let Some(token) = token {
        args.extend(["--join-token", token]);
    }
    sandbox.spawn(&format!("{name}-{region_name}"), &args, &[], "joined")
}

#[test]
fn a_cluster_across_two_regions_on_docker_survives_losing_one() {
    let sandbox = Sandbox::new();
    let central = central(&sandbox, "3", &[]);
    log_in_as_admin(&sandbox, &central);
    let project = cli_json(&sandbox, &["project", "show", "admin"])["id"].as_str().unwrap().to_owned();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let suffix = format!("{:x}{nanos:x}", std::process::id());
    let tag = format!("flotilla-e2e/workload:regions-{suffix}");
    let mut cleanup = Cleanup { project: project.clone(), tag: tag.clone(), processes: Vec::new() };
    let pools = [("d1", "10.221.0.0/16"), ("d2", "10.222.0.0/16")];
    let mut servers: BTreeMap<&str, Running> =
        pools.iter().map(|(name, pool)| (*name, region(&sandbox, &central.url, name, pool, None, &[]))).collect();

    let archive = sandbox.path("workload.tar");
    sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
    for (name, server) in &servers {
        sandbox.run(&["--region", name, "image", "upload", archive.to_str().unwrap()], &[]).ok();
        let token = cli_json(&sandbox, &["--region", name, "host", "join-token"])["token"].as_str().unwrap().to_owned();
        cleanup.processes.push(docker_agent(&sandbox, name, server, &format!("{name}-{suffix}"), Some(&token)));
    }

    let serve = "  command: [/flotilla, workload, serve, --port, '8080']\n";
    spread_cluster(&sandbox, "d1", &tag, serve, &[("d1", 100), ("d2", 100)], 4);

    // Two members in each region, each one running Docker container under its Flotilla id.
    let placed = members(&sandbox);
    let in_d2: Vec<String> = placed.iter().filter(|(r, _, _)| r == "d2").map(|(_, _, id)| id.clone()).collect();
    assert_eq!(in_d2.len(), 2, "{placed:?}");
    for (region, status, id) in &placed {
        assert_eq!(status, "ACTIVE", "{region}: {placed:?}");
        assert_eq!(running(id), 1, "member {id} of {region} runs in Docker");
    }

    // d2 is lost; its containers keep running in Docker, unmanaged.
    let d2_url = servers["d2"].url.clone();
    let mut d2_agent = cleanup.processes.remove(1);
    let mut d2 = servers.remove("d2").unwrap();
    for process in [&mut d2, &mut d2_agent] {
        process.child.kill().unwrap();
        process.child.wait().unwrap();
    }
    eventually("d2's members are recreated in d1", || {
        let now = members(&sandbox);
        now.len() == 4 && now.iter().all(|(region, status, id)| region == "d1" && status == "ACTIVE" && running(id) == 1)
    });
    assert!(in_d2.iter().all(|id| running(id) == 1), "the lost region's containers still run until it returns");

    // d2 returns on its data: its agent removes the old members; 4 run, never more.
    let d2 = region_again(&sandbox, &central.url, "d2", pools[1].1, &d2_url);
    cleanup.processes.push(docker_agent(&sandbox, "d2", &d2, &format!("d2-{suffix}"), None));
    eventually("d2's old members are gone from Docker", || {
        in_d2.iter().all(|id| docker(&["ps", "-aq", "--filter", &format!("label=flotilla.container={id}")]).is_empty())
    });
    let settled = members(&sandbox);
    assert!(settled.iter().all(|(region, status, id)| region == "d1" && status == "ACTIVE" && running(id) == 1), "{settled:?}");
    assert_eq!(of_project(&project).len(), 4, "4 containers of the project in Docker");

    sandbox.run(&["--region", "d1", "cluster", "delete", "web", "--wait"], &[]).ok();
    eventually("nothing of the project is left in Docker", || of_project(&project).is_empty());
    cleanup.processes.push(d2);
}
