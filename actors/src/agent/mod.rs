//! The RepoAgent's mechanics: from "here is a task for repo R" to "here is a pushed branch, a
//! diff, logs and the cost", as a plain async library.
//!
//! 1. [`prepare`] fetches the origin into a bare repo cache and checks out `factory/<run>` in a
//!    git worktree inside a per-task sandbox (continuing from the origin's branch on a retry).
//! 2. [`render`] fills a skill's prompt template from the [`TaskSpec`](crate::outcome::TaskSpec).
//! 3. [`run_agent`] runs an agent program ([`AgentSpec`]) in the worktree with a filtered
//!    environment, in its own process group, under a [`Budget`], and rejects time-outs, failures,
//!    bad reports, overspending and writes outside the worktree.
//! 4. [`commit_and_push`] commits what the agent changed and pushes the branch, idempotently.
//!
//! Owns: git plumbing for tasks, the agent process contract, sandbox checks. Does not own:
//! which task runs when (the RepoAgent actor and the coordinator), verification (the Verifier).
//! The sandbox check is a tripwire, not isolation: for hostile agents run nodes in containers.

mod error;
mod git;
mod process;
mod prompt;
mod report;
mod run;
mod snapshot;
mod spec;
mod worktree;

#[cfg(test)]
mod tests;

pub use error::AgentError;
pub use prompt::{DEFAULT_TEMPLATE, PLACEHOLDERS, render};
pub use report::{MAX_REPORT_BYTES, aider_session_cost};
pub use run::{AgentRun, Budget, MAX_LOG_BYTES, run_agent};
pub use spec::{ADAPTERS, AgentSpec, ReportSource, split_words};
pub use worktree::{Delivered, MAX_DIFF_BYTES, Worktree, commit_and_push, prepare};
