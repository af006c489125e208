//! The evaluator: judges proposals, given as data, by replaying recorded runs. It reads run
//! cases and a proposal and returns a verdict; it never touches slots or champions, so nothing
//! a proposal changes can change how proposals are judged.
//!
//! Gates replay every recorded round that captured a payload on the gate's boundary:
//! - known-bad: the round raised a casing mismatch on the boundary, or the writer was at the same
//!   commit as a round that did (the defect was there, no reader read it yet). The gate must
//!   flag it.
//! - known-good: the round passed and its writer commit was never caught. The gate must not
//!   flag it.
//! - anything else (a round that failed for other reasons) says nothing and is skipped.
//!
//! A gate is promoted (in shadow mode) only with zero misses, zero false alarms and at least one
//! catch. It may block by evidence when one of its catches was fixed later in the same run (a
//! later known-good round): the defect was real, the fix passed, and the gate tells them apart.

pub mod judge;
pub mod setup;
pub mod skill;

use std::collections::{BTreeMap, BTreeSet};

use protocol::run::GateSpec;
use serde::{Deserialize, Serialize};

use super::gates::evaluate;
use super::observe::{Boundary, RunCase};
use crate::memory::{Evaluation, Time};

/// What a replayed round is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// A defect on the boundary was present: must be flagged.
    KnownBad,
    /// Passed with a writer commit never caught: must not be flagged.
    KnownGood,
}

/// One replayed round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Run id.
    pub run: String,
    /// Round number.
    pub round: u32,
    /// Whether the run delivered.
    pub delivered: bool,
    /// What the round is known to be.
    pub label: Label,
    /// Why it carries that label.
    pub why: String,
    /// Fields the gate flagged, each with the spelling it expected.
    pub flagged: Vec<(String, String)>,
    /// A known-bad round that a later round of the same run fixed.
    pub fixed_later: bool,
}

impl CaseResult {
    /// The case id used in evaluations: `<run>#round-<n>`.
    pub fn case_id(&self) -> String {
        format!("{}#round-{}", self.run, self.round)
    }

    fn missed(&self) -> bool {
        self.label == Label::KnownBad && self.flagged.is_empty()
    }

    fn false_alarm(&self) -> bool {
        self.label == Label::KnownGood && !self.flagged.is_empty()
    }

    fn note(&self) -> String {
        let fields = || {
            self.flagged
                .iter()
                .map(|(f, e)| format!("`{f}` (expected `{e}`)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (self.label, self.flagged.is_empty()) {
            (Label::KnownBad, false) => format!("known-bad ({}): caught {}", self.why, fields()),
            (Label::KnownBad, true) => format!("known-bad ({}): missed", self.why),
            (Label::KnownGood, true) => format!("known-good ({}): not flagged", self.why),
            (Label::KnownGood, false) => {
                format!("known-good ({}): false alarm on {}", self.why, fields())
            }
        }
    }
}

/// Promote or reject, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum Decision {
    /// Becomes the champion (a gate in shadow mode).
    Promote(String),
    /// Stays in the archive; the reason is recorded.
    Reject(String),
}

/// A gate's replay over the corpus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateReplay {
    /// Every labelled round replayed.
    pub cases: Vec<CaseResult>,
}

impl GateReplay {
    /// Known-bad rounds flagged.
    pub fn caught(&self) -> usize {
        self.count(|c| c.label == Label::KnownBad && !c.flagged.is_empty())
    }

    /// Known-bad rounds not flagged.
    pub fn misses(&self) -> usize {
        self.count(CaseResult::missed)
    }

    /// Known-good rounds flagged.
    pub fn false_alarms(&self) -> usize {
        self.count(CaseResult::false_alarm)
    }

    fn count(&self, f: impl Fn(&CaseResult) -> bool) -> usize {
        self.cases.iter().filter(|c| f(c)).count()
    }

    /// Promote with zero misses, zero false alarms and at least one catch.
    pub fn decision(&self) -> Decision {
        if let Some(c) = self.cases.iter().find(|c| c.false_alarm()) {
            return Decision::Reject(format!(
                "would regress known-good round {} of run {}: {}",
                c.round,
                c.run,
                c.note()
            ));
        }
        if let Some(c) = self.cases.iter().find(|c| c.missed()) {
            return Decision::Reject(format!(
                "misses known-bad round {} of run {}: {}",
                c.round,
                c.run,
                c.note()
            ));
        }
        if self.caught() == 0 {
            return Decision::Reject("no known-bad round on replay to catch".into());
        }
        Decision::Promote(self.summary())
    }

