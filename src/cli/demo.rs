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
    /// After the first outcome, ship a second one on the same boundaries ("add updatedAt") to show
    /// what the first run taught: the learned gate and setup steps apply to it.
    #[arg(long)]
    pub learning: bool,
    /// Ship one more outcome, adding this field on the same boundaries, in the existing demo
    /// folder given by `--dir`: its org, certificates and state are reused, so what earlier
    /// runs taught (and what a person promoted since, e.g. a skill) applies.
    #[arg(long, value_name = "FIELD", requires = "dir", conflicts_with_all = ["learning", "missing_seed_step"])]
    pub again: Option<String>,
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
    outcome(
        "expose the order creation time to the dashboard and the email worker",
        "Orders carry their creation time; the dashboard shows it and the order email states it.",
        "createdAt",
    )
}

/// The second outcome of `--learning`: the same boundaries, a new field.
pub fn second_outcome() -> Outcome {
    outcome(
        "show when an order was last updated on the dashboard and in the email",
        "Orders carry their last update time; the dashboard and the order email show it.",
        "updatedAt",
    )
}

/// The outcome of `--again FIELD`: the same boundaries, the given field.
pub fn again_outcome(field: &str) -> Outcome {
    outcome(
        &format!("carry `{field}` on orders to the dashboard and the email worker"),
        &format!("Orders carry `{field}`; the dashboard and the order email show it."),
        field,
    )
}

fn outcome(title: &str, description: &str, field: &str) -> Outcome {
    let add = |contract: &str| ChangeSpec::AddField {
        contract: contract.into(),
        field: field.into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    };
    Outcome {
        title: title.into(),
        description: description.into(),
        changes: vec![add("orders.v1"), add("order-events.v1")],
    }
}

/// Run the demo.
pub async fn demo(args: DemoArgs) -> Result<()> {
    let runs = run_demo(args).await?;
    let (last, earlier) = runs.split_last().context("the demo made no run")?;
    for run in earlier {
        if let Err(e) = super::runs::finish(run) {
            println!("{e:#}\n");
        }
        println!();
    }
    super::runs::finish(last)
}

/// Run the demo and return the finished runs.
pub async fn run_demo(args: DemoArgs) -> Result<Vec<protocol::run::RunRecord>> {
    let learning = args.learning;
    let dir = match args.dir {
        Some(d) => d,
        None => {
            PathBuf::from("factory-demo").join(format!("{}", coordinator::driver::now_unix_ms()))
        }
    };
    let org_toml = if args.again.is_some() {
        let dir = std::path::absolute(&dir)?;
        println!("demo folder (again): {}", dir.display());
        dir.join("org").join("org.toml")
    } else {
        if dir.exists() {
            bail!("{} already exists; pass a new --dir", dir.display());
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        println!("demo folder: {}", std::path::absolute(&dir)?.display());
        generate(
            &std::path::absolute(&dir)?.join("org"),
            &ExampleOptions {
                missing_seed_step: args.missing_seed_step,
            },
        )?
    };
    let dir = std::path::absolute(&dir)?;
    let org = actors::org::load_org(&org_toml)
        .with_context(|| format!("loading {}", org_toml.display()))?;
    println!(
        "example org: {} ({} repos as git origins)",
        org_toml.display(),
        org.repos.len()
    );

    let certs = dir.join("certs");
    if args.again.is_none() {
        net::init_ca(&certs)?;
        for name in ["coordinator", "node-1", "node-2", "cli"] {
            net::issue(&certs, name, Validity::days(1))?;
        }
    }
    let mut config = CoordinatorConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), certs.clone());
    config.state_dir = Some(dir.join("state"));
    let mut runs = RunConfig::new(org, dir.join("state"), args.agent, sim_argv()?);
    runs.budget = RunBudget {
        agent_timeout_secs: args.agent_timeout_secs,
        max_cost_usd: args.max_cost_usd,
        max_attempts_per_task: args.max_attempts,
        ..RunBudget::default()
    };
    config.runs = Some(runs);
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

    let mut outcomes = match &args.again {
        Some(field) => vec![again_outcome(field)],
        None => vec![demo_outcome()],
    };
    if learning {
        outcomes.push(second_outcome());
    }
    let mut runs = Vec::new();
    for outcome in outcomes {
        let title = outcome.title.clone();
        let run_id = super::runs::submit(&client, addr, outcome).await?;
        println!("run {run_id} submitted: {title}");
        let run = super::runs::follow(&client, addr, &run_id, Duration::from_secs(1800)).await?;
        for line in learned_lines(&run) {
            println!("  learned: {line}");
        }
        // Skill replays go on after delivery; the next run (and the reader) should see their
        // verdicts, so the demo waits for them.
        if let Some(service) = coordinator.runs() {
            service.learning_settled().await;
            for line in service.late_lessons(&run_id) {
                println!("  learned: {line}");
            }
        }
        runs.push(run);
    }
    drop(nodes);
    drop(coordinator);
    Ok(runs)
}

/// What the learner took from a run, as the bundle records it.
fn learned_lines(run: &protocol::run::RunRecord) -> Vec<String> {
    let Some(dir) = &run.bundle_dir else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(PathBuf::from(dir).join("bundle.json")).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json["learned"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
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

/// The deterministic agent's command line: this binary's `sim-agent` subcommand.
pub fn sim_argv() -> Result<Vec<String>> {
    Ok(vec![
        std::env::current_exe()?.display().to_string(),
        "sim-agent".into(),
    ])
}
