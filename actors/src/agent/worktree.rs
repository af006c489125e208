//! The repo cache and the per-task worktree: prepare before the agent, commit and push after.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AgentError;
use super::git::{cache_lock, git, git_ok, git_raw};

/// Files agents leave in the repository root that must never be committed (aider's history and
/// tag cache). They go to the cache's `info/exclude`, which every worktree shares.
const EXCLUDES: &str = ".aider*\n";

/// A diff larger than this is cut in [`Delivered::diff`]; the branch itself is complete.
pub const MAX_DIFF_BYTES: usize = 8 * 1024 * 1024;

/// A task's checkout: a git worktree of the repo cache, inside a sandbox directory of its own.
///
/// Sandbox layout: `worktree/` (the checkout), `agent/` (prompt, task, report, the agent's
/// `HOME` and `TMPDIR`), `logs/` (stdout and stderr). Anything else appearing in the sandbox
/// during a run is a write outside the worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// Repo name.
    pub repo: String,
    /// Run id.
    pub run_id: String,
    /// The origin, as given to [`prepare`].
    pub origin: String,
    /// The task branch, `factory/<run_id>`.
    pub branch: String,
    /// The checkout.
    pub path: PathBuf,
    /// The per-task sandbox directory holding the checkout.
    pub sandbox: PathBuf,
    /// The repo cache (a bare repository fetching from the origin).
    pub cache: PathBuf,
    /// This worktree's administrative directory inside the cache (its index and HEAD).
    pub admin_dir: PathBuf,
    /// The commit the branch forked from the origin's default branch: the base of the diff.
    pub base: String,
    /// The commit the worktree was checked out at (the pushed branch on a retry, else `base`).
    pub start: String,
}

impl Worktree {
    /// Directory of the agent's own files: prompt, task, report, home and temp.
    pub fn agent_dir(&self) -> PathBuf {
        self.sandbox.join("agent")
    }

    /// Directory of the agent's logs.
    pub fn logs_dir(&self) -> PathBuf {
        self.sandbox.join("logs")
    }

    /// Removes the worktree and its sandbox; the branch stays in the cache and on the origin.
    pub async fn remove(&self) -> Result<(), AgentError> {
        let lock = cache_lock(&self.cache);
        let _held = lock.lock().await;
        remove_worktree(&self.cache, &self.sandbox).await
    }
}

/// What a task delivered: a commit on the task branch, pushed to the origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The task branch, `factory/<run_id>`.
    pub branch: String,
    /// The base commit of the diff.
    pub base: String,
    /// The branch head.
    pub head: String,
    /// Unified diff `base..head`, cut at [`MAX_DIFF_BYTES`].
    pub diff: String,
    /// Whether `diff` was cut.
    pub diff_truncated: bool,
    /// Paths changed between base and head.
    pub files_changed: Vec<String>,
    /// Whether this call pushed (false when the origin already had `head`).
    pub pushed: bool,
}

