//! The delivery bundle: what a reviewer gets at the end of a run, as JSON (for tools), Markdown
//! and one self-contained HTML page (for people), with every artifact copied beside them and
//! hashed.
//!
//! Owns: the bundle's shape, copying artifacts into it, rendering it.
//! Does not own: deciding what goes in (the Verifier and the Planner fill it in).

mod html;
mod markdown;
mod write;

pub use html::render_html;
pub use markdown::render_markdown;
pub use write::{BundlePaths, write_bundle};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::verify::CheckRecord;

/// Everything a reviewer needs to judge, re-run and roll out a run's changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// The run's id.
    pub run_id: String,
    /// The outcome's title.
    pub title: String,
    /// How the run ended.
    pub status: BundleStatus,
    /// The PRD, Markdown.
    pub prd_md: String,
    /// Architecture notes, Markdown.
    pub architecture_md: String,
    /// One entry per changed repo.
    pub repos: Vec<RepoDelivery>,
    /// Contract and gate findings, including those fixed by a later attempt.
    pub findings: Vec<BundleFinding>,
    /// What was proven, each with the command that proves it.
    pub claims: Vec<Claim>,
    /// Rollout: phases (expand, migrate, contract), each a list of waves of repos.
    pub phases: Vec<Phase>,
    /// How to undo the rollout, step by step.
    pub rollback: Vec<RollbackStep>,
    /// Screenshots of UI pages.
    pub screenshots: Vec<Artifact>,
    /// Logs of processes (sandbox services, agents).
    pub logs: Vec<Artifact>,
    /// Test reports (JUnit XML, Markdown).
    pub reports: Vec<Artifact>,
    /// What the run cost.
    pub cost_usd: f64,
    /// What it was allowed to cost.
    pub budget_usd: f64,
    /// What the factory learned from this run.
    pub learned: Vec<String>,
    /// Problems met while running or bundling (a missing artifact, say).
    pub errors: Vec<String>,
    /// How long each step took.
    pub timings: Vec<Timing>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleStatus {
    /// Every check passed; ready for review and rollout.
    Delivered,
    /// A finding or gate blocks delivery until a person decides.
    Blocked,
    /// Retries or budget ran out with checks still failing.
    Failed,
}

impl BundleStatus {
    /// The word shown to reviewers.
    pub fn label(self) -> &'static str {
        match self {
            BundleStatus::Delivered => "delivered",
            BundleStatus::Blocked => "blocked",
            BundleStatus::Failed => "failed",
        }
    }
}

/// One repo's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoDelivery {
    /// Repo name.
    pub repo: String,
    /// The node that made the change.
    pub node: String,
    /// The branch holding the change, e.g. `factory/<run>`.
    pub branch: String,
    /// The commit the branch started from.
    pub base: String,
    /// The branch's head commit.
    pub head: String,
    /// `git diff base..head`.
    pub diff: String,
    /// What the agent said it did.
    pub agent_summary: String,
    /// How many agent attempts it took.
    pub attempts: u32,
    /// What this repo's agent work cost.
    pub cost_usd: f64,
    /// The repo's own checks on the head commit.
    pub checks: Vec<CheckRecord>,
}

/// Which check caught a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaughtBy {
    /// Schema against consumer expectations, before anything ran.
    Static,
    /// Payloads captured from the running sandbox.
    Dynamic,
    /// A learned gate.
    Gate,
}

/// A contract or gate finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleFinding {
    /// Rule id, e.g. `NAMING/casing-mismatch`.
    pub rule: String,
    /// `error`, `warning` or `info`, as the contract checks grade it.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The repo writing the payload.
    pub writer: String,
    /// The repo reading it.
    pub reader: String,
    /// Suggested fix, if any.
    pub fix: Option<String>,
    /// Which check caught it.
    pub caught_by: CaughtBy,
    /// The agent attempt it was found on.
    pub attempt: u32,
}

/// Something the run proved, and how to prove it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The statement, e.g. "worker reads createdAt from order events".
    pub statement: String,
    /// The repo whose branch the command runs on, if any.
    pub repo: Option<String>,
    /// The command that proves it.
    pub command: String,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// Its log: a path relative to the bundle once written.
    pub log: String,
    /// SHA-256 of the log.
    pub artifact_sha256: String,
}

/// A rollout phase: waves of repos deployed in order, the repos of one wave in parallel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// `expand`, `migrate`, `contract` or `single`.
    pub name: String,
    /// Waves in order, each a list of repo names.
    pub waves: Vec<Vec<String>>,
}

/// One step of the rollback path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackStep {
    /// The phase it undoes.
    pub phase: String,
    /// The wave it undoes (0-based).
    pub wave: u32,
    /// Repos rolled back together.
    pub repos: Vec<String>,
    /// What to do, e.g. "redeploy base commit" or "flag off".
    pub action: String,
    /// Needs a person's approval: data already written cannot be read by the old version.
    pub irreversible: bool,
    /// Why this step is (ir)reversible.
    pub why: String,
}

/// A file in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// Display name, e.g. `frontend /`.
    pub name: String,
    /// Before writing: where the file is. After: its path relative to the bundle.
    pub path: PathBuf,
    /// SHA-256 of its contents, filled in when written.
    pub sha256: String,
}

/// How long one step took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Step name, e.g. `plan`, `change backend`.
    pub step: String,
    /// Wall-clock duration.
    pub duration_ms: u64,
}

/// What can go wrong writing a bundle. A missing artifact is not one of them: it is noted in
/// the bundle's `errors` so the rest still reaches the reviewer.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bundle could not be serialized.
    #[error("serialize bundle: {0}")]
    Json(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests;
