//! `factory ship`, `factory runs` and `factory plan`: submit an outcome, follow it, list runs, and
//! print a plan without running it. Shared with `factory demo`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actors::net::Endpoint;
use anyhow::{Context, Result, anyhow, bail};
use protocol::outcome::{ChangeSpec, Outcome};
use protocol::run::{RunRecord, RunStatus, TaskState};
use protocol::{Body, targets};

const CALL_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(250);

/// What to ask for: a title, optional text and structured changes.
#[derive(Debug, clap::Args)]
pub struct OutcomeArgs {
    /// One-line outcome, e.g. "expose the order creation time to the dashboard".
    #[arg(long)]
    pub title: String,
    /// Free text.
    #[arg(long, default_value = "")]
    pub description: String,
    /// A structured change, repeatable: `add <contract> <field> <type>[:<format>]`,
    /// `rename <contract> <from> <to>`, `retype <contract> <field> <type>`, `remove <contract> <field>`.
    #[arg(long = "change")]
    pub changes: Vec<String>,
}

impl OutcomeArgs {
    /// Parse into an outcome.
    pub fn outcome(&self) -> Result<Outcome> {
        let changes = self
            .changes
            .iter()
            .map(|c| {
                c.parse::<ChangeSpec>()
                    .map_err(|e| anyhow!("--change {c:?}: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Outcome {
            title: self.title.clone(),
            description: self.description.clone(),
            changes,
        })
    }
}

/// `factory ship`.
#[derive(Debug, clap::Args)]
pub struct ShipArgs {
    /// The coordinator's QUIC address.
    #[arg(long)]
    coordinator: SocketAddr,
    /// Certificate directory.
    #[arg(long)]
    certs: PathBuf,
    /// This client's certificate name.
    #[arg(long, default_value = "admin")]
    name: String,
    /// Submit and print the run id without following the run.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    outcome: OutcomeArgs,
}

/// `factory runs`.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// The coordinator's QUIC address.
    #[arg(long)]
    coordinator: SocketAddr,
    /// Certificate directory.
    #[arg(long)]
    certs: PathBuf,
    /// This client's certificate name.
    #[arg(long, default_value = "admin")]
    name: String,
    /// Show this run in full instead of listing all.
    run: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// `factory plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The org catalog.
    #[arg(long)]
    org: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    outcome: OutcomeArgs,
}

/// Submit an outcome and follow it to the end.
pub async fn ship(args: ShipArgs) -> Result<()> {
    let endpoint = super::cluster::client(&args.certs, &args.name)?;
    let run_id = submit(&endpoint, args.coordinator, args.outcome.outcome()?).await?;
    println!("run {run_id} submitted");
    if args.detach {
        return Ok(());
    }
    let run = follow(
        &endpoint,
        args.coordinator,
        &run_id,
        Duration::from_secs(3600),
    )
    .await?;
    finish(&run)
}

/// List runs or show one.
pub async fn runs(args: RunsArgs) -> Result<()> {
    let endpoint = super::cluster::client(&args.certs, &args.name)?;
    let mut out = std::io::stdout().lock();
    match args.run {
        Some(id) => {
            let run = get(&endpoint, args.coordinator, &id).await?;
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&run)?)?;
            } else {
                show(&mut out, &run)?;
            }
        }
        None => {
            let runs = match endpoint
                .call(
                    args.coordinator,
                    targets::RUNS,
                    Body::ListRuns,
                    CALL_TIMEOUT,
                )
                .await?
            {
                Body::Runs { runs } => runs,
                other => bail!("unexpected reply {}", other.kind()),
            };
            if args.json {
                writeln!(out, "{}", serde_json::to_string_pretty(&runs)?)?;
            } else {
                writeln!(
                    out,
                    "{:<38} {:<10} {:>9}  TITLE",
                    "RUN", "STATUS", "COST USD"
                )?;
                for r in runs {
                    writeln!(
                        out,
                        "{:<38} {:<10} {:>9.4}  {}",
                        r.id,
                        status(r.status),
                        r.cost_usd,
                        r.outcome.title
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Print a plan for an outcome against an org.
pub fn plan(args: PlanArgs) -> Result<()> {
    let org = actors::org::load_org(&args.org)?;
    let plan = actors::plan::plan(&org, &args.outcome.outcome()?, &[])?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&plan)?)?;
    } else {
        writeln!(out, "{}", plan.to_markdown())?;
    }
    Ok(())
}

/// Submit over QUIC; the run is stored before the id comes back.
pub async fn submit(endpoint: &Endpoint, addr: SocketAddr, outcome: Outcome) -> Result<String> {
    match endpoint
        .call(addr, targets::RUNS, Body::Submit { outcome }, CALL_TIMEOUT)
        .await
        .context("submitting")?
    {
        Body::Submitted { run_id } => Ok(run_id),
        other => bail!("unexpected reply {}", other.kind()),
    }
}

async fn get(endpoint: &Endpoint, addr: SocketAddr, id: &str) -> Result<RunRecord> {
    match endpoint
        .call(
            addr,
            targets::RUNS,
            Body::GetRun {
                run_id: id.to_string(),
            },
            CALL_TIMEOUT,
        )
        .await?
    {
        Body::Run { run } => Ok(*run),
        other => bail!("unexpected reply {}", other.kind()),
    }
}

/// Poll a run, printing each new event, until it is final and bundled.
pub async fn follow(
    endpoint: &Endpoint,
    addr: SocketAddr,
    id: &str,
    limit: Duration,
) -> Result<RunRecord> {
    let deadline = Instant::now() + limit;
    let mut seen = 0;
    let started = Instant::now();
    loop {
        let run = get(endpoint, addr, id).await?;
        let mut out = std::io::stdout().lock();
        for e in run.events.iter().skip(seen) {
            writeln!(
                out,
                "[{:>6.1}s] {:<16} {}",
                started.elapsed().as_secs_f64(),
                e.kind,
                e.message
            )?;
        }
        out.flush()?;
        seen = run.events.len();
        if run.status.is_final() && run.bundle_dir.is_some() {
            return Ok(run);
        }
        if Instant::now() > deadline {
            bail!(
                "run {id} did not finish within {limit:?}; it is {:?}",
                run.status
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Print the end of a run; an error when it did not deliver.
pub fn finish(run: &RunRecord) -> Result<()> {
    let mut out = std::io::stdout().lock();
    show(&mut out, run)?;
    if let Some(dir) = &run.bundle_dir {
        let dir = PathBuf::from(dir);
        writeln!(out, "\nbundle: {}", dir.display())?;
        for f in ["index.html", "bundle.md", "bundle.json"] {
            writeln!(out, "  {}", dir.join(f).display())?;
        }
    }
    match run.status {
        RunStatus::Delivered => Ok(()),
        _ => bail!(
            "run {} {}: {}",
            run.id,
            status(run.status),
            run.error.clone().unwrap_or_default()
        ),
    }
}

fn show(out: &mut impl Write, run: &RunRecord) -> Result<()> {
    writeln!(
        out,
        "run {}  {}  cost {:.4} USD  verification rounds {}",
        run.id,
        status(run.status),
        run.cost_usd,
        run.verify_rounds
    )?;
    writeln!(out, "  {}", run.outcome.title)?;
    for t in &run.tasks {
        let state = match &t.state {
            TaskState::Failed { reason } => format!("failed: {reason}"),
            other => format!("{other:?}").to_lowercase(),
        };
        let node = t.results.last().map(|r| r.node.as_str()).unwrap_or("-");
        writeln!(
            out,
            "  task {:<22} on {:<8} attempts {}  {}",
            t.id, node, t.attempts, state
        )?;
    }
    for f in &run.findings {
        writeln!(
            out,
            "  finding [{}] {} {} (round {}, {}): {}",
            f.severity,
            f.note.rule,
            f.note
                .fix_repo
                .as_deref()
                .map(|r| format!("-> {r}"))
                .unwrap_or_default(),
            f.round,
            f.caught_by,
            f.note.message
        )?;
    }
    if let Some(e) = &run.error {
        writeln!(out, "  error: {e}")?;
    }
    Ok(())
}

fn status(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Submitted => "submitted",
        RunStatus::Planned => "planned",
        RunStatus::Changing => "changing",
        RunStatus::Verifying => "verifying",
        RunStatus::Delivered => "delivered",
        RunStatus::Failed => "failed",
    }
}
