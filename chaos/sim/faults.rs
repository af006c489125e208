//! Applying the scheduled faults, and healing everything when the fault window closes.
//!
//! Overlapping faults of one kind on one node merge: a node resumes (or heals, or restarts) only
//! when no window of that kind still covers the current time.

use super::{Endpoint, Msg, Res, Sim};
use crate::config::{Fault, Ms};

/// When a fault's window closes.
pub fn end(f: &Fault) -> Ms {
    match *f {
        Fault::Crash { until, .. }
        | Fault::Pause { until, .. }
        | Fault::Partition { until, .. }
        | Fault::CoordinatorRestart { until, .. } => until,
    }
}

impl Sim {
    pub(super) fn fault_start(&mut self, i: usize) -> Res {
        if !self.faults_on {
            return Ok(());
        }
        match self.scenario.faults[i].clone() {
            Fault::Crash { node, .. } if !self.nodes[node].crashed => {
                self.stats.crashes += 1;
                self.lost(node);
                let n = &mut self.nodes[node];
                n.crashed = true;
                n.paused = false;
                n.incarnation += 1;
                n.running.clear();
                n.done.clear();
                n.inbox.clear();
                n.deferred.clear();
            }
            Fault::Pause { node, .. } if !self.nodes[node].crashed && !self.nodes[node].paused => {
                self.stats.pauses += 1;
                self.lost(node);
                self.nodes[node].paused = true;
            }
            Fault::Partition { node, .. } if !self.nodes[node].partitioned => {
                self.stats.partitions += 1;
                self.lost(node);
                self.nodes[node].partitioned = true;
            }
            Fault::CoordinatorRestart { .. } if self.coord.up => {
                self.stats.coordinator_restarts += 1;
                self.coord_crash();
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn fault_end(&mut self, i: usize) -> Res {
        let f = self.scenario.faults[i].clone();
        let covered = |kind: fn(&Fault) -> Option<usize>| {
            self.scenario.faults.iter().any(|g| {
                kind(g).is_some()
                    && kind(g) == kind(&f)
                    && g.start() <= self.now
                    && end(g) > self.now
            })
        };
        match f {
            Fault::Crash { node, .. } if !covered(crash_of) => self.node_restart(node),
            Fault::Pause { node, .. } if !covered(pause_of) => self.node_resume(node),
            Fault::Partition { node, .. } if !covered(partition_of) => self.node_heal(node),
            Fault::CoordinatorRestart { .. } if !covered(restart_of) => {
                return self.coord_restart();
            }
            _ => {}
        }
        Ok(())
    }

    /// The fault window closes: every node and the coordinator come back, message faults stop.
    pub(super) fn faults_stop(&mut self) -> Res {
        self.faults_on = false;
        for n in 0..self.nodes.len() {
            self.node_restart(n);
            self.node_resume(n);
            self.node_heal(n);
        }
        self.coord_restart()
    }

    /// Start timing the failover of everything the coordinator has running on `node`; stop
    /// timing losses that no longer have another healthy node to go to.
    fn lost(&mut self, node: usize) {
        let healthy: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| *i != node && !n.crashed && !n.paused && !n.partitioned)
            .map(|(_, n)| n.name.as_str().to_owned())
            .collect();
        self.checks.failover.healthy(&healthy);
        if !self.coord.up || healthy.is_empty() {
            return;
        }
        let name = self.nodes[node].name.as_str().to_owned();
        let now = self.now;
        for (key, f) in self.coord.policy.inflight() {
            if f.target.as_ref().is_some_and(|(n, _)| n.as_str() == name) {
                self.checks.failover.lost(key.clone(), &name, now);
            }
        }
    }

    fn node_restart(&mut self, node: usize) {
        if !self.nodes[node].crashed {
            return;
        }
        self.nodes[node].crashed = false;
        self.recovered(node);
        self.send(Endpoint::Coordinator, Msg::Register(node), false, node);
    }

    fn node_resume(&mut self, node: usize) {
        if !self.nodes[node].paused {
            return;
        }
        self.nodes[node].paused = false;
        self.recovered(node);
        // SIGCONT: the socket buffer and the finished work all come out at once, late.
        let inbox = std::mem::take(&mut self.nodes[node].inbox);
        for msg in inbox {
            self.node_handle(node, msg);
        }
        let deferred = std::mem::take(&mut self.nodes[node].deferred);
        for key in deferred {
            self.node_finish(node, key);
        }
    }

    fn node_heal(&mut self, node: usize) {
        if self.nodes[node].partitioned {
            self.nodes[node].partitioned = false;
            self.recovered(node);
        }
    }

    fn recovered(&mut self, node: usize) {
        let name = self.nodes[node].name.as_str().to_owned();
        self.checks.failover.recovered(&name);
    }
}

fn crash_of(f: &Fault) -> Option<usize> {
    match f {
        Fault::Crash { node, .. } => Some(*node),
        _ => None,
    }
}

fn pause_of(f: &Fault) -> Option<usize> {
    match f {
        Fault::Pause { node, .. } => Some(*node),
        _ => None,
    }
}

fn partition_of(f: &Fault) -> Option<usize> {
    match f {
        Fault::Partition { node, .. } => Some(*node),
        _ => None,
    }
}

fn restart_of(f: &Fault) -> Option<usize> {
    match f {
        Fault::CoordinatorRestart { .. } => Some(usize::MAX),
        _ => None,
    }
}
