//! Benchmark: 20 real containers started through Flotilla versus with `docker run`, and the memory
//! the server and the agent use with them running. `docker run` is timed twice: as is (the default
//! bridge), and as Flotilla runs them, on a network of its own with an address each; a Docker
//! network costs the engine time of its own, and the second ratio shows what Flotilla adds to it.
//!
//! It runs a real `flotilla server` and one `flotilla agent` on the local Docker Engine, builds the
//! workload image offline (nothing is pulled), prints its figures and removes everything it made.
//! Run it with `cargo build --release -p flotilla && cargo bench -p flotilla --bench containers`.

mod roles;

use roles::docker::{LocalRegion, PASSWORD, docker_cli, docker_filtered, docker_ids, remove_all};
use roles::{timed, warn_on};

use anyhow::{Context, Result, bail};
use flotilla_api::{Container, ContainerCreate, ContainerFilter, DeleteQuery, ListQuery, TokenCreate};
use flotilla_client::Client;
use flotilla_core::profile::ContainerProperties;
use futures::future::try_join_all;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Containers started each way.
const COUNT: usize = 20;
/// Default networks come from here: Docker tests and benches share one engine, each keeps to its own addresses.
const NETWORK_POOL: &str = "10.231.0.0/16";
/// The first three octets of the second `docker run`'s network, a /24 (the bench's 20 addresses, from .10 on).
const DOCKER_SUBNET: &str = "10.232.0";
/// The longest wait for containers to run or to go away.
const TIMEOUT: Duration = Duration::from_secs(120);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let bench = Bench::start()?;
    let measured = bench.measure();
    bench.clean_up();
    measured
}

/// A region of one server and one agent on the local Docker Engine, with the workload image uploaded.
struct Bench {
    region: LocalRegion,
    api: Api,
}

impl Bench {
    /// Starts the region and logs in to its API.
    fn start() -> Result<Self> {
        let region = LocalRegion::start(&["--network-pool", NETWORK_POOL])?;
        let api = Api::login(&region.url)?;
        Ok(Self { region, api })
    }

    /// The Flotilla containers' names (the server is new: no other run's are there).
    fn flotilla_names() -> Vec<String> {
        (1..=COUNT).map(|i| format!("bench-{i}")).collect()
    }

    /// The `docker run` containers carry this label, to find them again.
    fn docker_label(&self) -> String {
        format!("flotilla.bench={}", self.region.suffix)
    }

    /// Times the two ways of starting the containers, then prints the figures and the memory use.
    fn measure(&self) -> Result<()> {
        let warm_up = ["warm-up".to_owned()];
        self.api.run(&warm_up, &self.region.tag).context("the warm-up container (it loads the image on the host)")?;
        self.api.delete(&warm_up)?;
        let flotilla = timed(|| self.api.run(&Self::flotilla_names(), &self.region.tag))?;
        let docker = timed(|| self.docker_run_all(&[]))?;
        remove_all(&["rm", "-f"], docker_ids(&[&self.docker_label()]))?;
        let network = self.docker_network();
        docker_cli(&["network", "create", "--subnet", &format!("{DOCKER_SUBNET}.0/24"), "--label", &self.docker_label(), &network])?;
        let on_network = timed(|| self.docker_run_all(&["--network", &network]))?;

        println!(
            "{COUNT} containers of {}, Docker Engine {}",
            self.region.tag,
            docker_cli(&["version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"])?
        );
        println!("{:<32}{:>9.3} s {:>7.1} containers/s", "flotilla (REST API, one agent)", flotilla.as_secs_f64(), rate(flotilla));
        println!("{:<32}{:>9.3} s {:>7.1} containers/s", format!("docker run ({COUNT} threads)"), docker.as_secs_f64(), rate(docker));
        println!("{:<32}{:>9.3} s {:>7.1} containers/s", "docker run --network --ip", on_network.as_secs_f64(), rate(on_network));
        println!("{:<32}{:>9.2} (goal ≤ 1.10)", "ratio flotilla/docker", flotilla.as_secs_f64() / docker.as_secs_f64());
        println!("{:<32}{:>9.2}", "ratio flotilla/docker --network", flotilla.as_secs_f64() / on_network.as_secs_f64());
        println!("{:<32}{:>9} {:>9}", "memory (MiB)", "peak", "current");
        for role in [&self.region.server, &self.region.agent] {
            let (peak, current) = role.memory_mib()?;
            println!("{:<32}{peak:>9.1} {current:>9.1}", role.name);
        }
        Ok(())
    }

