//! The run state machine: given a run and an input, change the run and say what to do next.
//!
//! Pure: no IO, no clock (the caller passes `now`). The driver runs the effects and feeds their
//! results back as inputs; the store persists the record after every step.

use actors::outcome::FindingNote;

use super::record::{
    RunEvent, RunFinding, RunRecord, RunStatus, TaskRecord, TaskResult, TaskState,
};

/// Something that happened to a run.
// A task result is the big variant; inputs are moved one at a time per step, never stored in
// bulk, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Start (or resume) the run.
    Start,
    /// The planner produced a plan and its tasks (all `Waiting`).
    Planned {
        /// The plan as JSON.
        plan: serde_json::Value,
        /// Tasks in plan order.
        tasks: Vec<TaskRecord>,
    },
    /// The planner refused the outcome.
    PlanFailed {
        /// Why.
        error: String,
    },
    /// A node reported an attempt of a task.
    TaskFinished {
        /// Task id.
        task_id: String,
        /// The result.
        result: TaskResult,
    },
    /// A verification round finished.
    Verified {
        /// The round's report as JSON.
        report: serde_json::Value,
        /// Its findings; those with severity `error` block delivery.
        findings: Vec<RunFinding>,
    },
    /// The verifier could not run at all (e.g. no node can host it).
    VerifyFailed {
        /// Why.
        error: String,
    },
    /// The bundle was written.
    Bundled {
        /// Where.
        dir: String,
    },
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Ask the planner for a plan.
    Plan,
    /// Send an attempt of a task to the node owning its repo.
    Dispatch {
        /// Task id.
        task_id: String,
        /// Attempt number.
        attempt: u32,
        /// Findings for the agent from the previous round.
        findings: Vec<FindingNote>,
    },
    /// Verify the changed repos across contracts.
    Verify {
        /// Round number, from 1.
        round: u32,
        /// Tasks whose branches are part of the system under test.
        tasks: Vec<String>,
    },
    /// Write the bundle (the run is delivered or failed).
    Bundle,
}

/// The run and the logic that advances it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMachine {
    /// The run.
    pub run: RunRecord,
}

impl RunMachine {
    /// Wrap a run record.
    pub fn new(run: RunRecord) -> Self {
        RunMachine { run }
    }

    /// Apply one input at time `now_unix_ms`; return the effects to run.
    pub fn step(&mut self, input: Input, now_unix_ms: u64) -> Vec<Effect> {
        if self.run.status.is_final() && !matches!(input, Input::Bundled { .. } | Input::Start) {
            // A late result for a finished run changes nothing; it is only noted.
            self.event(
                now_unix_ms,
                "late",
                "input after the run finished was ignored",
            );
            return Vec::new();
        }
        match input {
            Input::Start => self.start(now_unix_ms),
            Input::Planned { plan, tasks } => {
                self.run.plan = Some(plan);
                self.run.tasks = tasks;
                self.run.status = RunStatus::Planned;
                let n = self.run.tasks.len();
                self.event(now_unix_ms, "run.planned", &format!("plan with {n} tasks"));
                if n == 0 {
                    return self.fail(now_unix_ms, "the plan has no tasks".into());
                }
                self.run.status = RunStatus::Changing;
                self.dispatch_ready(now_unix_ms)
            }
            Input::PlanFailed { error } => {
                self.fail(now_unix_ms, format!("planning failed: {error}"))
            }
            Input::TaskFinished { task_id, result } => {
                self.task_finished(now_unix_ms, &task_id, result)
            }
            Input::Verified { report, findings } => self.verified(now_unix_ms, report, findings),
            Input::VerifyFailed { error } => {
                self.fail(now_unix_ms, format!("verification could not run: {error}"))
            }
            Input::Bundled { dir } => {
                self.run.bundle_dir = Some(dir.clone());
                if self.run.status != RunStatus::Failed {
                    self.run.status = RunStatus::Delivered;
                }
                self.run.finished_unix_ms.get_or_insert(now_unix_ms);
                self.event(
                    now_unix_ms,
                    "run.bundled",
                    &format!("bundle written to {dir}"),
                );
                Vec::new()
            }
        }
    }

