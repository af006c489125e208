//! The simulated coordinator: the real `Membership` and `RunMachine`s, driven the way
//! `coordinator::driver` and `coordinator::service` drive them (persist after every step, save
//! epochs after every batch of moves), plus the [`FailoverPolicy`] the driver lacks.

use coordinator::ids::{Epoch, NodeId, RepoName};
use coordinator::membership::{
    Effect as Membership, Membership as MembershipMachine, Registration,
};
use coordinator::runs::{Effect, Input, RunBudget, RunMachine, RunRecord, TaskState};
use coordinator::shards::Move;
use protocol::outcome::Outcome;

use super::{Endpoint, Event, Msg, Res, Sim, membership_config};
use crate::config::{self, Ms};
use crate::failover::{AttemptKey, FailoverPolicy, Send};

impl Sim {
    pub(super) fn coord_deliver(&mut self, msg: Msg) -> Res {
        match msg {
            Msg::Heartbeat(n) => {
                let name = self.nodes[n].name.clone();
                let registered = self.coord.membership.heartbeat(self.ms(), &name).is_ok();
                self.send(
                    Endpoint::Node(n),
                    Msg::HeartbeatReply { registered },
                    false,
                    n,
                );
                Ok(())
            }
            Msg::Register(n) => {
                let registration = Registration {
                    name: self.nodes[n].name.clone(),
                    capacity: self.nodes[n].capacity,
                    agents: vec!["sim".into()],
                    labels: Default::default(),
                    addr: String::new(),
                };
                let name = registration.name.clone();
                // Capacity is never 0 here, the only refusal.
                let effects = self
                    .coord
                    .membership
                    .register(self.ms(), registration)
                    .unwrap_or_default();
                self.apply_membership(effects)?;
                let sends = self.coord.policy.registered(&name, self.now);
                self.send_all(sends)
            }
            Msg::Result { run, task, result } => self.coord_result(&run, &task, *result),
            Msg::Dispatch { .. } | Msg::HeartbeatReply { .. } => Ok(()),
        }
    }

    pub(super) fn coord_tick(&mut self) -> Res {
        if !self.coord.up {
            return Ok(());
        }
        let effects = self.coord.membership.tick(self.ms());
        self.apply_membership(effects)?;
        let sends = self
            .coord
            .policy
            .tick(self.coord.membership.shard_map(), self.now);
        self.stats.resends += sends.len() as u64;
        self.send_all(sends)
    }

