//! `factory demo`: the whole loop on the embedded default. Generates the example org as real git
//! repos, starts a coordinator and two nodes in this process over QUIC with mutual TLS on
//! loopback, submits "expose the order creation time to the dashboard and the email worker" with
//! the deterministic agent, follows it, and prints where the bundle is.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actors::example::{ExampleOptions, generate};
use actors::net::{self, Validity};
use anyhow::{Context, Result, bail};
use coordinator::runs::RunConfig;
use coordinator::{Coordinator, CoordinatorConfig};
use node::{Node, NodeConfig};
use protocol::outcome::{ChangeSpec, Outcome};
use protocol::run::RunBudget;

/// `factory demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Folder for the org, certificates, state and bundle; created, must not exist yet.
    /// Default: `factory-demo/<time>` under the current directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Agent for every task: `sim` (deterministic), `claude-code`, `codex`, `aider`, `custom:<argv>`.
    #[arg(long, default_value = "sim")]
    pub agent: String,
    /// Leave the seed step out of the backend's setup (its sandbox then fails to start).
    #[arg(long)]
    pub missing_seed_step: bool,
    /// Time one agent invocation may take, in seconds.
    #[arg(long, default_value_t = 600)]
    pub agent_timeout_secs: u64,
    /// Cost the whole run may reach, in US dollars.
    #[arg(long, default_value_t = 5.0)]
    pub max_cost_usd: f64,
    /// Attempts per task.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
}

/// The demo's outcome.
pub fn demo_outcome() -> Outcome {
    let add = |contract: &str| ChangeSpec::AddField {
        contract: contract.into(),
        field: "createdAt".into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    };
    Outcome {
        title: "expose the order creation time to the dashboard and the email worker".into(),
        description: "Orders carry their creation time; the dashboard shows it and the order email states it.".into(),
        changes: vec![add("orders.v1"), add("order-events.v1")],
    }
}

/// Run the demo.
pub async fn demo(args: DemoArgs) -> Result<()> {
    let run = run_demo(args).await?;
    super::runs::finish(&run)
}

/// Run the demo and return the finished run.
pub async fn run_demo(args: DemoArgs) -> Result<protocol::run::RunRecord> {
    let dir = match args.dir {
        Some(d) => d,
        None => {
            PathBuf::from("factory-demo").join(format!("{}", coordinator::driver::now_unix_ms()))
        }
    };
    if dir.exists() {
        bail!("{} already exists; pass a new --dir", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::path::absolute(&dir)?;
    println!("demo folder: {}", dir.display());

    let org_toml = generate(
        &dir.join("org"),
        &ExampleOptions {
            missing_seed_step: args.missing_seed_step,
        },
    )?;
    let org = actors::org::load_org(&org_toml)?;
    println!(
        "example org: {} ({} repos as git origins)",
        org_toml.display(),
        org.repos.len()
    );

    let certs = dir.join("certs");
    net::init_ca(&certs)?;
    for name in ["coordinator", "node-1", "node-2", "cli"] {
        net::issue(&certs, name, Validity::days(1))?;
    }
    let mut config = CoordinatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), certs.clone());
    config.state_dir = Some(dir.join("state"));
    config.runs = Some(RunConfig {
        org,
        state_dir: dir.join("state"),
        agent: args.agent,
        skill: actors::agent::DEFAULT_TEMPLATE.to_string(),
        budget: RunBudget {
            agent_timeout_secs: args.agent_timeout_secs,
            max_cost_usd: args.max_cost_usd,
            max_attempts_per_task: args.max_attempts,
            ..RunBudget::default()
        },
        verify_timeout: Duration::from_secs(600),
        placement_timeout: Duration::from_secs(30),
    });
    let coordinator = Coordinator::start(config)
        .await
        .context("starting the coordinator")?;
    let addr = coordinator.local_addr()?;
    let exe = std::env::current_exe()?.display().to_string();
    let mut nodes = Vec::new();
    for name in ["node-1", "node-2"] {
        let mut config = NodeConfig::new(name, addr, certs.clone());
        config.work_dir = dir.join("work");
        config.sim_argv = vec![exe.clone(), "sim-agent".into()];
        nodes.push(
            Node::start(config)
                .await
                .with_context(|| format!("starting {name}"))?,
        );
    }
    let client = super::cluster::client(&certs, "cli")?;
    wait_settled(&client, addr).await?;
    println!("cluster: coordinator {addr} and 2 nodes over QUIC with mutual TLS");

    let run_id = super::runs::submit(&client, addr, demo_outcome()).await?;
    println!("run {run_id} submitted: {}", demo_outcome().title);
    let run = super::runs::follow(&client, addr, &run_id, Duration::from_secs(1800)).await?;
    drop(nodes);
    drop(coordinator);
    Ok(run)
}

/// Wait until both nodes are up and every repo has an owner.
async fn wait_settled(client: &actors::net::Endpoint, addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (nodes, shards) =
            coordinator::client::status(client, addr, Duration::from_secs(5)).await?;
        if nodes.iter().filter(|n| n.up).count() == 2 && shards.iter().all(|s| s.owner.is_some()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the demo cluster did not settle within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
