//! The simulator: one virtual clock, one event queue, one seeded generator, the real pure
//! coordinator modules (`Membership`, `ShardMap`, `RunMachine`) and simulated nodes, network and
//! faults around them. Single-threaded and free of wall-clock time, so a seed replays exactly.
//!
//! Events are ordered by (virtual time, insertion sequence) in a `BTreeMap`; nothing iterates a
//! `HashMap`, so the order of everything is a function of the seed.

mod coord;
mod events;
mod faults;
mod node;
mod steps;

use std::collections::{BTreeMap, BTreeSet};

use coordinator::ids::{Epoch, NodeId, RepoName};
use coordinator::membership::{Membership, MembershipConfig};
use coordinator::runs::{RunMachine, RunRecord, TaskResult};
use std::time::Duration;

use crate::config::{self, Ms, Scenario};
use crate::failover::FailoverPolicy;
use crate::invariants::{
    AckLog, CompletionLedger, FailoverClock, Liveness, ShardHistory, Violation,
};
use crate::rng::{Rng, Trace};
use crate::stats::Stats;
pub use events::{Endpoint, Event, ExecKey, Msg};

/// The coordinator process: volatile state plus its durable store.
struct Coord {
    up: bool,
    incarnation: u64,
    membership: Membership,
    machines: BTreeMap<usize, RunMachine>,
    policy: FailoverPolicy,
    /// Durable: the run store, written after every step, as `driver::drive` does.
    store: BTreeMap<usize, RunRecord>,
    /// Durable: shard epochs, saved after every batch of moves, as `service` does.
    epochs: BTreeMap<RepoName, Epoch>,
}

/// A node process.
struct SimNode {
    name: NodeId,
    capacity: u32,
    crashed: bool,
    paused: bool,
    partitioned: bool,
    incarnation: u64,
    running: BTreeSet<ExecKey>,
    done: BTreeMap<ExecKey, TaskResult>,
    inbox: Vec<Msg>,
    deferred: Vec<ExecKey>,
}

/// One run as the harness (the client) sees it.
struct RunSlot {
    id: String,
    submitted: bool,
    finished_at: Option<Ms>,
}

/// The checkers, fed as the history happens.
#[derive(Default)]
struct Checks {
    shards: ShardHistory,
    acks: AckLog,
    ledger: CompletionLedger,
    failover: FailoverClock,
}

/// What one seed did.
#[derive(Clone, Debug)]
pub struct SimOutcome {
    /// The seed.
    pub seed: u64,
    /// The hash of every event handled, in order.
    pub trace: Trace,
    /// Counters.
    pub stats: Stats,
    /// The first invariant broken, if any.
    pub violation: Option<Violation>,
}

type Res = Result<(), Violation>;

/// The simulated world.
pub struct Sim {
    scenario: Scenario,
    rng: Rng,
    now: Ms,
    seq: u64,
    queue: BTreeMap<(Ms, u64), Event>,
    faults_on: bool,
    coord: Coord,
    nodes: Vec<SimNode>,
    repos: Vec<RepoName>,
    runs: Vec<RunSlot>,
    runs_done: usize,
    checks: Checks,
    stats: Stats,
    trace: Trace,
    liveness: Liveness,
    log: bool,
}

fn membership_config() -> MembershipConfig {
    MembershipConfig {
        heartbeat_interval: Duration::from_millis(config::HEARTBEAT_MS),
        down_after: Duration::from_millis(config::DOWN_AFTER_MS),
    }
}

/// Run one seed to its end and check every invariant along the way.
pub fn run_seed(seed: u64) -> SimOutcome {
    run_seed_logged(seed, false)
}

