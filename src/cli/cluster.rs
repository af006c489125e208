//! `factory coordinator`, `node`, `status` and `cluster`.

use actors::net::{self, Endpoint, EndpointConfig, Identity, PingHandler, Validity};
use anyhow::{Context, Result, bail};
use coordinator::{Coordinator, CoordinatorConfig, ids::RepoName};
use node::{Node, NodeConfig};
use protocol::{NodeStatus, ShardStatus};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Arguments of `factory coordinator`.
#[derive(Debug, clap::Args)]
pub struct CoordinatorArgs {
    /// UDP address to serve on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7300")]
    listen: SocketAddr,
    /// Certificate directory with ca.pem and the coordinator's certificate.
    #[arg(long)]
    certs: PathBuf,
    /// The name of the coordinator's certificate.
    #[arg(long, default_value = "coordinator")]
    name: String,
    /// A repo to shard; repeat for more.
    #[arg(long = "repo")]
    repos: Vec<String>,
    /// Directory for state that must survive a restart (shard epochs).
    #[arg(long)]
    state: Option<PathBuf>,
    /// The org catalog (org.toml); with it the coordinator runs outcomes on the org's repos.
    #[arg(long)]
    org: Option<PathBuf>,
    /// Agent for every task: `sim`, `claude-code`, `codex`, `aider`, `custom:<argv>`.
    #[arg(long, default_value = "sim")]
    agent: String,
    /// Serve the HTTP API (chat bots, reviewer pages) on this TCP address; needs --org.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Serve the reviewer pages without a token.
    #[arg(long)]
    public_pages: bool,
    /// Learned gates stay in shadow mode until a person runs
    /// `factory learner promote SLOT --blocking` (default: replay evidence promotes them).
    #[arg(long)]
    learner_manual_gates: bool,
    /// Skills whose replay was accepted become their repo's champion without a person
    /// (default: a person promotes them with `factory learner promote skill:<repo>`).
    #[arg(long)]
    learner_auto_promote_skills: bool,
}

/// Arguments of `factory node`.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The coordinator's address.
    #[arg(long)]
    join: SocketAddr,
    /// Certificate directory with ca.pem and this node's certificate.
    #[arg(long)]
    certs: PathBuf,
    /// The node's name: the name of its certificate.
    #[arg(long)]
    name: String,
    /// Relative capacity: its share of repos is capacity over the cluster's total.
    #[arg(long, default_value_t = 1)]
    capacity: u32,
    /// UDP address to serve on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where repo caches and sandboxes live (default: a folder in the system's temp dir).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The address the coordinator should reach this node on, if not --listen (a proxy between).
    #[arg(long)]
    advertise: Option<SocketAddr>,
}

