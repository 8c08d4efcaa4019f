//! Benchmark: the overlay against the bare link. A testbed of two hosts (network namespaces, each
//! with its own Docker Engine and a real `flotilla agent --tunnel-address`), one real region server,
//! one Flotilla network; `flotilla workload sink|blast|ping` as the traffic generator. Measures TCP
//! throughput and request/response round trips (64 bytes, one connection) on three paths: two
//! containers on one host (the network's bridge), the two hosts' underlay addresses, and two
//! containers on the two hosts (VXLAN over that underlay). The generator's both ends are the same
//! binary on every path, entered into the network namespace of a host or of a container's main
//! process (`nsenter --net`), so that paths differ only by the network: run through `container
//! exec` they would also carry the containers' cgroup scheduling, which on a busy 2-core machine
//! puts milliseconds into the p99. Each path is measured `ROUNDS` times, interleaved, and the median
//! printed, with the overlay's ratio to the underlay beside the goal (≥ 90 % of the throughput,
//! ≤ +100 µs). Needs root and Docker's binaries (scripts/test.sh installs them). Run it with
//! `cargo build --release -p flotilla && cargo bench -p flotilla --bench overlay`; the figures
//! measured are in ARCHITECTURE.md (Overlay).

mod roles;

use anyhow::{Context, Result, bail};
use flotilla_testkit::testbed::{AgentArgs, AgentProcess, HOST_LINK, Host, Testbed, TestbedSpec};
use roles::{Role, Sandbox, flotilla_binary};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const PASSWORD: &str = "bench-pass-1234";
/// How long each throughput run sends.
const BLAST_SECONDS: &str = "5";
/// Round trips per latency run.
const PINGS: &str = "20000";
/// Runs of each path; the median is printed.
const ROUNDS: usize = 3;
/// The sink's port, in the container and on the host.
const SINK_PORT: u16 = 5201;

fn main() -> ExitCode {
    roles::block_on(run())
}

/// One run of one path: throughput and round-trip percentiles.
#[derive(Debug, Clone, Copy)]
struct Figures {
    gbit_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    /// Bytes per packet the sending host's underlay link sent during the blast: ~64 KB when
    /// segmentation offload (GSO/TSO) survives the path, ~1.5 KB when something segments.
    underlay_packet: Option<f64>,
}

/// Bytes and packets sent so far by `host`'s underlay link.
async fn sent(host: &Host) -> Result<(u64, u64)> {
    let out = host.exec(&["ip", "-s", "-j", "link", "show", HOST_LINK]).await?;
    let links: Value = serde_json::from_slice(&out.stdout).with_context(|| format!("ip -j link show {HOST_LINK}"))?;
    let tx = &links[0]["stats64"]["tx"];
    let count = |key: &str| tx[key].as_u64().with_context(|| format!("no tx {key} of {HOST_LINK}: {links}"));
    Ok((count("bytes")?, count("packets")?))
}

/// `flotilla workload ARGS...` in the network namespace at `netns` (a host's, or a container's
/// `/proc/PID/ns/net`): the same process wherever it runs, so that paths differ only by the network.
fn workload(netns: &Path, bin: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("nsenter");
    command.arg(format!("--net={}", netns.display())).arg(bin).arg("workload").args(args);
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    command
}

/// Runs [`workload`] to its end; its JSON line.
async fn measured(netns: &Path, bin: &Path, args: &[&str]) -> Result<Value> {
    let out = workload(netns, bin, args).output().await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("workload {args:?} in {}: {}", netns.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).with_context(|| format!("no JSON from workload {args:?}: {stdout}"))?;
    Ok(serde_json::from_str(line)?)
}

/// A blast and a ping run from `netns` against the sink at `sink`, watching `sender`'s underlay link.
async fn measure(netns: &Path, bin: &Path, sink: &str, sender: Option<&Host>) -> Result<Figures> {
    let before = match sender {
        Some(host) => Some(sent(host).await?),
        None => None,
    };
    let blast = measured(netns, bin, &["blast", sink, "--seconds", BLAST_SECONDS]).await?;
    let underlay_packet = match (sender, before) {
        (Some(host), Some((bytes, packets))) => {
            let (bytes_now, packets_now) = sent(host).await?;
            Some((bytes_now - bytes) as f64 / (packets_now - packets).max(1) as f64)
        }
        _ => None,
    };
    let ping = measured(netns, bin, &["ping", sink, "--count", PINGS]).await?;
    let number = |v: &Value, key: &str| v[key].as_f64().with_context(|| format!("no {key} in {v}"));
    Ok(Figures {
        gbit_per_s: number(&blast, "gbit_per_s")?,
        p50_us: number(&ping, "p50_us")?,
        p99_us: number(&ping, "p99_us")?,
        underlay_packet,
    })
}

