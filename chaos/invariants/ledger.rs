//! No task attempt counted as completed twice: a duplicated, re-sent or stale result never adds a
//! second result for an attempt the run already counted.

use std::collections::BTreeSet;

use coordinator::runs::RunRecord;

use super::{Invariant, Violation};

/// Every (run, task, attempt) whose result a run has counted.
#[derive(Default, Debug)]
pub struct CompletionLedger {
    counted: BTreeSet<(String, String, u32)>,
}

impl CompletionLedger {
    /// A step turned `before` into `after`; note the results it added. Returns the number added.
    pub fn step(&mut self, before: &RunRecord, after: &RunRecord) -> Result<usize, Violation> {
        let mut added = 0;
        for task in &after.tasks {
            let old = before.task(&task.id).map_or(0, |t| t.results.len());
            for r in task.results.iter().skip(old) {
                added += 1;
                let key = (after.id.clone(), task.id.clone(), r.attempt);
                if !self.counted.insert(key) {
                    return Err(Violation::new(
                        Invariant::CompletedOnce,
                        format!(
                            "{} task {} attempt {} counted a second time (from {} at epoch {})",
                            after.id, task.id, r.attempt, r.node, r.epoch
                        ),
                    ));
                }
            }
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator::runs::{RunBudget, TaskRecord, TaskResult, TaskState};
    use protocol::outcome::{Outcome, TaskRole};

    fn result(attempt: u32) -> TaskResult {
        let mut r = TaskResult::empty(attempt, "n1", 1, 0);
        r.ok = true;
        r
    }

    fn run(attempts: &[u32]) -> RunRecord {
        let outcome = Outcome {
            title: "t".into(),
            description: String::new(),
            changes: Vec::new(),
        };
        let mut r = RunRecord::new("run-0".into(), outcome, RunBudget::default(), 0);
        r.tasks = vec![TaskRecord {
            id: "w".into(),
            repo: "api".into(),
            role: TaskRole::Writer,
            depends_on: Vec::new(),
            instructions: String::new(),
            state: TaskState::Changed,
            attempts: 1,
            findings: Vec::new(),
            results: attempts.iter().map(|a| result(*a)).collect(),
        }];
        r
    }

    /// Apply the steps in order (each a list of result attempts); expect the first broken rule.
    fn check(steps: &[&[u32]], expected: Option<Invariant>) {
        let mut ledger = CompletionLedger::default();
        let mut before = run(&[]);
        let mut got = None;
        for s in steps {
            let after = run(s);
            if let Err(v) = ledger.step(&before, &after) {
                got = Some(v.invariant);
                break;
            }
            before = after;
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn good_and_bad_histories() {
        check(&[&[1], &[1, 2], &[1, 2, 3]], None);
        // A duplicate result appended for attempt 1.
        check(&[&[1], &[1, 1]], Some(Invariant::CompletedOnce));
        check(&[&[1, 2], &[1, 2, 1]], Some(Invariant::CompletedOnce));
    }
}