/// Clones or fetches `origin` into a bare cache under `cache_dir/repos/`, and checks out branch
/// `factory/<run_id>` in a fresh sandbox under `cache_dir/sandboxes/<run_id>/<repo>/`.
///
/// When the origin already has the branch (a retry, or a resumed run) the worktree continues
/// from it; otherwise it starts from the origin's default branch. A sandbox left by an earlier
/// attempt is removed first, so collect its logs before preparing again.
pub async fn prepare(
    cache_dir: &Path,
    origin: &str,
    run_id: &str,
    repo: &str,
) -> Result<Worktree, AgentError> {
    check_component("repo name", repo)?;
    check_component("run id", run_id)?;
    // Absolute paths, because git resolves worktree paths against its own working directory.
    std::fs::create_dir_all(cache_dir).map_err(|e| AgentError::io("create", cache_dir, e))?;
    let cache_dir =
        &std::fs::canonicalize(cache_dir).map_err(|e| AgentError::io("resolve", cache_dir, e))?;
    let cache = cache_dir.join("repos").join(format!("{repo}.git"));
    let sandbox = cache_dir.join("sandboxes").join(run_id).join(repo);
    let branch = format!("factory/{run_id}");
    let lock = cache_lock(&cache);
    let _held = lock.lock().await;

    let origin_url = resolve_origin(origin);
    ensure_cache(&cache, origin, &origin_url).await?;
    let unreachable = |e: AgentError| AgentError::OriginUnreachable {
        origin: origin.to_string(),
        detail: e.to_string(),
    };
    git(&cache, &["fetch", "--prune", "--no-tags", "-q", "origin"])
        .await
        .map_err(unreachable)?;
    git(&cache, &["remote", "set-head", "origin", "--auto"])
        .await
        .map_err(|e| AgentError::OriginUnreachable {
            origin: origin.to_string(),
            detail: format!("it has no default branch ({e})"),
        })?;

    remove_worktree(&cache, &sandbox).await?;
    let remote_branch = format!("refs/remotes/origin/{branch}");
    let has_branch = git_ok(&cache, &["rev-parse", "--verify", "-q", &remote_branch])
        .await
        .is_some();
    let start_ref = if has_branch {
        remote_branch
    } else {
        "refs/remotes/origin/HEAD".to_string()
    };
    let start = git(&cache, &["rev-parse", &format!("{start_ref}^{{commit}}")]).await?;
    let base = git(&cache, &["merge-base", "refs/remotes/origin/HEAD", &start]).await?;

    for dir in [sandbox.join("agent"), sandbox.join("logs")] {
        std::fs::create_dir_all(&dir).map_err(|e| AgentError::io("create", &dir, e))?;
    }
    let path = sandbox.join("worktree");
    let path_text = path.to_string_lossy().into_owned();
    git(
        &cache,
        &[
            "worktree",
            "add",
            "-q",
            "--no-track",
            "-B",
            &branch,
            &path_text,
            &start,
        ],
    )
    .await?;
    let admin_dir = admin_dir(&path)?;
    Ok(Worktree {
        repo: repo.to_string(),
        run_id: run_id.to_string(),
        origin: origin.to_string(),
        branch,
        path,
        sandbox,
        cache,
        admin_dir,
        base,
        start,
    })
}

/// Stages everything in the worktree, commits it, and pushes the task branch to the origin.
///
/// Idempotent: with nothing new to commit it reuses the head, and it does not push when the
/// origin already points at it. When neither this attempt nor an earlier call made a commit
/// (head is still [`Worktree::start`]) it fails with [`AgentError::NoChange`] unless
/// `allow_no_change`.
pub async fn commit_and_push(
    wt: &Worktree,
    message: &str,
    allow_no_change: bool,
) -> Result<Delivered, AgentError> {
    let lock = cache_lock(&wt.cache);
    let _held = lock.lock().await;
    let dir = &wt.path;
    git(dir, &["add", "-A"]).await?;
    let staged = git(dir, &["diff", "--cached", "--name-only"]).await?;
    if !staged.is_empty() {
        git(dir, &["commit", "-q", "--no-verify", "-m", message]).await?;
    }
    let head = git(dir, &["rev-parse", "HEAD"]).await?;
    if head == wt.start && !allow_no_change {
        return Err(AgentError::NoChange {
            branch: wt.branch.clone(),
        });
    }
    let full_diff = git_raw(
        dir,
        &["diff", "--no-color", "--no-ext-diff", &wt.base, &head],
    )
    .await?;
    let diff_truncated = full_diff.len() > MAX_DIFF_BYTES;
    let diff = if diff_truncated {
        super::git::truncate(&full_diff, MAX_DIFF_BYTES)
    } else {
        full_diff
    };
    let names = git_raw(dir, &["diff", "--name-only", "-z", &wt.base, &head]).await?;
    let files_changed = names
        .split('\0')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();

    let remote_ref = format!("refs/heads/{}", wt.branch);
    let remote = git(dir, &["ls-remote", "origin", &remote_ref]).await?;
    let remote_head = remote.split_whitespace().next().unwrap_or_default();
    let pushed = remote_head != head;
    if pushed {
        git(
            dir,
            &["push", "-q", "origin", &format!("HEAD:{remote_ref}")],
        )
        .await?;
    }
    Ok(Delivered {
        branch: wt.branch.clone(),
        base: wt.base.clone(),
        head,
        diff,
        diff_truncated,
        files_changed,
        pushed,
    })
}