fn median(runs: &[Figures], field: fn(&Figures) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(field).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn medians(runs: &[Figures]) -> Figures {
    Figures {
        gbit_per_s: median(runs, |f| f.gbit_per_s),
        p50_us: median(runs, |f| f.p50_us),
        p99_us: median(runs, |f| f.p99_us),
        underlay_packet: runs[0].underlay_packet.map(|_| median(runs, |f| f.underlay_packet.unwrap_or_default())),
    }
}

/// The region server on the testbed's underlay address, the CLI logged in, the image uploaded,
/// one agent per host; answers the server and the agents (stopped when dropped).
async fn region(sandbox: &Sandbox, bed: &Testbed, bin: &Path, archive: &Path) -> Result<(Role, Vec<AgentProcess>)> {
    let data = sandbox.path("data");
    let listen = format!("{}:0", bed.server_ip());
    let args = ["server", "--listen", &listen, "--data-dir", data.to_str().context("a UTF-8 path")?, "--bootstrap-password", PASSWORD];
    let (server, ready) = sandbox.spawn("server", &args, "listening on ")?;
    let url = ready.split("listening on ").nth(1).map(|u| u.trim().to_owned()).context("no URL on the server's ready line")?;
    sandbox.cli(&["login", "--url", &url, "--user", "admin", "--project", "admin"], &[("FLOTILLA_PASSWORD", PASSWORD)])?;
    sandbox.cli(&["image", "upload", archive.to_str().context("a UTF-8 path")?], &[])?;
    let mut agents = Vec::new();
    for (i, host) in bed.hosts().iter().enumerate() {
        let joined: Value = serde_json::from_str(&sandbox.cli(&["host", "join-token", "-o", "json"], &[])?)?;
        let token = joined["token"].as_str().context("no join token")?.to_owned();
        let extra = ["--tunnel-address", &host.underlay_ip().to_string()].map(String::from).to_vec();
        let args = AgentArgs { binary: bin.to_owned(), server_url: url.clone(), join_token: token, extra_args: extra };
        let mut agent = bed.spawn_agent(i, args)?;
        agent.wait_for("joined", Duration::from_secs(60)).await.with_context(|| agent.log())?;
        agents.push(agent);
    }
    Ok((server, agents))
}

/// `container run NAME` on `host` on the bench network; its address and the path of its network
/// namespace (its main process's, from the host's engine).
async fn run_container(sandbox: &Sandbox, tag: &str, name: &str, host: &Host) -> Result<(String, PathBuf)> {
    let args =
        ["container", "run", "--name", name, "--image", tag, "--network", "bench", "--host-node", host.name(), "--wait", "-o", "json"];
    let container: Value = serde_json::from_str(&sandbox.cli(&args, &[])?)?;
    if container["status"] != "RUNNING" || container["host"] != host.name() {
        bail!("{name} is not running on {}: {container}", host.name());
    }
    let address = container["addresses"][0]["ip_address"].as_str().with_context(|| format!("{name} has no address: {container}"))?;
    let runtime_id = container["runtime_id"].as_str().with_context(|| format!("{name} has no runtime id: {container}"))?;
    let inspected = host.docker().inspect_container(runtime_id, None).await?;
    let pid = inspected.state.and_then(|s| s.pid).filter(|pid| *pid > 0).with_context(|| format!("{name} has no process"))?;
    Ok((address.to_owned(), PathBuf::from(format!("/proc/{pid}/ns/net"))))
}

async fn run() -> Result<()> {
    let bin = flotilla_binary()?;
    let sandbox = Sandbox::new(bin.clone())?;
    let bed = Testbed::start(TestbedSpec { hosts: 2, prefix: "obn", underlay: "198.51.100.0/24" }).await?;
    let outcome = measure_all(&sandbox, &bed, &bin).await;
    let stopped = bed.stop().await;
    let table = outcome?;
    stopped?;
    println!("{table}");
    Ok(())
}

/// Sets the paths up, measures them, and answers the printed table.
async fn measure_all(sandbox: &Sandbox, bed: &Testbed, bin: &Path) -> Result<String> {
    let tag = format!("flotilla-testbed/workload:{}", bed.run_name());
    let archive = sandbox.path("workload.tar");
    sandbox.cli(&["workload", "image", archive.to_str().context("a UTF-8 path")?, "--tag", &tag], &[])?;
    bed.load_image(&archive).await?;
    let (_server, _agents) = region(sandbox, bed, bin, &archive).await?;
    let [h0, h1] = [bed.host(0), bed.host(1)];
    sandbox.cli(&["network", "create", "bench", "--subnet", "10.92.0.0/24"], &[])?;
    let (sink_ip, sink_ns) = run_container(sandbox, &tag, "sink", h1).await?;
    let (_, near) = run_container(sandbox, &tag, "near", h1).await?;
    let (_, far) = run_container(sandbox, &tag, "far", h0).await?;
    let port = SINK_PORT.to_string();
    let container_sink = format!("{sink_ip}:{SINK_PORT}");
    let underlay_sink = format!("{}:{SINK_PORT}", h1.underlay_ip());
    let mut sinks = Vec::new();
    for (netns, listen) in [(sink_ns.as_path(), sink_ip.clone()), (h1.netns_path(), h1.underlay_ip().to_string())] {
        let mut command = workload(netns, bin, &["sink", "--listen", &listen, "--port", &port]);
        sinks.push(command.stdout(std::process::Stdio::null()).spawn()?);
    }
    let paths = [
        ("same host (containers, bridge)", near.as_path(), container_sink.as_str(), None),
        ("underlay (host to host)", h0.netns_path(), underlay_sink.as_str(), Some(h0)),
        ("overlay across hosts (containers, VXLAN)", far.as_path(), container_sink.as_str(), Some(h0)),
    ];
    // Every path reachable first (the far host's entries come with its next long poll).
    for (name, netns, sink, _) in paths {
        let mut tries = 0;
        while let Err(e) = measured(netns, bin, &["ping", sink, "--count", "10"]).await {
            tries += 1;
            if tries > 60 {
                bail!("{name}: {sink} unreachable: {e:#}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut runs: Vec<Vec<Figures>> = vec![Vec::new(); paths.len()];
    for _ in 0..ROUNDS {
        for ((_, netns, sink, sender), runs) in paths.iter().zip(&mut runs) {
            runs.push(measure(netns, bin, sink, *sender).await?);
        }
    }
    for mut sink in sinks {
        let _ = sink.kill().await;
    }
    for name in ["sink", "near", "far"] {
        sandbox.cli(&["container", "delete", name, "--stop", "--wait"], &[])?;
    }
    sandbox.cli(&["network", "delete", "bench"], &[])?;

    let figures: Vec<Figures> = runs.iter().map(|r| medians(r)).collect();
    let mut table = format!(
        "overlay benchmark: 2 testbed hosts, median of {ROUNDS} runs ({BLAST_SECONDS} s TCP blast, {PINGS} × 64-byte round trips on one connection)\n"
    );
    table += &format!("  {:<42} {:>8} {:>12} {:>12} {:>16}\n", "path", "Gbit/s", "RTT p50 µs", "RTT p99 µs", "underlay B/pkt");
    for ((name, ..), f) in paths.iter().zip(&figures) {
        let packet = f.underlay_packet.map_or("-".to_owned(), |b| format!("{b:.0}"));
        table += &format!("  {name:<42} {:>8.2} {:>12.1} {:>12.1} {packet:>16}\n", f.gbit_per_s, f.p50_us, f.p99_us);
    }
    let (underlay, overlay) = (figures[1], figures[2]);
    let ratio = overlay.gbit_per_s / underlay.gbit_per_s * 100.0;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    table += &format!(
        "  overlay/underlay: throughput {ratio:.0} % (goal ≥ 90 %: {}), RTT p50 {:+.1} µs, p99 {:+.1} µs (goal ≤ +100 µs: {})",
        verdict(ratio >= 90.0),
        overlay.p50_us - underlay.p50_us,
        overlay.p99_us - underlay.p99_us,
        verdict(overlay.p99_us - underlay.p99_us <= 100.0),
    );
    Ok(table)
}