/// Arguments of `factory status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The coordinator's address.
    #[arg(long)]
    coordinator: SocketAddr,
    /// Certificate directory with ca.pem and the client's certificate.
    #[arg(long)]
    certs: PathBuf,
    /// The name of the client's certificate.
    #[arg(long, default_value = "admin")]
    name: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `factory cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Repos to shard; defaults to a small example org.
    #[arg(long = "repo")]
    repos: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// How long status calls and cluster start-up may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Run an async subcommand on a fresh runtime.
pub fn block_on(command: impl std::future::Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Runtime::new()
        .context("starting the async runtime")?
        .block_on(command)
}

/// Listens for ctrl-c or SIGTERM from now on; the returned future ends when either arrives.
/// Either ends the subcommand normally, so everything is dropped in order and `main` flushes
/// telemetry on its way out (a default SIGTERM would kill the process with spans still queued).
/// Call it before printing the readiness line: a signal sent right after it must not find the
/// default disposition still in place.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for ctrl-c")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

/// Print a line to stdout and flush, so a parent process waiting for it sees it now.
fn ready(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

pub async fn coordinator(args: CoordinatorArgs) -> Result<()> {
    let shutdown = shutdown_signal()?;
    let mut config = CoordinatorConfig::new(args.listen, args.certs);
    config.name = args.name;
    config.repos = args.repos.into_iter().map(RepoName::new).collect();
    config.state_dir = args.state.clone();
    if let Some(org) = &args.org {
        let org = actors::org::load_org(org)?;
        let state = args
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from("factory-state"));
        let mut runs = coordinator::runs::RunConfig::new(
            org,
            std::path::absolute(state)?,
            args.agent.clone(),
            super::demo::sim_argv()?,
        );
        runs.learner.auto_block = !args.learner_manual_gates;
        runs.learner.auto_promote_skills = args.learner_auto_promote_skills;
        config.runs = Some(runs);
    }
    let coordinator = Coordinator::start(config)
        .await
        .context("starting the coordinator")?;
    ready(&format!(
        "coordinator listening on {}",
        coordinator.local_addr()?
    ))?;
    if let Some(http) = args.http {
        let Some(runs) = coordinator.runs().cloned() else {
            bail!("--http needs --org: the HTTP API serves runs");
        };
        let listener = tokio::net::TcpListener::bind(http)
            .await
            .with_context(|| format!("binding {http}"))?;
        let state = args
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from("factory-state"));
        let slack = coordinator::http::slack::SlackConfig::from_env()?;
        let mut config = coordinator::http::HttpConfig::new(std::path::absolute(state)?, slack);
        config.public_pages = args.public_pages;
        ready(&format!("http listening on {}", listener.local_addr()?))?;
        tokio::spawn(async move {
            if let Err(e) =
                coordinator::http::serve(listener, std::sync::Arc::new(runs), config).await
            {
                tracing::error!(error = %e, "http server stopped");
            }
        });
    }
    shutdown.await;
    Ok(())
}

pub async fn node(args: NodeArgs) -> Result<()> {
    let shutdown = shutdown_signal()?;
    let mut config = NodeConfig::new(args.name.clone(), args.join, args.certs);
    config.capacity = args.capacity;
    config.listen = args.listen;
    config.advertise = args.advertise;
    if let Some(work) = &args.work {
        config.work_dir = std::path::absolute(work)?;
    }
    config.sim_argv = vec![
        std::env::current_exe()?.display().to_string(),
        "sim-agent".into(),
    ];
    let node = Node::start(config)
        .await
        .with_context(|| format!("node {} could not join", args.name))?;
    ready(&format!(
        "node {} registered with {}, listening on {}",
        args.name,
        args.join,
        node.local_addr()?
    ))?;
    shutdown.await;
    Ok(())
}

pub async fn status(args: StatusArgs) -> Result<()> {
    let endpoint = client(&args.certs, &args.name)?;
    let (nodes, shards) = coordinator::client::status(&endpoint, args.coordinator, CALL_TIMEOUT)
        .await
        .with_context(|| format!("asking {} for status", args.coordinator))?;
    print_status(&nodes, &shards, args.json)
}

pub async fn cluster(args: ClusterArgs) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a directory for the cluster CA")?;
    let certs = dir.path();
    net::init_ca(certs)?;
    for name in ["coordinator", "node-1", "node-2", "admin"] {
        net::issue(certs, name, Validity::days(1))?;
    }
    let repos = if args.repos.is_empty() {
        ["api", "web", "worker", "billing", "infra", "schemas"]
            .map(String::from)
            .to_vec()
    } else {
        args.repos
    };
    let mut config =
        CoordinatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), certs.to_owned());
    config.repos = repos.into_iter().map(RepoName::new).collect();
    let coordinator = Coordinator::start(config).await?;
    let addr = coordinator.local_addr()?;
    let mut nodes = Vec::new();
    for (name, capacity) in [("node-1", 1), ("node-2", 2)] {
        let mut config = NodeConfig::new(name, addr, certs.to_owned());
        config.capacity = capacity;
        nodes.push(Node::start(config).await?);
    }
    let endpoint = client(certs, "admin")?;
    // Wait until both nodes are up and every repo has an owner.
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let (nodes, shards) = coordinator::client::status(&endpoint, addr, CALL_TIMEOUT).await?;
        let settled =
            nodes.iter().filter(|n| n.up).count() == 2 && shards.iter().all(|s| s.owner.is_some());
        if settled {
            return print_status(&nodes, &shards, args.json);
        }
        if Instant::now() > deadline {
            bail!("the local cluster did not settle within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An endpoint for making calls only.
/// A client endpoint with the certificate `name` from `certs`.
pub fn client(certs: &Path, name: &str) -> Result<Endpoint> {
    let identity = Identity::load(certs, name)
        .with_context(|| format!("loading the certificate of {name}"))?;
    Ok(Endpoint::bind(
        EndpointConfig::default(),
        identity,
        PingHandler,
    )?)
}

fn print_status(nodes: &[NodeStatus], shards: &[ShardStatus], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({ "nodes": nodes, "shards": shards });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(
            out,
            "{:<16} {:<5} {:>8} {:>10}  REPOS",
            "NODE", "STATE", "CAPACITY", "LAST SEEN"
        )?;
        for n in nodes {
            let repos: Vec<String> = n
                .shards
                .iter()
                .map(|g| format!("{}@{}", g.repo, g.epoch))
                .collect();
            let state = if n.up { "up" } else { "down" };
            let seen = format!("{}ms", n.last_seen_ms_ago);
            writeln!(
                out,
                "{:<16} {:<5} {:>8} {:>10}  {}",
                n.name,
                state,
                n.capacity,
                seen,
                repos.join(" ")
            )?;
        }
        let orphans: Vec<String> = shards
            .iter()
            .filter(|s| s.owner.is_none())
            .map(|s| format!("{}@{}", s.repo, s.epoch))
            .collect();
        if !orphans.is_empty() {
            writeln!(out, "unowned: {}", orphans.join(" "))?;
        }
    }
    out.flush()?;
    Ok(())
}
