//! Running the git CLI: a timeout on every call, an identity for commits, no prompts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::process::Command;

use super::AgentError;

/// No git call may take longer than this; a hung fetch must not hang the RepoAgent.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(300);

/// Longest git error message kept in an error.
const MAX_DETAIL_BYTES: usize = 2000;

/// Variables that would point git somewhere else than the directory it is told to use.
const GIT_LOCATION_VARS: [&str; 6] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
];

/// Runs `git <args>` in `cwd` and returns its stdout with trailing whitespace trimmed.
pub async fn git(cwd: &Path, args: &[&str]) -> Result<String, AgentError> {
    Ok(git_raw(cwd, args).await?.trim_end().to_string())
}

/// Runs `git <args>` in `cwd` and returns its stdout as is.
///
/// The commit identity is passed with `-c` so no global config is needed, signing is off so a
/// user's global `commit.gpgsign` cannot block the factory, and terminal prompts are disabled so
/// an origin asking for credentials fails instead of waiting forever.
pub async fn git_raw(cwd: &Path, args: &[&str]) -> Result<String, AgentError> {
    let mut cmd = Command::new("git");
    cmd.args([
        "-c",
        "user.name=factory",
        "-c",
        "user.email=factory@localhost",
        "-c",
        "commit.gpgsign=false",
    ])
    .args(args)
    .current_dir(cwd)
    .env("GIT_TERMINAL_PROMPT", "0")
    .env("LC_ALL", "C")
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    for var in GIT_LOCATION_VARS {
        cmd.env_remove(var);
    }
    let failed = |detail: String| AgentError::Git {
        args: args.join(" "),
        detail,
    };
    let output = match tokio::time::timeout(GIT_TIMEOUT, cmd.output()).await {
        Err(_) => {
            return Err(failed(format!(
                "timed out after {} s",
                GIT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(failed(format!("cannot run git: {e}"))),
        Ok(Ok(output)) => output,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(truncate(stderr.trim(), MAX_DETAIL_BYTES)));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Like [`git`], but a failure means "no" rather than an error (for existence checks).
pub async fn git_ok(cwd: &Path, args: &[&str]) -> Option<String> {
    git(cwd, args).await.ok()
}

/// Cuts `text` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// One async lock per repo cache, so that in this process only one task at a time fetches into,
/// adds worktrees to, or runs an agent against a given cache. The agent run holds it too: the
/// before/after snapshot of the cache would otherwise see other tasks' legitimate writes.
pub fn cache_lock(cache: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    // A poisoned map only means another thread panicked while inserting; the map is still valid.
    let mut map = locks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(cache.to_path_buf()).or_default().clone()
}