    /// The second `docker run`'s network.
    fn docker_network(&self) -> String {
        format!("flotilla-bench-{}", self.region.suffix)
    }

    /// `docker run -d` of the image with `network` (`--network NAME`, each container then given an
    /// address of [`DOCKER_SUBNET`], or nothing), one thread per container; each returns once its
    /// container started.
    fn docker_run_all(&self, network: &[&str]) -> Result<()> {
        let (label, tag) = (&self.docker_label(), &self.region.tag);
        std::thread::scope(|scope| {
            let runs: Vec<_> = (1..=COUNT)
                .map(|i| {
                    let name = format!("flotilla-bench-{}-{i}", self.region.suffix);
                    let address = format!("{DOCKER_SUBNET}.{}", 9 + i);
                    scope.spawn(move || {
                        let mut args = vec!["run", "-d", "--name", &name, "--label", label];
                        if !network.is_empty() {
                            args.extend(network.iter().copied().chain(["--ip", &address]));
                        }
                        args.push(tag);
                        docker_cli(&args)
                    })
                })
                .collect();
            runs.into_iter().try_for_each(|run| run.join().expect("a docker run thread panicked").map(drop))
        })
    }

    /// Removes the containers, stops the roles and removes the image; what fails is printed as a warning.
    fn clean_up(mut self) {
        let mut names = Self::flotilla_names();
        names.push("warm-up".to_owned());
        warn_on("deleting the Flotilla containers", self.api.delete(&names));
        warn_on("removing the `docker run` containers", remove_all(&["rm", "-f"], docker_ids(&[&self.docker_label()])));
        let network = docker_filtered(&["network", "ls", "-q"], &[&self.docker_label()]);
        warn_on("removing the `docker run` network", remove_all(&["network", "rm"], network));
        self.region.stop();
    }
}

fn rate(took: Duration) -> f64 {
    COUNT as f64 / took.as_secs_f64()
}

/// The REST API as the admin, called from this synchronous program through its own runtime.
struct Api {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    fn login(url: &str) -> Result<Self> {
        let runtime = tokio::runtime::Runtime::new().context("cannot start a Tokio runtime")?;
        let login = TokenCreate { user: "admin".into(), password: PASSWORD.into(), project: Some("admin".into()), expires_in: None };
        let token = runtime.block_on(Client::new(url)?.create_token(&login)).context("cannot log in to the API")?;
        let client = Client::new(url)?.with_token(token.token.context("the server issued a token without its secret")?);
        Ok(Self { client, runtime })
    }

    /// Creates and runs the containers `names` all at once, and waits until they are all RUNNING.
    fn run(&self, names: &[String], image: &str) -> Result<()> {
        let spec = ContainerProperties { image: image.to_owned(), ..Default::default() };
        let bodies: Vec<_> = names
            .iter()
            .map(|name| ContainerCreate { name: name.clone(), spec: spec.clone(), run: true, metadata: Default::default() })
            .collect();
        self.runtime.block_on(async {
            try_join_all(bodies.iter().map(|body| self.client.create_container(body))).await?;
            self.wait_until(names, "RUNNING", |c| match c {
                Some(c) if c.status == "ERROR" => bail!("failed: {}", c.status_reason),
                Some(c) => Ok(c.status == "RUNNING"),
                None => bail!("vanished"),
            })
            .await
        })
    }

    /// Deletes the containers `names` (stopping them first), and waits until they are gone.
    fn delete(&self, names: &[String]) -> Result<()> {
        let stop = &DeleteQuery { stop: Some(true), force: None };
        self.runtime.block_on(async {
            try_join_all(names.iter().map(|name| async move {
                match self.client.delete_container(name, stop).await {
                    Err(e) if e.status() == Some(404) => Ok(()),
                    deleted => deleted.map(drop),
                }
            }))
            .await?;
            self.wait_until(names, "gone", |c| Ok(c.is_none_or(|c| c.status == "DELETED"))).await
        })
    }

    /// Lists the project's containers until `done` holds for each of `names` (`None`: not found).
    async fn wait_until(&self, names: &[String], what: &str, done: impl Fn(Option<&Container>) -> Result<bool>) -> Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        let everything = ListQuery { limit: Some(1000), ..Default::default() };
        loop {
            let list = self.client.list_containers(&everything, &ContainerFilter::default()).await?;
            let mut all = true;
            for name in names {
                all &= done(list.containers.iter().find(|c| &c.name == name)).with_context(|| format!("container {name}"))?;
            }
            if all {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("containers {names:?} not {what} within {TIMEOUT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
