//! The planner, verifier and bundler as the simulated coordinator sees them: local calls that
//! take some virtual time and whose answers are lost if the coordinator restarts meanwhile.

use coordinator::runs::{Input, RunFinding, TaskRecord, TaskState};
use protocol::outcome::{FindingNote, TaskRole};

use super::{Res, Sim};
use crate::config;

impl Sim {
    fn current(&self, inc: u64) -> bool {
        self.coord.up && self.coord.incarnation == inc
    }

    /// The plan the planner makes: a writer, then one to three readers that wait for it.
    pub(super) fn plan_done(&mut self, idx: usize, inc: u64) -> Res {
        if !self.current(inc) {
            return Ok(());
        }
        if self.rng.chance(config::PLAN_FAIL_PM) {
            let error = "the outcome names no contract".to_owned();
            return self.step_run(idx, Input::PlanFailed { error });
        }
        let readers = self.rng.range(1, 3) as usize;
        let mut repos: Vec<usize> = Vec::new();
        while repos.len() < readers + 1 {
            let r = self.rng.index(self.repos.len());
            if !repos.contains(&r) {
                repos.push(r);
            }
        }
        let tasks = repos
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (id, role, deps) = if i == 0 {
                    ("write".to_owned(), TaskRole::Writer, Vec::new())
                } else {
                    (
                        format!("read-{i}"),
                        TaskRole::Reader,
                        vec!["write".to_owned()],
                    )
                };
                TaskRecord {
                    id,
                    repo: self.repos[*r].as_str().to_owned(),
                    role,
                    depends_on: deps,
                    instructions: String::new(),
                    state: TaskState::Waiting,
                    attempts: 0,
                    findings: Vec::new(),
                    results: Vec::new(),
                }
            })
            .collect();
        let plan = serde_json::json!({ "waves": 2 });
        self.step_run(idx, Input::Planned { plan, tasks })
    }

    /// A verification round: passes, or blocks on one of the tasks that just changed.
    pub(super) fn verify_done(&mut self, idx: usize, inc: u64) -> Res {
        if !self.current(inc) {
            return Ok(());
        }
        let Some(machine) = self.coord.machines.get(&idx) else {
            return Ok(());
        };
        let round = machine.run.verify_rounds;
        let changed: Vec<String> = machine
            .run
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Changed)
            .map(|t| t.repo.clone())
            .collect();
        let mut findings = Vec::new();
        if !changed.is_empty() && self.rng.chance(config::FINDING_PM) {
            let repo = changed[self.rng.index(changed.len())].clone();
            findings.push(RunFinding {
                round,
                caught_by: "static".into(),
                severity: "error".into(),
                note: FindingNote {
                    rule: "NAMING/casing-mismatch".into(),
                    message: format!("{repo} reads createdAt, the writer has created_at"),
                    fix_repo: Some(repo),
                    fix: None,
                },
            });
        }
        let report = serde_json::json!({ "round": round });
        self.step_run(idx, Input::Verified { report, findings })
    }

    /// The bundle is written.
    pub(super) fn bundle_done(&mut self, idx: usize, inc: u64) -> Res {
        if !self.current(inc) {
            return Ok(());
        }
        let dir = format!("bundles/{}", self.runs[idx].id);
        self.step_run(idx, Input::Bundled { dir })
    }
}