    fn ms(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.now)
    }

    /// Membership's effects: save epochs after moves (durably, before anyone hears of them),
    /// then let the failover policy follow the moves.
    fn apply_membership(&mut self, effects: Vec<Membership>) -> Res {
        let moves: Vec<Move> = effects
            .into_iter()
            .filter_map(|e| match e {
                Membership::Moved(m) => Some(m),
                Membership::NodeUp(_) | Membership::NodeDown(_) => None,
            })
            .collect();
        if moves.is_empty() {
            return Ok(());
        }
        for s in self.coord.membership.shards() {
            self.coord.epochs.insert(s.repo, s.epoch);
        }
        self.checks
            .shards
            .observe(&self.coord.membership.shards())?;
        for m in moves.iter().filter(|m| m.to.is_none()) {
            // No live node to fail over to: the failover bound does not apply.
            let keys: Vec<AttemptKey> = self.keys_on(&m.repo);
            keys.iter().for_each(|k| self.checks.failover.cancel(k));
        }
        let sends = self.coord.policy.moved(&moves, self.now);
        self.send_all(sends)
    }

    fn keys_on(&self, repo: &RepoName) -> Vec<AttemptKey> {
        let inflight = self.coord.policy.inflight();
        inflight
            .iter()
            .filter(|(_, f)| &f.repo == repo)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn send_all(&mut self, sends: Vec<Send>) -> Res {
        for s in sends {
            let key = (s.run.clone(), s.task.clone());
            let (scenario, now) = (&self.scenario, self.now);
            let bound = |lost_at: Ms| {
                let (down, any) = scenario.coordinator_down_within(lost_at, now);
                let extra = if any {
                    down + config::RESTART_FAILOVER_EXTRA_MS
                } else {
                    0
                };
                config::FAILOVER_BOUND_MS + extra
            };
            self.checks
                .failover
                .sent(&key, s.node.as_str(), self.now, bound)?;
            self.stats.dispatches += 1;
            let Some(n) = self.node_index(s.node.as_str()) else {
                continue;
            };
            let msg = Msg::Dispatch {
                run: s.run,
                task: s.task,
                attempt: s.attempt,
                epoch: s.epoch,
            };
            self.send(Endpoint::Node(n), msg, true, n);
        }
        Ok(())
    }

    fn coord_result(
        &mut self,
        run: &str,
        task: &str,
        result: coordinator::runs::TaskResult,
    ) -> Res {
        let Some(idx) = self.run_index(run) else {
            return Ok(());
        };
        let Some(machine) = self.coord.machines.get(&idx) else {
            return Ok(());
        };
        let Some(repo) = machine
            .run
            .task(task)
            .map(|t| RepoName::new(t.repo.clone()))
        else {
            return Ok(());
        };
        let shards = self.coord.membership.shard_map();
        if FailoverPolicy::admit(&repo, &result, shards).is_err() {
            self.stats.fenced += 1;
            return Ok(());
        }
        let node = NodeId::new(result.node.clone());
        self.checks
            .shards
            .admitted(&repo, Epoch(result.epoch), &node)?;
        let input = Input::TaskFinished {
            task_id: task.to_owned(),
            result,
        };
        self.step_run(idx, input)
    }

    pub(super) fn run_index(&self, id: &str) -> Option<usize> {
        self.runs.iter().position(|r| r.id == id)
    }

    /// One step of a run machine, persisted before its effects run, exactly as the driver does.
    pub(super) fn step_run(&mut self, idx: usize, input: Input) -> Res {
        let Some(machine) = self.coord.machines.get_mut(&idx) else {
            return Ok(());
        };
        let before = matches!(input, Input::TaskFinished { .. }).then(|| machine.run.clone());
        let effects = machine.step(input, self.now);
        let after = machine.run.clone();
        self.coord.store.insert(idx, after.clone());
        self.checks.acks.persisted(&after)?;
        if let Some(before) = before
            && self.checks.ledger.step(&before, &after)? == 0
        {
            self.stats.stale_ignored += 1;
        }
        self.settle(&after);
        self.run_effects(idx, &after, effects)?;
        if after.status.is_final()
            && after.bundle_dir.is_some()
            && self.runs[idx].finished_at.is_none()
        {
            self.runs[idx].finished_at = Some(self.now);
            self.runs_done += 1;
            self.stats.finished(&after);
        }
        Ok(())
    }

    /// Forget attempts the machine no longer runs.
    fn settle(&mut self, run: &RunRecord) {
        let keys: Vec<AttemptKey> = self
            .coord
            .policy
            .inflight()
            .iter()
            .filter(|((r, t), f)| {
                *r == run.id
                    && (run.status.is_final()
                        || run
                            .task(t)
                            .is_none_or(|t| t.state != TaskState::Running { attempt: f.attempt }))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.coord.policy.settle(&k);
            self.checks.failover.cancel(&k);
        }
    }

    fn run_effects(&mut self, idx: usize, run: &RunRecord, effects: Vec<Effect>) -> Res {
        let inc = self.coord.incarnation;
        for effect in effects {
            match effect {
                Effect::Plan => {
                    let d = self.draw(config::PLAN_MS);
                    self.after(d, Event::PlanDone(idx, inc));
                }
                Effect::Dispatch {
                    task_id, attempt, ..
                } => {
                    let Some(task) = run.task(&task_id) else {
                        continue;
                    };
                    let repo = RepoName::new(task.repo.clone());
                    let key = (run.id.clone(), task_id);
                    let shards = self.coord.membership.shard_map();
                    let send = self
                        .coord
                        .policy
                        .dispatch(key, repo, attempt, shards, self.now);
                    self.send_all(send.into_iter().collect())?;
                }
                Effect::Verify { .. } => {
                    let d = self.draw(config::VERIFY_MS);
                    self.after(d, Event::VerifyDone(idx, inc));
                }
                Effect::Bundle => self.after(config::BUNDLE_MS, Event::BundleDone(idx, inc)),
            }
        }
        Ok(())
    }

    pub(super) fn submit(&mut self, idx: usize) -> Res {
        if !self.coord.up {
            // The client retries until the coordinator answers.
            self.after(200, Event::Submit(idx));
            return Ok(());
        }
        if self.runs[idx].submitted {
            return Ok(());
        }
        self.runs[idx].submitted = true;
        self.stats.runs_submitted += 1;
        let outcome = Outcome {
            title: format!("outcome {idx}"),
            description: String::new(),
            changes: Vec::new(),
        };
        let record = RunRecord::new(
            self.runs[idx].id.clone(),
            outcome,
            RunBudget::default(),
            self.now,
        );
        self.coord.store.insert(idx, record.clone());
        self.checks.acks.persisted(&record)?;
        self.coord.machines.insert(idx, RunMachine::new(record));
        self.step_run(idx, Input::Start)
    }

    /// The process dies: everything but the store and the epochs file is gone.
    pub(super) fn coord_crash(&mut self) {
        self.coord.up = false;
        self.coord.incarnation += 1;
        self.coord.machines.clear();
        self.coord.policy = FailoverPolicy::new(config::RESULT_TIMEOUT_MS);
        self.coord.membership = MembershipMachine::new(membership_config(), self.repos.clone());
    }

    /// The process starts again: epochs restored before any node registers, every run rebuilt
    /// from its stored record and resumed with `Input::Start`.
    pub(super) fn coord_restart(&mut self) -> Res {
        if self.coord.up {
            return Ok(());
        }
        let mut membership = MembershipMachine::new(membership_config(), self.repos.clone());
        for (repo, epoch) in &self.coord.epochs {
            membership.shard_map_mut().restore_epoch(repo, *epoch);
        }
        self.coord.membership = membership;
        self.checks
            .shards
            .observe(&self.coord.membership.shards())?;
        self.coord.up = true;
        let stored: Vec<(usize, RunRecord)> = self
            .coord
            .store
            .iter()
            .map(|(i, r)| (*i, r.clone()))
            .collect();
        for (idx, record) in &stored {
            self.checks.acks.restored(record)?;
            self.coord
                .machines
                .insert(*idx, RunMachine::new(record.clone()));
        }
        for (idx, before) in stored {
            self.step_run(idx, Input::Start)?;
            if let Some(after) = self.coord.store.get(&idx) {
                self.checks.acks.resumed(&before, after)?;
            }
        }
        Ok(())
    }
}
