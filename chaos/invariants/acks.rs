//! No acknowledged step lost: every write of a run record extends the previous one, and a
//! restarted coordinator resumes each run from exactly the record last written.

use std::collections::BTreeMap;

use coordinator::runs::{RunRecord, TaskState};

use super::{Invariant, Violation};

/// The last record written for each run: what the store acknowledged.
#[derive(Default, Debug)]
pub struct AckLog {
    last: BTreeMap<String, RunRecord>,
}

impl AckLog {
    /// A record was written. It must keep everything the previous write recorded: its events
    /// and each task's results are append-only, and a final run stays final.
    pub fn persisted(&mut self, run: &RunRecord) -> Result<(), Violation> {
        if let Some(prev) = self.last.get(&run.id) {
            extends(prev, run)?;
        }
        self.last.insert(run.id.clone(), run.clone());
        Ok(())
    }

    /// The coordinator restarted and rebuilt this run from its store, before any new step.
    pub fn restored(&self, run: &RunRecord) -> Result<(), Violation> {
        match self.last.get(&run.id) {
            Some(prev) if prev == run => Ok(()),
            Some(prev) => Err(Violation::new(
                Invariant::NoAckedStepLost,
                format!(
                    "{} restored with {} events and status {:?}; {} events and {:?} were acknowledged",
                    run.id,
                    run.events.len(),
                    run.status,
                    prev.events.len(),
                    prev.status
                ),
            )),
            None => Ok(()),
        }
    }

    /// A restarted run took its `Input::Start` step from `before` to `after`. Resuming re-sends
    /// what was in flight; it must not spend budget the acknowledged record already spent:
    /// neither a verification round nor a task attempt.
    pub fn resumed(&self, before: &RunRecord, after: &RunRecord) -> Result<(), Violation> {
        let spent = |r: &RunRecord| {
            let attempts: u32 = r
                .tasks
                .iter()
                .filter(|t| t.state != TaskState::Waiting)
                .map(|t| t.attempts)
                .sum();
            (r.verify_rounds, attempts)
        };
        if spent(after) != spent(before) && !after.status.is_final() {
            return Err(Violation::new(
                Invariant::NoAckedStepLost,
                format!(
                    "{} resumed from {:?} (round {}, last event {:?}) and spent budget again: \
                     (rounds, attempts) went from {:?} to {:?}",
                    after.id,
                    before.status,
                    before.verify_rounds,
                    before.events.last().map(|e| e.kind.as_str()),
                    spent(before),
                    spent(after)
                ),
            ));
        }
        Ok(())
    }
}

fn extends(prev: &RunRecord, next: &RunRecord) -> Result<(), Violation> {
    let lost = |what: String| {
        Err(Violation::new(
            Invariant::NoAckedStepLost,
            format!("{}: {what}", next.id),
        ))
    };
    if !next.events.starts_with(&prev.events) {
        return lost(format!(
            "events went from {} to {} without keeping the old ones",
            prev.events.len(),
            next.events.len()
        ));
    }
    if prev.status.is_final() && next.status != prev.status {
        return lost(format!(
            "final status {:?} became {:?}",
            prev.status, next.status
        ));
    }
    for old in &prev.tasks {
        let Some(new) = next.task(&old.id) else {
            return lost(format!("task {} disappeared", old.id));
        };
        if !new.results.starts_with(&old.results) {
            return lost(format!("results of task {} were rewritten", old.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator::runs::{RunBudget, RunEvent, RunStatus};
    use protocol::outcome::Outcome;

    fn record(events: usize, status: RunStatus) -> RunRecord {
        let outcome = Outcome {
            title: "t".into(),
            description: String::new(),
            changes: Vec::new(),
        };
        let mut r = RunRecord::new("run-0".into(), outcome, RunBudget::default(), 0);
        r.status = status;
        r.events = (0..events)
            .map(|i| RunEvent {
                at_unix_ms: i as u64,
                kind: "k".into(),
                message: String::new(),
            })
            .collect();
        r
    }

    /// Persist each record in order, then restore `restored`; expect the first broken rule.
    fn check(writes: &[RunRecord], restored: Option<RunRecord>, expected: Option<Invariant>) {
        let mut log = AckLog::default();
        let mut got = writes.iter().try_for_each(|r| log.persisted(r)).err();
        if got.is_none()
            && let Some(r) = restored
        {
            got = log.restored(&r).err();
        }
        assert_eq!(got.map(|v| v.invariant), expected);
    }

    #[test]
    fn good_and_bad_histories() {
        use RunStatus::*;
        let ok = [
            record(1, Submitted),
            record(3, Changing),
            record(4, Delivered),
        ];
        check(&ok, Some(record(4, Delivered)), None);
        check(
            &[record(3, Changing), record(2, Changing)],
            None,
            Some(Invariant::NoAckedStepLost),
        );
        check(
            &[record(3, Failed), record(4, Changing)],
            None,
            Some(Invariant::NoAckedStepLost),
        );
        // The restart brought back an older record than the one acknowledged.
        check(
            &ok,
            Some(record(3, Changing)),
            Some(Invariant::NoAckedStepLost),
        );
    }
}
