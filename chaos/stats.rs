//! Counters of one seed, summed over many, and the table the harness prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use coordinator::runs::{RunRecord, RunStatus};

use crate::config::Ms;

/// What happened, counted.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Seeds summed in.
    pub seeds: u64,
    /// Seeds that broke an invariant.
    pub violations: u64,
    /// Events handled.
    pub events: u64,
    /// Node crashes injected.
    pub crashes: u64,
    /// Node pauses injected.
    pub pauses: u64,
    /// Partitions injected.
    pub partitions: u64,
    /// Coordinator restarts injected.
    pub coordinator_restarts: u64,
    /// Messages dropped.
    pub drops: u64,
    /// Messages duplicated.
    pub duplicates: u64,
    /// Messages delayed.
    pub delays: u64,
    /// Messages reordered.
    pub reorders: u64,
    /// Runs submitted.
    pub runs_submitted: u64,
    /// Runs delivered.
    pub runs_delivered: u64,
    /// Runs failed.
    pub runs_failed: u64,
    /// Failed runs by reason.
    pub failure_reasons: BTreeMap<String, u64>,
    /// Runs not final and bundled at the end.
    pub runs_lost: u64,
    /// Attempts counted as completed twice (the ledger stops the seed at the first).
    pub counted_twice: u64,
    /// Results refused by the fence.
    pub fenced: u64,
    /// Results past the fence that the run machine ignored (duplicates, superseded attempts).
    pub stale_ignored: u64,
    /// Dispatches sent, re-sends included.
    pub dispatches: u64,
    /// Re-sends after the result timeout.
    pub resends: u64,
    /// Attempts run to the end on some node.
    pub executions: u64,
    /// Of those, repeats of an attempt already run (wasted work, not double counting).
    pub duplicate_executions: u64,
    /// Executions per (run, task, attempt), for the above; emptied when summed.
    pub executions_of: BTreeMap<(String, String, u32), u64>,
    /// Failovers timed.
    pub failovers: u64,
    /// The longest, in ms, with its bound (raised by a coordinator restart in the window).
    pub longest_failover_ms: (Ms, Ms),
    /// The longest with no coordinator restart in its window.
    pub longest_plain_failover_ms: Ms,
    /// The longest time from faults stopping to the last run finishing.
    pub longest_settle_ms: Ms,
    /// The liveness bound it is checked against.
    pub liveness_bound_ms: Ms,
}

impl Stats {
    /// A run finished (final and bundled).
    pub fn finished(&mut self, run: &RunRecord) {
        if run.status == RunStatus::Delivered {
            self.runs_delivered += 1;
            return;
        }
        self.runs_failed += 1;
        let reason = reason(run.error.as_deref().unwrap_or("no error recorded"));
        *self.failure_reasons.entry(reason).or_insert(0) += 1;
    }

    /// Sum one seed's counters in.
    pub fn add(&mut self, o: &Stats) {
        self.seeds += 1;
        let pairs = [
            (&mut self.violations, o.violations),
            (&mut self.events, o.events),
            (&mut self.crashes, o.crashes),
            (&mut self.pauses, o.pauses),
            (&mut self.partitions, o.partitions),
            (&mut self.coordinator_restarts, o.coordinator_restarts),
            (&mut self.drops, o.drops),
            (&mut self.duplicates, o.duplicates),
            (&mut self.delays, o.delays),
            (&mut self.reorders, o.reorders),
            (&mut self.runs_submitted, o.runs_submitted),
            (&mut self.runs_delivered, o.runs_delivered),
            (&mut self.runs_failed, o.runs_failed),
            (&mut self.runs_lost, o.runs_lost),
            (&mut self.counted_twice, o.counted_twice),
            (&mut self.fenced, o.fenced),
            (&mut self.stale_ignored, o.stale_ignored),
            (&mut self.dispatches, o.dispatches),
            (&mut self.resends, o.resends),
            (&mut self.executions, o.executions),
            (&mut self.duplicate_executions, o.duplicate_executions),
            (&mut self.failovers, o.failovers),
        ];
        for (mine, theirs) in pairs {
            *mine += theirs;
        }
        for (k, v) in &o.failure_reasons {
            *self.failure_reasons.entry(k.clone()).or_insert(0) += v;
        }
        self.longest_failover_ms = self.longest_failover_ms.max(o.longest_failover_ms);
        self.longest_plain_failover_ms = self
            .longest_plain_failover_ms
            .max(o.longest_plain_failover_ms);
        self.longest_settle_ms = self.longest_settle_ms.max(o.longest_settle_ms);
        self.liveness_bound_ms = self.liveness_bound_ms.max(o.liveness_bound_ms);
    }

    /// The summary table.
    pub fn table(&self, failover_bound_ms: Ms) -> String {
        let mut t = String::new();
        let mut row = |name: &str, value: String| {
            let _ = writeln!(t, "  {name:<44} {value:>12}");
        };
        row("seeds", self.seeds.to_string());
        row("seeds breaking an invariant", self.violations.to_string());
        row("events simulated", self.events.to_string());
        row("faults: node crash", self.crashes.to_string());
        row("faults: node pause", self.pauses.to_string());
        row("faults: partition", self.partitions.to_string());
        row(
            "faults: coordinator restart",
            self.coordinator_restarts.to_string(),
        );
        row("faults: message dropped", self.drops.to_string());
        row("faults: message duplicated", self.duplicates.to_string());
        row("faults: message delayed", self.delays.to_string());
        row("faults: message reordered", self.reorders.to_string());
        row("runs submitted", self.runs_submitted.to_string());
        row("runs delivered", self.runs_delivered.to_string());
        row("runs failed", self.runs_failed.to_string());
        for (reason, n) in &self.failure_reasons {
            row(&format!("  failed: {reason}"), n.to_string());
        }
        row("runs lost (must be 0)", self.runs_lost.to_string());
        row(
            "attempts counted twice (must be 0)",
            self.counted_twice.to_string(),
        );
        row(
            "stale results refused by the fence",
            self.fenced.to_string(),
        );
        row(
            "results ignored by the run machine",
            self.stale_ignored.to_string(),
        );
        row(
            "dispatches sent (re-sends included)",
            self.dispatches.to_string(),
        );
        row(
            "re-sends after the result timeout",
            self.resends.to_string(),
        );
        row("attempts executed", self.executions.to_string());
        row(
            "  of which repeats (wasted, not counted)",
            self.duplicate_executions.to_string(),
        );
        row("failovers timed", self.failovers.to_string());
        row(
            "longest failover, no restart (ms / bound)",
            format!("{} / {}", self.longest_plain_failover_ms, failover_bound_ms),
        );
        row(
            "longest failover, any (ms / its bound)",
            format!(
                "{} / {}",
                self.longest_failover_ms.0, self.longest_failover_ms.1
            ),
        );
        row(
            "longest faults-stop -> last run final (ms / bound)",
            format!("{} / {}", self.longest_settle_ms, self.liveness_bound_ms),
        );
        t
    }
}

/// A failure message without its ids and numbers, so equal causes count together.
fn reason(error: &str) -> String {
    if error.starts_with("planning failed") {
        "planner refused the outcome".into()
    } else if error.contains("failed after") {
        "a task failed every attempt".into()
    } else if error.contains("used its") {
        "findings outlasted a task's attempts".into()
    } else if error.contains("verification budget") {
        "verification rounds used up".into()
    } else {
        error
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .take(60)
            .collect()
    }
}