/// Names become path components and branch names, so only plain ones are accepted.
fn check_component(what: &str, name: &str) -> Result<(), AgentError> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty()
        || !plain
        || name.starts_with('.')
        || name.ends_with(".lock")
        || name.contains("..")
    {
        return Err(AgentError::BadSpec {
            message: format!(
                "{what} `{name}` must be letters, digits, `-`, `_` or `.`, not starting with `.`"
            ),
        });
    }
    Ok(())
}

/// A local origin path is made absolute, because git runs inside the cache directory.
fn resolve_origin(origin: &str) -> String {
    match std::fs::canonicalize(origin) {
        Ok(abs) => abs.to_string_lossy().into_owned(),
        Err(_) => origin.to_string(),
    }
}

/// Creates the bare cache on first use; keeps its origin URL current after.
async fn ensure_cache(cache: &Path, origin: &str, origin_url: &str) -> Result<(), AgentError> {
    if cache.join("HEAD").is_file() {
        git(cache, &["remote", "set-url", "origin", origin_url]).await?;
        return Ok(());
    }
    std::fs::create_dir_all(cache).map_err(|e| AgentError::io("create", cache, e))?;
    let made = async {
        git(cache, &["init", "-q", "--bare"]).await?;
        git(cache, &["remote", "add", "origin", origin_url]).await?;
        let exclude = cache.join("info").join("exclude");
        std::fs::create_dir_all(cache.join("info"))
            .and_then(|()| std::fs::write(&exclude, EXCLUDES))
            .map_err(|e| AgentError::io("write", &exclude, e))
    }
    .await;
    if let Err(e) = made {
        // A half-made cache would be taken as ready next time.
        let _ = std::fs::remove_dir_all(cache);
        return Err(AgentError::OriginUnreachable {
            origin: origin.to_string(),
            detail: format!("cannot create its cache: {e}"),
        });
    }
    Ok(())
}

/// Removes a previous attempt's worktree and sandbox, and forgets worktrees whose directory is gone.
async fn remove_worktree(cache: &Path, sandbox: &Path) -> Result<(), AgentError> {
    let path = sandbox.join("worktree");
    if path.exists() {
        // Failure is fine: the directory is removed below and `prune` forgets it.
        let _ = git(
            cache,
            &["worktree", "remove", "--force", &path.to_string_lossy()],
        )
        .await;
    }
    if sandbox.exists() {
        std::fs::remove_dir_all(sandbox).map_err(|e| AgentError::io("remove", sandbox, e))?;
    }
    git(cache, &["worktree", "prune"]).await?;
    Ok(())
}

/// Reads `<worktree>/.git`, a file `gitdir: <admin dir>`.
fn admin_dir(worktree: &Path) -> Result<PathBuf, AgentError> {
    let dot_git = worktree.join(".git");
    let text =
        std::fs::read_to_string(&dot_git).map_err(|e| AgentError::io("read", &dot_git, e))?;
    let dir = text
        .trim()
        .strip_prefix("gitdir:")
        .map(str::trim)
        .ok_or_else(|| AgentError::Git {
            args: "worktree add".into(),
            detail: format!("`{}` does not name a gitdir", dot_git.display()),
        })?;
    Ok(PathBuf::from(dir))
}