/// [`run_seed`], printing every event as it is handled when `log` is set (for replays).
pub fn run_seed_logged(seed: u64, log: bool) -> SimOutcome {
    let mut sim = Sim::new(Scenario::from_seed(seed));
    sim.log = log;
    let violation = sim.run().err();
    sim.stats.violations += u64::from(violation.is_some());
    if violation
        .as_ref()
        .is_some_and(|v| v.invariant == crate::invariants::Invariant::CompletedOnce)
    {
        sim.stats.counted_twice += 1;
    }
    SimOutcome {
        seed,
        trace: sim.trace,
        stats: sim.stats,
        violation,
    }
}

impl Sim {
    fn new(scenario: Scenario) -> Self {
        let repos: Vec<RepoName> = (0..scenario.repos)
            .map(|i| RepoName::new(format!("repo-{i:02}")))
            .collect();
        let nodes = (0..scenario.nodes)
            .map(|i| SimNode {
                name: NodeId::new(format!("node-{i}")),
                capacity: 1 + (crate::rng::mix(scenario.seed ^ i as u64) % 3) as u32,
                crashed: false,
                paused: false,
                partitioned: false,
                incarnation: 0,
                running: BTreeSet::new(),
                done: BTreeMap::new(),
                inbox: Vec::new(),
                deferred: Vec::new(),
            })
            .collect();
        let runs = (0..scenario.runs)
            .map(|i| RunSlot {
                id: format!("run-{i:02}"),
                submitted: false,
                finished_at: None,
            })
            .collect();
        let budget = coordinator::runs::RunBudget::default();
        let liveness = Liveness {
            faults_stop: config::FAULT_WINDOW_MS,
            bound: config::liveness_bound_ms(
                budget.max_attempts_per_task,
                budget.max_verify_rounds,
            ),
        };
        Sim {
            rng: Rng::new(scenario.seed),
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            faults_on: true,
            coord: Coord {
                up: true,
                incarnation: 0,
                membership: Membership::new(membership_config(), repos.clone()),
                machines: BTreeMap::new(),
                policy: FailoverPolicy::new(config::RESULT_TIMEOUT_MS),
                store: BTreeMap::new(),
                epochs: BTreeMap::new(),
            },
            nodes,
            repos,
            runs,
            runs_done: 0,
            checks: Checks {
                failover: FailoverClock::new(config::FAILOVER_BOUND_MS),
                ..Checks::default()
            },
            stats: Stats::default(),
            trace: Trace::default(),
            liveness,
            log: false,
            scenario,
        }
    }

    fn at(&mut self, t: Ms, event: Event) {
        self.seq += 1;
        self.queue.insert((t, self.seq), event);
    }

    fn after(&mut self, delay: Ms, event: Event) {
        self.at(self.now + delay, event);
    }

    fn draw(&mut self, range: (Ms, Ms)) -> Ms {
        self.rng.range(range.0, range.1)
    }

    fn run(&mut self) -> Res {
        self.at(0, Event::Tick);
        for n in 0..self.nodes.len() {
            let t = self.rng.range(0, 50);
            self.at(
                t,
                Event::Deliver {
                    to: Endpoint::Coordinator,
                    msg: Msg::Register(n),
                },
            );
            let phase = self.rng.range(1, config::HEARTBEAT_MS);
            self.at(phase, Event::HeartbeatTimer(n));
        }
        for r in 0..self.runs.len() {
            let t = self.rng.range(100, config::SUBMIT_WINDOW_MS);
            self.at(t, Event::Submit(r));
        }
        for (i, f) in self.scenario.faults.clone().iter().enumerate() {
            self.at(f.start(), Event::FaultStart(i));
            self.at(faults::end(f), Event::FaultEnd(i));
        }
        self.at(config::FAULT_WINDOW_MS, Event::FaultsStop);
        let deadline = self.liveness.faults_stop + self.liveness.bound;
        while let Some(((t, _), event)) = self.queue.pop_first() {
            if t > deadline {
                break;
            }
            self.now = t;
            let line = format!("{t} {event:?}");
            if self.log {
                println!("{line}");
            }
            self.trace.push(&line);
            self.stats.events += 1;
            self.handle(event)?;
            if !self.faults_on && self.runs_done == self.runs.len() {
                break;
            }
        }
        self.finish()
    }

