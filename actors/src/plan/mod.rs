//! The Planner's pure logic: from an org, an outcome and known facts to a plan.
//!
//! Affected repos come from the contract graph, never from a list: the provider of each changed
//! contract is the writer, its consumers the readers. Each change is applied to the writer's
//! shape and each reader's expectation; for every flow W->R touched the two mixed-version cells
//! A = accepts(R_old, W_new) and B = accepts(R_new, W_old) decide the order, and C =
//! accepts(R_new, W_new) must hold. A flow with neither A nor B is split into expand, migrate and
//! contract phases. Waves are Kahn layers of each phase.

mod analyse;
mod build;
mod change;
mod order;
mod render;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests;

use serde::{Deserialize, Serialize};

use crate::org::{Flow, Medium, Org};
use crate::outcome::{ChangeSpec, Outcome, TaskRole};

/// Something known about a repo or a contract (from memory), cited by the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// What the fact is about: a repo or contract name, or `name/detail`.
    pub subject: String,
    /// The fact, in a sentence.
    pub statement: String,
    /// Where it comes from (`repo@commit:path`, a run, a person).
    pub provenance: String,
}

/// A phase of a rollout. A plan without a breaking flow has the single phase `Change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The whole change at once, in dependency order.
    Change,
    /// Make one side accept or send both the old and the new form.
    Expand,
    /// Move the other side to the new form.
    Migrate,
    /// Drop the old form; irreversible, needs a person's approval.
    Contract,
}

impl Phase {
    /// The phase's name, as used in task ids.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Change => "change",
            Phase::Expand => "expand",
            Phase::Migrate => "migrate",
            Phase::Contract => "contract",
        }
    }
}

/// The order a flow imposes on its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowOrder {
    /// A and B: either may go first.
    Any,
    /// B only: the new reader copes with the old writer, so the reader goes first.
    ReaderFirst,
    /// A only: the old reader copes with the new writer, so the writer goes first.
    WriterFirst,
    /// Neither: expand, migrate, contract.
    Split,
}

/// The mixed-version cells of one flow touched by the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowCell {
    /// The flow.
    pub flow: Flow,
    /// Whether old payloads are retained (events, tables).
    pub durable: bool,
    /// accepts(R_old, W_new).
    pub a: bool,
    /// accepts(R_new, W_old).
    pub b: bool,
    /// accepts(R_new, W_new).
    pub c: bool,
    /// The resulting order.
    pub order: FlowOrder,
    /// Whether the reader's reads change.
    pub reader_changes: bool,
}

/// What proves a task done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The repo's own test command.
    Tests {
        /// Shell command.
        command: String,
    },
    /// The static contract check of one flow.
    Contract {
        /// Contract name.
        contract: String,
        /// Writer repo.
        writer: String,
        /// Reader repo.
        reader: String,
    },
    /// Capture a real payload from the running provider and check it against every reader.
    Capture {
        /// Contract name.
        contract: String,
        /// How to capture it.
        medium: Medium,
    },
}

/// One agent task: one repo in one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `repo:phase`, unique in the plan.
    pub id: String,
    /// Repo to change.
    pub repo: String,
    /// Role of the repo.
    pub role: TaskRole,
    /// Phase the task belongs to.
    pub phase: Phase,
    /// Tasks that must be deployed first.
    pub depends_on: Vec<String>,
    /// What to do, for the agent.
    pub instructions: String,
    /// The outcome's changes that concern this repo.
    pub changes: Vec<ChangeSpec>,
    /// What proves it.
    pub checks: Vec<Check>,
    /// Facts about the repo and its contracts, as lines.
    pub context: Vec<String>,
}

/// The waves of one phase: each a list of task ids deployed together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseWaves {
    /// The phase.
    pub phase: Phase,
    /// Waves in deploy order.
    pub waves: Vec<Vec<String>>,
}

/// One rollback step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackStep {
    /// Phase of the task undone.
    pub phase: Phase,
    /// Wave index within the phase (from 0, deploy order).
    pub wave: usize,
    /// Task undone.
    pub task: String,
    /// Repo reverted.
    pub repo: String,
    /// Whether undoing it cannot be done safely without a person.
    pub irreversible: bool,
    /// Why it is (ir)reversible.
    pub why: String,
}

/// The plan for one outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The outcome's title.
    pub title: String,
    /// Repos with a task, in name order.
    pub affected_repos: Vec<String>,
    /// Contracts changed.
    pub affected_contracts: Vec<String>,
    /// Every flow of a changed contract, with its cells.
    pub flows: Vec<FlowCell>,
    /// Tasks, in phase then wave order.
    pub tasks: Vec<Task>,
    /// Waves per phase, in phase order.
    pub phases: Vec<PhaseWaves>,
    /// Rollback: per phase, reverse wave order; phases last to first.
    pub rollback: Vec<RollbackStep>,
    /// The PRD, Markdown.
    pub prd: String,
    /// Architecture notes, Markdown.
    pub notes: String,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The outcome has no structured change to plan from.
    #[error(
        "the outcome has no structured change; add one, e.g. `add orders.v1 createdAt string:date-time`"
    )]
    NoChanges,
    /// No repo provides or consumes the contract.
    #[error("no repo provides or consumes contract `{contract}`")]
    UnknownContract {
        /// Contract name.
        contract: String,
    },
    /// The contract has readers but no writer in the org: a change has to start at the writer.
    #[error("contract `{contract}` has readers ({}) but no writer in the org; a contract change starts at its provider", readers.join(", "))]
    NoWriter {
        /// Contract name.
        contract: String,
        /// Its consumers.
        readers: Vec<String>,
    },
    /// The writer's schema does not parse.
    #[error("contract `{contract}`: {error}")]
    Schema {
        /// Contract name.
        contract: String,
        /// The schema or read-path error.
        error: String,
    },
    /// A change does not apply to the current schema.
    #[error("change `{change}`: {reason}")]
    BadChange {
        /// The change, in its one-line syntax.
        change: String,
        /// Why it does not apply.
        reason: String,
    },
    /// The new reader does not accept the new writer: the change itself is wrong.
    #[error("after the change, {reader} does not accept what {writer} sends on `{contract}`: {}", findings.join("; "))]
    ChangeBreaksReader {
        /// Contract name.
        contract: String,
        /// Writer repo.
        writer: String,
        /// Reader repo.
        reader: String,
        /// The error findings.
        findings: Vec<String>,
    },
    /// A flow needs a parallel change but neither a writer sending both forms nor a reader taking
    /// both keeps every mixed version working.
    #[error(
        "no safe order for `{contract}` {writer} -> {reader}: neither sending both forms nor reading both is accepted"
    )]
    NoSafeOrder {
        /// Contract name.
        contract: String,
        /// Writer repo.
        writer: String,
        /// Reader repo.
        reader: String,
    },
    /// The ordering edges of a phase form a cycle.
    #[error("phase {phase}: the deploy order has a cycle among {}", repos.join(", "))]
    Cycle {
        /// Phase name.
        phase: String,
        /// Repos on or behind the cycle.
        repos: Vec<String>,
    },
}

/// Plans an outcome over an org, citing the facts that concern what it touches.
pub fn plan(org: &Org, outcome: &Outcome, facts: &[Fact]) -> Result<Plan, PlanError> {
    let analysis = analyse::analyse(org, outcome)?;
    build::build(org, outcome, facts, &analysis)
}
