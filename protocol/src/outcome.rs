//! An outcome (what a person asks for) and the task an agent worker receives.

use serde::{Deserialize, Serialize};

/// What a person asks the factory for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// One-line title, e.g. "expose the order creation time to the dashboard and the email worker".
    pub title: String,
    /// Free text.
    pub description: String,
    /// Structured changes, each to one field of one contract; empty when the outcome is text only.
    pub changes: Vec<ChangeSpec>,
}

/// A structured change to one field of one contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeSpec {
    /// Add a field. `ty` is a JSON Schema type (`string`, `integer`, ...), `format` e.g. `date-time`.
    AddField {
        /// Contract name.
        contract: String,
        /// Field path (wire name), e.g. `createdAt`.
        field: String,
        /// JSON Schema type.
        ty: String,
        /// JSON Schema format, if any.
        format: Option<String>,
    },
    /// Rename a field.
    RenameField {
        /// Contract name.
        contract: String,
        /// Old wire name.
        from: String,
        /// New wire name.
        to: String,
    },
    /// Change a field's type.
    RetypeField {
        /// Contract name.
        contract: String,
        /// Field path.
        field: String,
        /// New JSON Schema type.
        ty: String,
    },
    /// Remove a field.
    RemoveField {
        /// Contract name.
        contract: String,
        /// Field path.
        field: String,
    },
}

impl ChangeSpec {
    /// The contract the change touches.
    pub fn contract(&self) -> &str {
        match self {
            ChangeSpec::AddField { contract, .. }
            | ChangeSpec::RenameField { contract, .. }
            | ChangeSpec::RetypeField { contract, .. }
            | ChangeSpec::RemoveField { contract, .. } => contract,
        }
    }
}

/// The role a repo plays in a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskRole {
    /// The repo writes the contract: change the schema and the code that emits it.
    Writer,
    /// The repo reads the contract: read the new field (and update `reads` in factory.toml).
    Reader,
    /// Anything else (config).
    Other,
}

/// The task file an agent worker receives (JSON at `$FACTORY_TASK_FILE`).
///
/// The agent process contract: the agent runs with its worktree as the working directory, reads
/// the rendered prompt from `$FACTORY_PROMPT_FILE` and this task from `$FACTORY_TASK_FILE`, edits
/// files only inside the worktree, and writes a JSON report to `$FACTORY_REPORT_FILE`
/// (see [`AgentReport`]). Exit code 0 means it believes it finished. The factory commits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Run id.
    pub run_id: String,
    /// Task id, unique in the run (e.g. `backend:expand`).
    pub task_id: String,
    /// Repo the task changes.
    pub repo: String,
    /// Role of the repo in the change.
    pub role: TaskRole,
    /// Title of the outcome.
    pub title: String,
    /// What to do, in words.
    pub instructions: String,
    /// The structured changes of the outcome that concern this repo.
    pub changes: Vec<ChangeSpec>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Findings from the verifier on the previous attempt, for a retry.
    pub findings: Vec<FindingNote>,
    /// Memory context: facts relevant to this repo and contract, as lines of text.
    pub context: Vec<String>,
}

/// A verifier finding, as an agent sees it on a retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingNote {
    /// Rule id, e.g. `NAMING/casing-mismatch`.
    pub rule: String,
    /// Human-readable message.
    pub message: String,
    /// Which repo should change to fix it, if the finding says so.
    pub fix_repo: Option<String>,
    /// The suggested fix.
    pub fix: Option<String>,
}

/// The report an agent writes to `$FACTORY_REPORT_FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    /// What the agent did, in a few lines.
    pub summary: String,
    /// What the agent's model calls cost, in US dollars.
    pub cost_usd: f64,
}
