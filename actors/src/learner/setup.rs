//! Learned setup steps: a command a repo's fresh checkout needs before its own setup, read from
//! the log of a service that did not start, and stored as a workflow artifact per repo.

use protocol::run::SetupStep;
use serde::{Deserialize, Serialize};

use super::LearnerError;
use crate::memory::{Artifact, ArtifactKind, Time};

/// Longest command taken from a log; a longer one is not a step anyone wrote for people to run.
const COMMAND_LIMIT: usize = 200;

/// The slot of a repo's learned setup workflow: `skill:setup@backend`.
pub fn slot_for(repo: &str) -> String {
    format!("skill:setup@{repo}")
}

/// Whether a slot holds a setup workflow.
pub fn is_setup_slot(slot: &str) -> bool {
    slot.starts_with("skill:setup@")
}

/// The command a failure message tells people to run: the text in backticks after `run `
/// (`seed data missing: ... (run \`python3 scripts/seed.py\`)` gives `python3 scripts/seed.py`).
/// The last such mention wins, as the log tail ends with the cause.
pub fn missing_step(message: &str) -> Option<String> {
    let mut found = None;
    let mut rest = message;
    while let Some(at) = rest.find("run `") {
        rest = &rest[at + "run `".len()..];
        let Some(end) = rest.find('`') else { break };
        let cmd = rest[..end].trim();
        if !cmd.is_empty() && cmd.len() <= COMMAND_LIMIT && !cmd.contains('\n') {
            found = Some(cmd.to_string());
        }
        rest = &rest[end + 1..];
    }
    found
}

/// A proposed setup step waiting for its replay ([`super::evaluate_setup`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupCandidate {
    /// The step (its id is the artifact id).
    pub step: SetupStep,
    /// The slot.
    pub slot: String,
    /// The champion it would replace, if any.
    pub parent: Option<String>,
    /// The run whose round failed.
    pub run: String,
    /// The round.
    pub round: u32,
    /// The repo's commit in that round: the replay starts from it.
    pub head: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    repo: String,
    command: String,
    learned_from_run: String,
}

/// A setup step as an artifact (its id is the step's id). With a parent step, the new command
/// runs after the parent's: a workflow grows one learned step at a time.
pub fn step_artifact(
    repo: &str,
    command: &str,
    run: &str,
    parent: Option<&Artifact>,
    now: Time,
) -> Result<(Artifact, SetupStep), LearnerError> {
    let command = match parent.map(step_of).transpose()? {
        Some(p) => format!("{} && {command}", p.command),
        None => command.to_string(),
    };
    let body = StepBody {
        repo: repo.into(),
        command,
        learned_from_run: run.into(),
    };
    let slot = slot_for(repo);
    let text = serde_json::to_string(&body).map_err(|e| LearnerError::Corrupt {
        what: "setup step",
        id: slot.clone(),
        detail: e.to_string(),
    })?;
    let a = Artifact::new(
        ArtifactKind::Skill,
        &slot,
        parent.map(|p| p.id.as_str()),
        &text,
        now,
    );
    let s = step(&a, body);
    Ok((a, s))
}

/// The setup step an artifact holds.
pub fn step_of(a: &Artifact) -> Result<SetupStep, LearnerError> {
    let body: StepBody = serde_json::from_str(&a.body).map_err(|e| LearnerError::Corrupt {
        what: "setup artifact",
        id: a.id.clone(),
        detail: e.to_string(),
    })?;
    Ok(step(a, body))
}

fn step(a: &Artifact, b: StepBody) -> SetupStep {
    SetupStep {
        id: a.id.clone(),
        repo: b.repo,
        command: b.command,
        learned_from_run: b.learned_from_run,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn check(message: &str, expected: Option<&str>) {
        assert_eq!(missing_step(message).as_deref(), expected, "{message}");
    }

    #[test]
    fn the_step_a_log_names() {
        check(
            "service backend exited early (exit status: 1); log tail:\nbackend: error: seed data missing: /x/data/orders.json does not exist (run `python3 scripts/seed.py`)\n",
            Some("python3 scripts/seed.py"),
        );
        check("first run `a`, then run `make db`", Some("make db"));
        check(
            "service backend exited early; log tail:\nTraceback ...",
            None,
        );
        check("run `unterminated", None);
        check("run ``", None);
    }

    #[test]
    fn steps_grow_from_their_parent() {
        let (a, s) = step_artifact("backend", "make seed", "r1", None, Time(1)).unwrap();
        assert_eq!(s.command, "make seed");
        assert_eq!(step_of(&a).unwrap(), s);
        let (b, t) = step_artifact("backend", "make db", "r2", Some(&a), Time(2)).unwrap();
        assert_eq!(t.command, "make seed && make db");
        assert_eq!(b.parent.as_deref(), Some(a.id.as_str()));
        assert_eq!(b.slot, "skill:setup@backend");
    }
}
