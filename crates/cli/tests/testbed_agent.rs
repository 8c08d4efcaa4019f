//! A real agent on a testbed host: `flotilla agent` runs inside host 0's namespace, joins a real
//! `flotilla server` listening on the root namespace's underlay address, and the container the
//! region places on it runs on host 0's own Docker Engine, not on the machine's; the server's calls
//! (exec) reach the agent at its underlay address. Needs root and Docker's binaries (scripts/test.sh).

mod support;

use flotilla_testkit::testbed::{AGENT_PORT, AgentArgs, Testbed, TestbedSpec};
use std::collections::HashMap;
use std::time::Duration;
use support::{ADMIN_PASSWORD, BIN, Sandbox, log_in_as_admin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_in_a_host_namespace_runs_its_containers_on_that_hosts_engine() {
    let bed = Testbed::start(TestbedSpec { hosts: 1, prefix: "tba", underlay: "198.51.100.0/24" }).await.expect("the testbed starts");
    let host = bed.host(0);
    let sandbox = Sandbox::new();

    // The workload image, built offline, loaded into the host's engine and uploaded to the region.
    let tag = format!("flotilla-testbed/workload:{}", bed.run_name());
    let archive = sandbox.path("workload.tar");
    sandbox.run(&["workload", "image", archive.to_str().unwrap(), "--tag", &tag], &[]).ok();
    assert_eq!(bed.load_image(&archive).await.expect("the image loads"), vec![tag.clone()]);
    host.docker().inspect_image(&tag).await.expect("the host's engine has the image");

    let data = sandbox.path("data");
    let listen = format!("{}:0", bed.server_ip());
    let args = ["server", "--listen", &listen, "--data-dir", data.to_str().unwrap(), "--bootstrap-password", ADMIN_PASSWORD];
    let server = sandbox.spawn("server", &args, &[], "listening on ");
    assert!(server.url.contains(&bed.server_ip().to_string()), "{}", server.url);
    log_in_as_admin(&sandbox, &server);
    sandbox.run(&["image", "upload", archive.to_str().unwrap()], &[]).ok();
    let token = sandbox.run(&["host", "join-token", "-o", "json"], &[]).json()["token"].as_str().expect("a join token").to_owned();

    let agent_args =
        AgentArgs { binary: BIN.into(), server_url: server.url.clone(), join_token: token, extra_args: vec!["--cpus".into(), "2".into()] };
    let mut agent = bed.spawn_agent(0, agent_args).expect("the agent starts");
    let joined = agent.wait_for("joined", Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}; {}", agent.log()));
    let callback = format!("{}:{AGENT_PORT}", host.underlay_ip());
    assert!(joined.contains(&callback), "the agent serves calls on its underlay address: {joined}");
    let shown = sandbox.run(&["host", "show", host.name(), "-o", "json"], &[]).json();
    assert_eq!(shown["state"], "UP", "{shown}");

    let run = ["container", "run", "--name", "web", "--image", &tag, "--wait", "-o", "json"];
    let web = sandbox.run(&run, &[]).json();
    assert_eq!(web["status"], "RUNNING", "{web}");
    assert_eq!(web["host"], host.name(), "{web}");
    let runtime_id = web["runtime_id"].as_str().unwrap().to_owned();
    let inspected = host.docker().inspect_container(&runtime_id, None).await.expect("the container is on the host's engine");
    assert_eq!(inspected.state.and_then(|s| s.running), Some(true));
    let label = format!("flotilla.container={}", web["id"].as_str().unwrap());
    let main = std::process::Command::new("docker").args(["ps", "-aq", "--filter", &format!("label={label}")]).output().unwrap();
    assert!(main.status.success());
    assert_eq!(String::from_utf8_lossy(&main.stdout).trim(), "", "nothing on the machine's main engine");
    let filters = HashMap::from([("label".to_owned(), vec![label])]);
    let options = bollard::query_parameters::ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    assert_eq!(host.docker().list_containers(Some(options)).await.unwrap().len(), 1);

    // The server reaches the agent's callback over the underlay.
    let exec = sandbox.run(&["container", "exec", "web", "--", "/flotilla", "--version"], &[]);
    assert_eq!(exec.code, Some(0), "{exec:?}");
    assert!(exec.stdout.contains("flotilla"), "{exec:?}");

    sandbox.run(&["container", "delete", "web", "--stop", "--wait"], &[]).ok();
    assert!(host.docker().inspect_container(&runtime_id, None).await.is_err(), "deleted from the host's engine");
    let status = agent.stop().await.expect("the agent stops");
    assert!(status.success(), "graceful stop: {status:?}");
    server.stop();
    bed.stop().await.expect("the testbed stops cleanly");
}

#[test]
fn an_agent_refuses_a_docker_host_that_is_not_a_unix_socket() {
    let sandbox = Sandbox::new();
    let args = ["agent", "--server", "http://127.0.0.1:9", "--join-token", "t", "--listen", "127.0.0.1:0"];
    for (flag, env) in [(Some("tcp://127.0.0.1:2375"), None), (None, Some("tcp://127.0.0.1:2375"))] {
        let mut all = args.to_vec();
        all.extend(flag.map(|f| ["--docker-host", f]).into_iter().flatten());
        let env: Vec<(&str, &str)> = env.map(|e| ("DOCKER_HOST", e)).into_iter().collect();
        let line = sandbox.run(&all, &env).fails_with(1);
        assert!(line.contains("--docker-host tcp://127.0.0.1:2375") && line.contains("unix:///PATH"), "{line}");
    }
}