    /// The effects that resume a run from its record, after a restart.
    fn start(&mut self, now: u64) -> Vec<Effect> {
        match self.run.status {
            RunStatus::Submitted => vec![Effect::Plan],
            RunStatus::Planned => {
                self.run.status = RunStatus::Changing;
                self.dispatch_ready(now)
            }
            RunStatus::Changing | RunStatus::Verifying => {
                // Re-send what was in flight; nodes dedupe by task id, attempt and epoch.
                let mut effects: Vec<Effect> = self
                    .run
                    .tasks
                    .iter()
                    .filter_map(|t| match t.state {
                        TaskState::Running { attempt } => Some(Effect::Dispatch {
                            task_id: t.id.clone(),
                            attempt,
                            findings: t.findings.clone(),
                        }),
                        _ => None,
                    })
                    .collect();
                if effects.is_empty() && self.run.status == RunStatus::Verifying {
                    // A round or the bundle was in flight; ask for it again rather than opening
                    // a new round, which would spend verification budget on every restart.
                    effects = self.resume_verifying();
                } else if effects.is_empty() {
                    effects = self.after_changes(now);
                }
                effects
            }
            RunStatus::Delivered | RunStatus::Failed if self.run.bundle_dir.is_none() => {
                vec![Effect::Bundle]
            }
            RunStatus::Delivered | RunStatus::Failed => Vec::new(),
        }
    }

    /// What a run found `Verifying` was waiting for: the bundle once every task is verified
    /// (the final round passed), otherwise the current round.
    fn resume_verifying(&self) -> Vec<Effect> {
        if self
            .run
            .tasks
            .iter()
            .all(|t| t.state == TaskState::Verified)
        {
            return vec![Effect::Bundle];
        }
        let tasks = self
            .run
            .tasks
            .iter()
            .filter(|t| matches!(t.state, TaskState::Changed | TaskState::Verified))
            .map(|t| t.id.clone())
            .collect();
        vec![Effect::Verify {
            round: self.run.verify_rounds,
            tasks,
        }]
    }

    fn task_finished(&mut self, now: u64, task_id: &str, result: TaskResult) -> Vec<Effect> {
        let max_attempts = self.run.budget.max_attempts_per_task;
        // Re-placements happened while the attempt ran; they are history whatever the result.
        for m in &result.moves {
            let message = format!(
                "{task_id} attempt {} moved from {}@{} to {}@{}: {}",
                result.attempt, m.from, m.from_epoch, m.to, m.epoch, m.reason
            );
            self.event(m.at_unix_ms.max(1), "task.moved", &message);
        }
        let Some(task) = self.run.tasks.iter_mut().find(|t| t.id == task_id) else {
            self.event(
                now,
                "task.unknown",
                &format!("result for unknown task {task_id} ignored"),
            );
            return Vec::new();
        };
        match task.state {
            TaskState::Running { attempt } if attempt == result.attempt => {}
            _ => {
                // A duplicate or stale result: the attempt it answers is no longer running.
                let msg = format!(
                    "stale result for {task_id} attempt {} ignored",
                    result.attempt
                );
                self.event(now, "task.stale", &msg);
                return Vec::new();
            }
        }
        self.run.cost_usd += result.cost_usd;
        let ok = result.ok;
        let error = result.error.clone().unwrap_or_else(|| "task failed".into());
        let attempt = result.attempt;
        task.results.push(result);
        if ok {
            task.state = TaskState::Changed;
            task.findings.clear();
        } else if attempt < max_attempts {
            task.attempts = attempt + 1;
            task.state = TaskState::Running {
                attempt: attempt + 1,
            };
            task.findings = vec![FindingNote {
                rule: "TASK/attempt-failed".into(),
                message: error.clone(),
                fix_repo: Some(task.repo.clone()),
                fix: None,
            }];
            let effect = Effect::Dispatch {
                task_id: task.id.clone(),
                attempt: attempt + 1,
                findings: task.findings.clone(),
            };
            self.event(
                now,
                "task.retry",
                &format!("{task_id} attempt {attempt} failed: {error}"),
            );
            return self.within_cost(now, vec![effect]);
        } else {
            task.state = TaskState::Failed {
                reason: error.clone(),
            };
            return self.fail(
                now,
                format!("task {task_id} failed after {attempt} attempts: {error}"),
            );
        }
        self.event(
            now,
            "task.changed",
            &format!("{task_id} attempt {attempt} changed its repo"),
        );
        let effects = self.after_changes(now);
        self.within_cost(now, effects)
    }

    /// Once nothing runs, verify what changed.
    fn after_changes(&mut self, now: u64) -> Vec<Effect> {
        if self
            .run
            .tasks
            .iter()
            .any(|t| matches!(t.state, TaskState::Running { .. }))
        {
            return Vec::new();
        }
        let changed: Vec<String> = self
            .run
            .tasks
            .iter()
            .filter(|t| matches!(t.state, TaskState::Changed | TaskState::Verified))
            .map(|t| t.id.clone())
            .collect();
        if self.run.verify_rounds >= self.run.budget.max_verify_rounds {
            let max = self.run.budget.max_verify_rounds;
            return self.fail(now, format!("verification budget of {max} rounds used up"));
        }
        self.run.verify_rounds += 1;
        self.run.status = RunStatus::Verifying;
        let round = self.run.verify_rounds;
        self.event(
            now,
            "verify.started",
            &format!("round {round} over {}", changed.join(", ")),
        );
        vec![Effect::Verify {
            round,
            tasks: changed,
        }]
    }

