//! The deterministic agent: a stand-in for a model-driven coding agent, honouring the agent
//! process contract on [`TaskSpec`] (run in the worktree, read `$FACTORY_TASK_FILE` and
//! `$FACTORY_PROMPT_FILE`, write an [`AgentReport`] to `$FACTORY_REPORT_FILE`).
//!
//! It applies a task's [`ChangeSpec`]s to repos shaped like the example org, editing at the
//! `factory:` marker comments: as a writer the contract schema, the payload code and the
//! tests; as a reader the code that reads the field, the test expectations and fixtures, and
//! `reads` in `factory.toml`. Its one deliberate habit (see [`writer`]) is the classic
//! snake_case slip on a new field, which only a cross-repo check catches. It avoids the slip when
//! a finding names its repo, or when its prompt carries [`EXACT_NAMES_RULE`]: the one instruction
//! this stand-in model understands. Edits are idempotent: running again on a changed worktree
//! changes nothing.

mod names;
mod reader;
mod text;
mod worktree;
mod writer;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::outcome::{AgentReport, TaskRole, TaskSpec};
use worktree::Worktree;

/// What the simulated model costs: US dollars per KiB of prompt.
pub const USD_PER_PROMPT_KIB: f64 = 0.002;

/// The one instruction the deterministic agent understands: a prompt line containing this text
/// makes its writer spell every new field exactly as the structured change does, so it makes no
/// snake_case slip. It stands in for a model following a rule in its skill; the learner writes
/// it into the skills it proposes, and a real model reads it as the plain sentence it is.
pub const EXACT_NAMES_RULE: &str = "Write every new field name exactly as the structured change spells it, even where this repository's own code uses another casing.";

/// Errors of the deterministic agent.
#[derive(Debug, thiserror::Error)]
pub enum SimAgentError {
    /// A required environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The task file is not a valid task.
    #[error("task file: {0}")]
    BadTask(String),
    /// A file could not be edited as the change needs.
    #[error("{file}: {message}")]
    Edit {
        /// The file (relative to the worktree).
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The change is outside what this agent can do.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Run as an agent process: everything from the environment and the current directory.
pub fn run_from_env() -> Result<(), SimAgentError> {
    let cwd = std::env::current_dir().map_err(|cause| SimAgentError::Io {
        path: PathBuf::from("."),
        cause,
    })?;
    run_with(|name| std::env::var_os(name), &cwd)
}

/// The process contract with the environment given as a lookup: reads the task and prompt
/// files named by `env`, applies the task in `worktree`, writes the report. Relative file
/// paths are taken from `worktree`, as the agent process's working directory.
pub fn run_with(
    env: impl Fn(&str) -> Option<OsString>,
    worktree: &Path,
) -> Result<(), SimAgentError> {
    let var = |name: &'static str| {
        env(name)
            .map(|v| worktree.join(v))
            .ok_or(SimAgentError::MissingEnv(name))
    };
    let (task_file, prompt_file, report_file) = (
        var("FACTORY_TASK_FILE")?,
        var("FACTORY_PROMPT_FILE")?,
        var("FACTORY_REPORT_FILE")?,
    );
    let read = |path: &Path| {
        std::fs::read(path).map_err(|cause| SimAgentError::Io {
            path: path.to_path_buf(),
            cause,
        })
    };
    let task: TaskSpec = serde_json::from_slice(&read(&task_file)?)
        .map_err(|e| SimAgentError::BadTask(e.to_string()))?;
    let prompt = String::from_utf8_lossy(&read(&prompt_file)?).into_owned();
    let report = run(&task, worktree, &prompt)?;
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| SimAgentError::BadTask(e.to_string()))?;
    std::fs::write(&report_file, json).map_err(|cause| SimAgentError::Io {
        path: report_file.clone(),
        cause,
    })
}

/// Apply `task` to the worktree at `worktree`; `prompt` prices the run, and a line of it
/// carrying [`EXACT_NAMES_RULE`] is obeyed.
pub fn run(task: &TaskSpec, worktree: &Path, prompt: &str) -> Result<AgentReport, SimAgentError> {
    let mut wt = Worktree::new(worktree);
    // A finding that names this repo, or the rule in the prompt, means "use the exact name the
    // spec asks for".
    let fixed = task
        .findings
        .iter()
        .any(|f| f.fix_repo.as_deref() == Some(task.repo.as_str()))
        || follows_exact_names(prompt);
    let mut skipped = Vec::new();
    for change in &task.changes {
        match task.role {
            TaskRole::Writer => writer::apply(&mut wt, change, fixed)?,
            TaskRole::Reader => {
                if !reader::apply(&mut wt, change)? {
                    skipped.push(change.contract().to_string());
                }
            }
            TaskRole::Other => skipped.push(change.contract().to_string()),
        }
    }
    let mut summary = if wt.changed.is_empty() {
        format!("{}: no changes needed", task.repo)
    } else {
        let files: Vec<&str> = wt.changed.iter().map(String::as_str).collect();
        format!("{}: changed {}", task.repo, files.join(", "))
    };
    if !skipped.is_empty() {
        summary += &format!("\nnothing to do for {}", skipped.join(", "));
    }
    Ok(AgentReport {
        summary,
        cost_usd: cost_usd(prompt),
    })
}

/// Whether a line of `prompt` carries [`EXACT_NAMES_RULE`].
pub fn follows_exact_names(prompt: &str) -> bool {
    prompt.lines().any(|l| l.contains(EXACT_NAMES_RULE))
}

/// The simulated cost of a prompt, rounded to a millionth of a dollar.
pub fn cost_usd(prompt: &str) -> f64 {
    let kib = prompt.len() as f64 / 1024.0;
    (kib * USD_PER_PROMPT_KIB * 1e6).round() / 1e6
}

/// The agent edits top-level fields only; nested paths need a real agent.
fn check_top_level(field: &str) -> Result<(), SimAgentError> {
    let simple = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if simple {
        Ok(())
    } else {
        Err(SimAgentError::Unsupported(format!(
            "field path `{field}`: only top-level field names are edited"
        )))
    }
}

#[cfg(test)]
mod tests;
