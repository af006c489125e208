//! The simulated cluster's timings, the bounds the invariants are checked against, and the
//! scenario (cluster size and fault schedule) drawn from a seed.

use crate::rng::Rng;

/// Virtual milliseconds.
pub type Ms = u64;

/// The coordinator's clock tick, as `service::TICK` (100 ms).
pub const TICK_MS: Ms = 100;
/// Node heartbeat interval, as `MembershipConfig::default()`.
pub const HEARTBEAT_MS: Ms = 500;
/// Silence after which a node is down, as `MembershipConfig::default()`.
pub const DOWN_AFTER_MS: Ms = 2000;
/// Network latency without faults, inclusive range.
pub const LATENCY_MS: (Ms, Ms) = (1, 20);
/// Extra latency of a delayed message.
pub const DELAY_MS: (Ms, Ms) = (300, 1200);
/// Extra latency of a reordered message: enough to overtake the next few messages.
pub const REORDER_MS: (Ms, Ms) = (20, 200);
/// How long one task attempt runs on a node.
pub const EXEC_MS: (Ms, Ms) = (200, 1500);
/// Planner, verifier and bundler durations (they run beside the coordinator).
pub const PLAN_MS: (Ms, Ms) = (50, 300);
/// See [`PLAN_MS`].
pub const VERIFY_MS: (Ms, Ms) = (100, 600);
/// See [`PLAN_MS`].
pub const BUNDLE_MS: Ms = 50;
/// The failover policy's result timeout: an attempt with no admitted result after this long is
/// sent again. Above the slowest attempt plus a round trip, so it rarely fires without a fault.
pub const RESULT_TIMEOUT_MS: Ms = 3000;
/// Faults are injected in `[0, FAULT_WINDOW_MS)`; then every fault heals.
pub const FAULT_WINDOW_MS: Ms = 20_000;
/// Runs are submitted in `[0, SUBMIT_WINDOW_MS)`.
pub const SUBMIT_WINDOW_MS: Ms = 12_000;

/// Per-mille rates of message faults on dispatches and results while faults are on.
pub const DROP_PM: u64 = 30;
/// See [`DROP_PM`].
pub const DUPLICATE_PM: u64 = 40;
/// See [`DROP_PM`].
pub const DELAY_PM: u64 = 40;
/// See [`DROP_PM`].
pub const REORDER_PM: u64 = 60;
/// Per-mille rate of a task attempt failing (decided by the attempt's ids, not by the node).
pub const TASK_FAIL_PM: u64 = 200;
/// Per-mille rate of a verification round raising a blocking finding.
pub const FINDING_PM: u64 = 250;
/// Per-mille rate of the planner refusing an outcome.
pub const PLAN_FAIL_PM: u64 = 30;

/// Failure detection bound for a node lost at `t0`: its last heartbeat reaches the coordinator by
/// `t0 + latency`, it is down at the first tick more than `down_after` later, and its repos move
/// and its attempts are re-sent in that same step.
pub const FAILOVER_BOUND_MS: Ms = DOWN_AFTER_MS + TICK_MS + LATENCY_MS.1;

/// What a coordinator restart inside a failover window adds to its bound: the downtime itself
/// (added separately), then nodes learn of the restart on their next heartbeat and register.
pub const RESTART_FAILOVER_EXTRA_MS: Ms = HEARTBEAT_MS + 2 * LATENCY_MS.1 + TICK_MS;

/// The slowest one step of a run can take after faults stop: an attempt lost just before may
/// need the result timeout, then a full attempt and a round trip; or a verification round.
pub const STEP_BOUND_MS: Ms = RESULT_TIMEOUT_MS + EXEC_MS.1 + 2 * LATENCY_MS.1 + VERIFY_MS.1;