    fn verified(
        &mut self,
        now: u64,
        report: serde_json::Value,
        findings: Vec<RunFinding>,
    ) -> Vec<Effect> {
        let round = self.run.verify_rounds;
        self.run.verifications.push(report);
        let blocking: Vec<RunFinding> = findings
            .iter()
            .filter(|f| f.severity == "error")
            .cloned()
            .collect();
        self.run.findings.extend(findings);
        if blocking.is_empty() {
            for t in &mut self.run.tasks {
                if t.state == TaskState::Changed {
                    t.state = TaskState::Verified;
                }
            }
            self.event(now, "verify.passed", &format!("round {round} passed"));
            self.run.status = RunStatus::Changing;
            let effects = self.dispatch_ready(now);
            if !effects.is_empty() {
                return effects;
            }
            if self
                .run
                .tasks
                .iter()
                .all(|t| t.state == TaskState::Verified)
            {
                self.event(now, "run.verified", "every task is verified");
                self.run.status = RunStatus::Verifying;
                return vec![Effect::Bundle];
            }
            return self.fail(
                now,
                "no task can start: the plan's dependencies cannot be met".into(),
            );
        }
        self.event(
            now,
            "verify.failed",
            &format!("round {round}: {} blocking findings", blocking.len()),
        );
        let max_attempts = self.run.budget.max_attempts_per_task;
        let mut effects = Vec::new();
        for f in &blocking {
            let Some(repo) = f.note.fix_repo.clone() else {
                return self.fail(
                    now,
                    format!("blocking finding with no repo to fix: {}", f.note.message),
                );
            };
            let Some(task) = self.run.tasks.iter_mut().find(|t| {
                t.repo == repo
                    && matches!(
                        t.state,
                        TaskState::Changed | TaskState::Verified | TaskState::Running { .. }
                    )
            }) else {
                return self.fail(
                    now,
                    format!(
                        "finding for {repo}, which has no changed task: {}",
                        f.note.message
                    ),
                );
            };
            if matches!(task.state, TaskState::Running { .. }) {
                // Several findings for one repo: they go out together in one attempt.
                task.findings.push(f.note.clone());
                continue;
            }
            if task.attempts >= max_attempts {
                let id = task.id.clone();
                return self.fail(
                    now,
                    format!(
                        "task {id} used its {max_attempts} attempts; still: {}",
                        f.note.message
                    ),
                );
            }
            task.attempts += 1;
            task.state = TaskState::Running {
                attempt: task.attempts,
            };
            task.findings = vec![f.note.clone()];
        }
        for t in &self.run.tasks {
            if let TaskState::Running { attempt } = t.state {
                effects.push(Effect::Dispatch {
                    task_id: t.id.clone(),
                    attempt,
                    findings: t.findings.clone(),
                });
            }
        }
        self.run.status = RunStatus::Changing;
        effects
    }

    /// Dispatch every waiting task whose dependencies are all verified.
    fn dispatch_ready(&mut self, now: u64) -> Vec<Effect> {
        let verified: Vec<String> = self
            .run
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Verified)
            .map(|t| t.id.clone())
            .collect();
        let mut effects = Vec::new();
        for t in &mut self.run.tasks {
            if t.state == TaskState::Waiting && t.depends_on.iter().all(|d| verified.contains(d)) {
                t.attempts = 1;
                t.state = TaskState::Running { attempt: 1 };
                effects.push(Effect::Dispatch {
                    task_id: t.id.clone(),
                    attempt: 1,
                    findings: Vec::new(),
                });
            }
        }
        for e in &effects {
            if let Effect::Dispatch { task_id, .. } = e {
                self.event(now, "task.dispatched", &format!("{task_id} attempt 1"));
            }
        }
        effects
    }

    fn within_cost(&mut self, now: u64, effects: Vec<Effect>) -> Vec<Effect> {
        if self.run.cost_usd > self.run.budget.max_cost_usd {
            let (cost, max) = (self.run.cost_usd, self.run.budget.max_cost_usd);
            return self.fail(
                now,
                format!("run over its cost budget: {cost:.4} USD spent, {max:.4} USD allowed"),
            );
        }
        effects
    }

    fn fail(&mut self, now: u64, error: String) -> Vec<Effect> {
        self.event(now, "run.failed", &error);
        self.run.error = Some(error);
        self.run.status = RunStatus::Failed;
        self.run.finished_unix_ms = Some(now);
        vec![Effect::Bundle]
    }

    fn event(&mut self, now: u64, kind: &str, message: &str) {
        self.run.events.push(RunEvent {
            at_unix_ms: now,
            kind: kind.into(),
            message: message.into(),
        });
    }
}

#[cfg(test)]
mod tests;
