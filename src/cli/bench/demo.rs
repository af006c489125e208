//! `factory bench demo`: the factory's own overhead on the demo run.
//!
//! The demo's wall time is split into time inside processes the factory waits for (agents, git,
//! checks, the sandbox, Chromium — measured by the nodes around that work) along the run's critical
//! path, and the rest: the factory's own overhead (planning, scheduling, QUIC round trips, the run
//! store, artifact upload, the bundle). Per task, the overhead is the coordinator's dispatch-to-result
//! time minus the node's own time for the attempt.

use anyhow::{Context, Result, bail};
use protocol::run::RunRecord;

use crate::cli::demo::{DemoArgs, run_demo};

/// Figures of one run.
#[derive(Debug)]
pub struct Overhead {
    /// Submit to bundle, ms.
    pub wall_ms: u64,
    /// Process time along the critical path, ms.
    pub critical_ms: u64,
    /// Per task attempt: coordinator wall minus node time, ms.
    pub per_task_ms: Vec<u64>,
}

/// Run the demo `runs` times and print the overhead.
pub fn run(runs: u32) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let mut all = Vec::new();
    for i in 0..runs {
        let dir =
            std::env::temp_dir().join(format!("factory-bench-demo-{}-{i}", std::process::id()));
        let args = DemoArgs {
            dir: Some(dir.clone()),
            agent: "sim".into(),
            missing_seed_step: false,
            learning: false,
            again: None,
            agent_timeout_secs: 600,
            max_cost_usd: 5.0,
            max_attempts: 3,
        };
        let run = rt.block_on(run_demo(args))?.pop().context("no run")?;
        let _ = std::fs::remove_dir_all(&dir);
        if run.bundle_dir.is_none() {
            bail!("demo run {} did not finish", run.id);
        }
        all.push(overhead(&run));
    }
    println!(
        "| run | wall ms | critical-path process ms | overhead ms | overhead % | task overhead p50 ms | max ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (i, o) in all.iter().enumerate() {
        let mut t = o.per_task_ms.clone();
        t.sort_unstable();
        let over = o.wall_ms.saturating_sub(o.critical_ms);
        println!(
            "| {} | {} | {} | {} | {:.1} | {} | {} |",
            i + 1,
            o.wall_ms,
            o.critical_ms,
            over,
            100.0 * over as f64 / o.wall_ms.max(1) as f64,
            t.get(t.len() / 2).copied().unwrap_or(0),
            t.last().copied().unwrap_or(0)
        );
    }
    Ok(())
}

/// Split a finished run's wall time. The critical path is each batch of concurrently dispatched
/// attempts (its longest node-side attempt) followed by the verification round that waited for it.
pub fn overhead(run: &RunRecord) -> Overhead {
    let end = run.finished_unix_ms.unwrap_or(run.submitted_unix_ms);
    let wall_ms = end.saturating_sub(run.submitted_unix_ms);
    let mut attempts: Vec<(u64, u64, u64)> = run
        .tasks
        .iter()
        .flat_map(|t| t.results.iter())
        .map(|r| (r.started_unix_ms, r.finished_unix_ms, r.wall_ms))
        .collect();
    attempts.sort_unstable();
    // Attempts whose node-side intervals overlap ran in the same batch.
    let mut critical_ms = 0;
    let mut batch_end = 0;
    let mut batch_max = 0;
    for (start, finish, _) in &attempts {
        if *start >= batch_end && batch_max > 0 {
            critical_ms += batch_max;
            batch_max = 0;
        }
        batch_end = batch_end.max(*finish);
        batch_max = batch_max.max(finish.saturating_sub(*start));
    }
    critical_ms += batch_max;
    critical_ms += run
        .verifications
        .iter()
        .filter_map(|v| v["node_ms"].as_u64())
        .sum::<u64>();
    let per_task_ms = attempts
        .iter()
        .map(|(s, f, wall)| wall.saturating_sub(f.saturating_sub(*s)))
        .collect();
    Overhead {
        wall_ms,
        critical_ms,
        per_task_ms,
    }
}