    fn handle(&mut self, event: Event) -> Res {
        match event {
            Event::Deliver { to, msg } => self.deliver(to, msg),
            Event::Tick => {
                self.after(config::TICK_MS, Event::Tick);
                self.coord_tick()
            }
            Event::HeartbeatTimer(n) => {
                self.after(config::HEARTBEAT_MS, Event::HeartbeatTimer(n));
                self.node_heartbeat(n);
                Ok(())
            }
            Event::TaskDone {
                node,
                incarnation,
                key,
            } => {
                self.node_task_done(node, incarnation, key);
                Ok(())
            }
            Event::Submit(r) => self.submit(r),
            Event::PlanDone(r, inc) => self.plan_done(r, inc),
            Event::VerifyDone(r, inc) => self.verify_done(r, inc),
            Event::BundleDone(r, inc) => self.bundle_done(r, inc),
            Event::FaultStart(i) => self.fault_start(i),
            Event::FaultEnd(i) => self.fault_end(i),
            Event::FaultsStop => self.faults_stop(),
        }
    }

    /// Hand a message to the network. Dispatches and results (`faulty`) may be dropped,
    /// duplicated, delayed or reordered while faults are on; a cut link drops everything.
    fn send(&mut self, to: Endpoint, msg: Msg, faulty: bool, node: usize) {
        if self.nodes[node].partitioned {
            return;
        }
        let mut latency = self.draw(config::LATENCY_MS);
        if faulty && self.faults_on {
            if self.rng.chance(config::DROP_PM) {
                self.stats.drops += 1;
                return;
            }
            if self.rng.chance(config::DUPLICATE_PM) {
                self.stats.duplicates += 1;
                let again = self.draw(config::LATENCY_MS);
                let msg = msg.clone();
                self.after(again, Event::Deliver { to, msg });
            }
            if self.rng.chance(config::DELAY_PM) {
                self.stats.delays += 1;
                latency += self.draw(config::DELAY_MS);
            } else if self.rng.chance(config::REORDER_PM) {
                self.stats.reorders += 1;
                latency += self.draw(config::REORDER_MS);
            }
        }
        self.after(latency, Event::Deliver { to, msg });
    }

    fn deliver(&mut self, to: Endpoint, msg: Msg) -> Res {
        match to {
            Endpoint::Coordinator => {
                let from = match &msg {
                    Msg::Heartbeat(n) | Msg::Register(n) => Some(*n),
                    Msg::Result { result, .. } => self.node_index(&result.node),
                    _ => None,
                };
                if from.is_some_and(|n| self.nodes[n].partitioned) || !self.coord.up {
                    return Ok(());
                }
                self.coord_deliver(msg)
            }
            Endpoint::Node(n) => {
                if !self.nodes[n].partitioned {
                    self.node_deliver(n, msg);
                }
                Ok(())
            }
        }
    }

    fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name.as_str() == name)
    }

    /// After the last event: every run must have finished in time.
    fn finish(&mut self) -> Res {
        let last = self.runs.iter().filter_map(|r| r.finished_at).max();
        self.stats.longest_settle_ms = last.unwrap_or(0).saturating_sub(self.liveness.faults_stop);
        self.stats.liveness_bound_ms = self.liveness.bound;
        self.stats.longest_failover_ms = self.checks.failover.longest_ms;
        self.stats.longest_plain_failover_ms = self.checks.failover.longest_plain_ms;
        self.stats.failovers = self.checks.failover.measured;
        for r in &self.runs {
            if r.finished_at.is_none() {
                self.stats.runs_lost += 1;
            }
        }
        for r in &self.runs {
            self.liveness.check(&r.id, r.finished_at)?;
        }
        Ok(())
    }
}
