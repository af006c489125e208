//! The one error type of the agent family: preparing a worktree, running an agent, delivering.

use std::path::PathBuf;

/// Everything that can go wrong between "here is a task" and "here is a pushed branch".
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The origin could not be cloned or fetched.
    #[error("cannot read origin `{origin}`: {detail}")]
    OriginUnreachable {
        /// The origin URL or path, as given.
        origin: String,
        /// What git said.
        detail: String,
    },
    /// A git command failed.
    #[error("git {args} failed: {detail}")]
    Git {
        /// The git arguments, joined by spaces.
        args: String,
        /// What git said, or why it did not finish.
        detail: String,
    },
    /// A file or directory could not be read or written.
    #[error("cannot {op} `{path}`: {source}")]
    Io {
        /// What was being done, e.g. "write the prompt to".
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A prompt template names a placeholder that does not exist.
    #[error("prompt template uses unknown placeholder `{{{{{name}}}}}`; known: {known}")]
    UnknownPlaceholder {
        /// The unknown name.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A prompt template opens `{{` without closing it.
    #[error("prompt template opens `{{{{` at byte {at} without a closing `}}}}`")]
    UnclosedPlaceholder {
        /// Byte offset of the opening braces.
        at: usize,
    },
    /// The agent specification cannot be used (empty command line, unknown adapter...).
    #[error("bad agent specification: {message}")]
    BadSpec {
        /// What is wrong.
        message: String,
    },
    /// The agent program could not be started.
    #[error("cannot start agent program `{program}`: {source}")]
    Spawn {
        /// argv[0].
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The agent ran past its time limit; its whole process group was killed.
    #[error("agent ran past its time limit of {limit_ms} ms and was killed with its process group")]
    TimedOut {
        /// The limit, in milliseconds.
        limit_ms: u64,
    },
    /// The agent exited with a non-zero code (128 + signal when killed by a signal).
    #[error("agent exited with code {code}; last output:\n{log_tail}")]
    Exited {
        /// Exit code.
        code: i32,
        /// The end of its stderr (or stdout when stderr is empty).
        log_tail: String,
    },
    /// The agent's report is missing or is not the expected JSON.
    #[error("agent report is missing or not valid: {snippet}")]
    BadReport {
        /// Why, with the start of what was found.
        snippet: String,
    },
    /// The agent's own report says it failed (Claude Code's `is_error`).
    #[error("agent reported a failure: {message}")]
    ReportedFailure {
        /// The agent's message.
        message: String,
    },
    /// The agent's reported cost is over the budget.
    #[error("agent cost ${cost:.4} is over the budget of ${limit:.4}")]
    OverBudget {
        /// Reported cost, US dollars.
        cost: f64,
        /// The budget, US dollars.
        limit: f64,
    },
    /// The agent created, modified or deleted files outside its worktree.
    #[error("agent wrote outside its worktree: {}", list_paths(paths))]
    WroteOutside {
        /// The paths touched, sorted.
        paths: Vec<PathBuf>,
    },
    /// The agent changed nothing, and a change was required.
    #[error("agent made no change on branch `{branch}`")]
    NoChange {
        /// The task branch.
        branch: String,
    },
}

impl AgentError {
    /// A stable, low-cardinality code for the error, for the wire and for metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::OriginUnreachable { .. } => "agent.origin_unreachable",
            AgentError::Git { .. } => "agent.git",
            AgentError::Io { .. } => "agent.io",
            AgentError::UnknownPlaceholder { .. } | AgentError::UnclosedPlaceholder { .. } => {
                "agent.bad_template"
            }
            AgentError::BadSpec { .. } => "agent.bad_spec",
            AgentError::Spawn { .. } => "agent.spawn",
            AgentError::TimedOut { .. } => "agent.timed_out",
            AgentError::Exited { .. } => "agent.exited",
            AgentError::BadReport { .. } => "agent.bad_report",
            AgentError::ReportedFailure { .. } => "agent.reported_failure",
            AgentError::OverBudget { .. } => "agent.over_budget",
            AgentError::WroteOutside { .. } => "agent.wrote_outside",
            AgentError::NoChange { .. } => "agent.no_change",
        }
    }

    /// Builds an [`AgentError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AgentError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// At most this many paths are listed in a message; the rest are counted.
const LISTED_PATHS: usize = 10;

fn list_paths(paths: &[PathBuf]) -> String {
    let mut shown: Vec<String> = paths
        .iter()
        .take(LISTED_PATHS)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > LISTED_PATHS {
        shown.push(format!("and {} more", paths.len() - LISTED_PATHS));
    }
    shown.join(", ")
}
