//! A simulated node: heartbeats, runs attempts, and dedupes repeats by (run, task, attempt,
//! epoch) — a repeat of a finished attempt gets the kept result again, a repeat of a running one
//! is ignored. It trusts the epoch it was sent; the coordinator's fence is what keeps it honest.

use coordinator::runs::TaskResult;

use super::{Endpoint, Event, ExecKey, Msg, Sim};
use crate::config;
use crate::rng::{hash_str, mix};

impl Sim {
    pub(super) fn node_deliver(&mut self, n: usize, msg: Msg) {
        let node = &mut self.nodes[n];
        if node.crashed {
            return;
        }
        if node.paused {
            node.inbox.push(msg);
            return;
        }
        self.node_handle(n, msg);
    }

    pub(super) fn node_handle(&mut self, n: usize, msg: Msg) {
        match msg {
            Msg::Dispatch {
                run,
                task,
                attempt,
                epoch,
            } => {
                let key = (run, task, attempt, epoch);
                if let Some(result) = self.nodes[n].done.get(&key).cloned() {
                    self.send_result(n, &key, result);
                } else if self.nodes[n].running.insert(key.clone()) {
                    let incarnation = self.nodes[n].incarnation;
                    let d = self.draw(config::EXEC_MS);
                    self.after(
                        d,
                        Event::TaskDone {
                            node: n,
                            incarnation,
                            key,
                        },
                    );
                }
            }
            Msg::HeartbeatReply { registered: false } => {
                self.send(Endpoint::Coordinator, Msg::Register(n), false, n);
            }
            Msg::HeartbeatReply { registered: true }
            | Msg::Result { .. }
            | Msg::Heartbeat(_)
            | Msg::Register(_) => {}
        }
    }

    pub(super) fn node_heartbeat(&mut self, n: usize) {
        let node = &self.nodes[n];
        if !node.crashed && !node.paused {
            self.send(Endpoint::Coordinator, Msg::Heartbeat(n), false, n);
        }
    }

    pub(super) fn node_task_done(&mut self, n: usize, incarnation: u64, key: ExecKey) {
        let node = &mut self.nodes[n];
        if node.crashed || node.incarnation != incarnation {
            return;
        }
        if node.paused {
            node.deferred.push(key);
            return;
        }
        self.node_finish(n, key);
    }

    /// The attempt ends. Whether it succeeds depends only on (run, task, attempt), so running
    /// it again elsewhere agrees.
    pub(super) fn node_finish(&mut self, n: usize, key: ExecKey) {
        self.nodes[n].running.remove(&key);
        let (run, task, attempt, epoch) = &key;
        let draw =
            mix(self.scenario.seed ^ hash_str(run) ^ mix(hash_str(task) ^ u64::from(*attempt)));
        let ok = draw % 1000 >= config::TASK_FAIL_PM;
        let result = TaskResult {
            attempt: *attempt,
            node: self.nodes[n].name.as_str().to_owned(),
            epoch: epoch.0,
            ok,
            error: (!ok).then(|| "agent exited with code 3".to_owned()),
            branch: Some(format!("factory/{run}/{task}")),
            head: None,
            base: None,
            diff: String::new(),
            summary: String::new(),
            cost_usd: 0.01,
            agent_ms: 0,
            checks_ms: 0,
            wall_ms: 0,
            started_unix_ms: 0,
            finished_unix_ms: self.now,
            checks: serde_json::Value::Null,
            moves: Vec::new(),
        };
        let counter = self
            .stats
            .executions_of
            .entry((run.clone(), task.clone(), *attempt))
            .or_insert(0);
        *counter += 1;
        self.stats.executions += 1;
        if *counter > 1 {
            self.stats.duplicate_executions += 1;
        }
        self.nodes[n].done.insert(key.clone(), result.clone());
        self.send_result(n, &key, result);
    }

    fn send_result(&mut self, n: usize, key: &ExecKey, result: TaskResult) {
        let msg = Msg::Result {
            run: key.0.clone(),
            task: key.1.clone(),
            result: Box::new(result),
        };
        self.send(Endpoint::Coordinator, msg, true, n);
    }
}