    /// Whether the evidence lets the gate block without a person: promoted, and one of its
    /// catches was fixed later in the same run. `Err` says what is missing.
    pub fn blocking_evidence(&self) -> Result<String, String> {
        if let Decision::Reject(r) = self.decision() {
            return Err(r);
        }
        match self
            .cases
            .iter()
            .find(|c| !c.flagged.is_empty() && c.fixed_later)
        {
            Some(c) => Ok(format!(
                "{}; the defect caught in round {} of run {} was fixed later in that run",
                self.summary(),
                c.round,
                c.run
            )),
            None => Err("no caught defect was fixed later in its run".into()),
        }
    }

    fn summary(&self) -> String {
        let runs: BTreeSet<&str> = self
            .cases
            .iter()
            .filter(|c| c.label == Label::KnownBad && !c.flagged.is_empty())
            .map(|c| c.run.as_str())
            .collect();
        let good = self.count(|c| c.label == Label::KnownGood);
        format!(
            "caught {} known-bad round(s) in {} run(s), {} miss(es), {} false alarm(s) over {good} known-good round(s)",
            self.caught(),
            runs.len(),
            self.misses(),
            self.false_alarms()
        )
    }

    /// One evaluation per replayed round, plus one named `decision` holding the verdict.
    pub fn evaluations(&self, artifact: &str, now: Time) -> Vec<Evaluation> {
        let mut out: Vec<Evaluation> = self
            .cases
            .iter()
            .map(|c| Evaluation {
                artifact: artifact.into(),
                case: c.case_id(),
                at: now,
                delivered: c.delivered,
                checks_green: c.flagged.is_empty(),
                violation_escaped: c.missed(),
                rollback_needed: false,
                human_edits: 0,
                cost_micros: 0,
                wall_ms: 0,
                note: c.note(),
            })
            .collect();
        let (green, note) = match self.decision() {
            Decision::Promote(r) => (true, format!("promote: {r}")),
            Decision::Reject(r) => (false, format!("reject: {r}")),
        };
        out.push(Evaluation {
            artifact: artifact.into(),
            case: "decision".into(),
            at: now,
            delivered: green,
            checks_green: green,
            violation_escaped: self.misses() > 0,
            rollback_needed: false,
            human_edits: 0,
            cost_micros: 0,
            wall_ms: 0,
            note,
        });
        out
    }
}

/// Replay a gate over every round of the corpus that captured a payload on its boundary.
/// `reads` are what the reader is known to read (see [`evaluate`]).
pub fn replay_gate(gate: &GateSpec, corpus: &[RunCase], reads: &[String]) -> GateReplay {
    let b = Boundary {
        contract: gate.contract.clone(),
        writer: gate.writer.clone(),
        reader: gate.reader.clone(),
    };
    let mut cases = Vec::new();
    for run in corpus {
        let mut caught_at: BTreeMap<&str, u32> = BTreeMap::new();
        for r in &run.rounds {
            if r.mismatches_on(&b).next().is_some()
                && let Some(h) = r.heads.get(&b.writer)
            {
                caught_at.entry(h.as_str()).or_insert(r.round);
            }
        }
        let mut labelled = Vec::new();
        for r in &run.rounds {
            let Some(fields) = r.fields_of(&b.contract, &b.writer) else {
                continue;
            };
            let head = r.heads.get(&b.writer).map(String::as_str);
            let (label, why) = if r.mismatches_on(&b).next().is_some() {
                (Label::KnownBad, "casing mismatch raised".to_string())
            } else if let Some(at) = head.and_then(|h| caught_at.get(h)) {
                (
                    Label::KnownBad,
                    format!("writer at the commit caught in round {at}"),
                )
            } else if r.passed {
                (Label::KnownGood, "passed".to_string())
            } else {
                continue;
            };
            let flagged = evaluate(gate, fields, reads)
                .into_iter()
                .map(|f| (f.field, f.expected))
                .collect();
            labelled.push(CaseResult {
                run: run.run.clone(),
                round: r.round,
                delivered: run.delivered,
                label,
                why,
                flagged,
                fixed_later: false,
            });
        }
        // A known-bad round is fixed when a later round of the same run is known-good.
        let last_good = labelled
            .iter()
            .filter(|c| c.label == Label::KnownGood)
            .map(|c| c.round)
            .max();
        for c in &mut labelled {
            c.fixed_later = c.label == Label::KnownBad && last_good.is_some_and(|g| g > c.round);
        }
        cases.extend(labelled);
    }
    GateReplay { cases }
}