/// Liveness bound: once faults stop, every run is final and bundled within this much virtual
/// time. Settling (paused or cut-off nodes register again, late messages land) takes at most a
/// heartbeat, a detection and the longest delay; a run then needs at most one plan, its attempts
/// (`max_attempts_per_task` per wave, two waves) and its verification rounds, each one step.
pub fn liveness_bound_ms(max_attempts: u32, max_verify_rounds: u32) -> Ms {
    let settle = HEARTBEAT_MS + FAILOVER_BOUND_MS + DELAY_MS.1;
    let steps = Ms::from(2 * max_attempts + max_verify_rounds);
    settle + PLAN_MS.1 + steps * STEP_BOUND_MS + BUNDLE_MS
}

/// One scheduled fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The node's process dies at `at` (losing its work) and starts again at `until`.
    Crash {
        /// Node index.
        node: usize,
        /// Start.
        at: Ms,
        /// Restart.
        until: Ms,
    },
    /// SIGSTOP at `at`, SIGCONT at `until`: nothing is lost, everything is late.
    Pause {
        /// Node index.
        node: usize,
        /// Start.
        at: Ms,
        /// Resume.
        until: Ms,
    },
    /// The node and the coordinator cannot reach each other in `[at, until)`.
    Partition {
        /// Node index.
        node: usize,
        /// Start.
        at: Ms,
        /// Heal.
        until: Ms,
    },
    /// The coordinator process dies at `at` and is back at `until`, rebuilt from its store.
    CoordinatorRestart {
        /// Start.
        at: Ms,
        /// Back up.
        until: Ms,
    },
}

/// A cluster and a fault schedule, all from one seed.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The seed it came from.
    pub seed: u64,
    /// Nodes, 3 to 7.
    pub nodes: usize,
    /// Repos, 10 to 50.
    pub repos: usize,
    /// Runs submitted.
    pub runs: usize,
    /// Scheduled faults, by start time.
    pub faults: Vec<Fault>,
}

impl Scenario {
    /// Draw a scenario. Uses its own generator so the schedule does not shift when the
    /// simulation's use of randomness changes.
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0x5ce7_a210);
        let nodes = rng.range(3, 7) as usize;
        let repos = rng.range(10, 50) as usize;
        let runs = rng.range(4, 12) as usize;
        let count = rng.range(3, 12);
        let last_start = FAULT_WINDOW_MS - 1000;
        let mut faults: Vec<Fault> = (0..count)
            .map(|_| {
                let at = rng.range(500, last_start);
                let node = rng.index(nodes);
                let until = |rng: &mut Rng, lo, hi| (at + rng.range(lo, hi)).min(FAULT_WINDOW_MS);
                match rng.below(10) {
                    0..=2 => Fault::Crash {
                        node,
                        at,
                        until: until(&mut rng, 1000, 8000),
                    },
                    3..=5 => Fault::Pause {
                        node,
                        at,
                        until: until(&mut rng, 500, 5000),
                    },
                    6..=7 => Fault::Partition {
                        node,
                        at,
                        until: until(&mut rng, 500, 5000),
                    },
                    _ => Fault::CoordinatorRestart {
                        at,
                        until: until(&mut rng, 50, 1500),
                    },
                }
            })
            .collect();
        faults.sort_by_key(Fault::start);
        Scenario {
            seed,
            nodes,
            repos,
            runs,
            faults,
        }
    }

    /// Coordinator downtime overlapping `[from, to]`, in ms, and whether there was any.
    pub fn coordinator_down_within(&self, from: Ms, to: Ms) -> (Ms, bool) {
        let mut total = 0;
        let mut any = false;
        for f in &self.faults {
            if let Fault::CoordinatorRestart { at, until } = *f {
                let (a, b) = (at.max(from), until.min(to));
                if a <= b {
                    total += b - a;
                    any = true;
                }
            }
        }
        (total, any)
    }
}

impl Fault {
    /// When the fault begins.
    pub fn start(&self) -> Ms {
        match *self {
            Fault::Crash { at, .. }
            | Fault::Pause { at, .. }
            | Fault::Partition { at, .. }
            | Fault::CoordinatorRestart { at, .. } => at,
        }
    }
}
