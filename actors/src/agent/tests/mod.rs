//! Tests against real git repos in temp dirs and real agent processes (shell scripts).

mod adapters;
mod delivery;
mod env;
mod failures;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AgentSpec, Budget};
use crate::outcome::{TaskRole, TaskSpec};

/// Test result: any error fails the test with its message.
pub type R = Result<(), Box<dyn std::error::Error>>;

/// A bare origin with one commit on `main`, and a cache dir, in a temp dir.
pub struct Fixture {
    /// Keeps the temp dir alive.
    pub dir: tempfile::TempDir,
    /// The bare origin.
    pub origin: PathBuf,
    /// The factory's cache dir.
    pub cache_dir: PathBuf,
}

impl Fixture {
    /// Makes the origin: `README.md` and `src/lib.txt` on `main`.
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let origin = dir.path().join("origin.git");
        let seed = dir.path().join("seed");
        sh_git(
            dir.path(),
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                &origin.to_string_lossy(),
            ],
        )?;
        sh_git(
            dir.path(),
            &["init", "-q", "-b", "main", &seed.to_string_lossy()],
        )?;
        std::fs::create_dir(seed.join("src"))?;
        std::fs::write(seed.join("README.md"), "hello\n")?;
        std::fs::write(seed.join("src").join("lib.txt"), "one\n")?;
        sh_git(&seed, &["add", "-A"])?;
        sh_git(&seed, &["commit", "-q", "-m", "seed"])?;
        sh_git(&seed, &["push", "-q", &origin.to_string_lossy(), "main"])?;
        let cache_dir = dir.path().join("cache");
        Ok(Fixture {
            dir,
            origin,
            cache_dir,
        })
    }

    /// The origin as `prepare` takes it.
    pub fn origin(&self) -> String {
        self.origin.to_string_lossy().into_owned()
    }

    /// What the origin's branch points at.
    pub fn origin_rev(&self, rev: &str) -> Result<String, Box<dyn std::error::Error>> {
        sh_git(&self.origin, &["rev-parse", rev])
    }

    /// Writes an executable `/bin/sh` script named `name` with `body`, and an agent running it.
    pub fn agent(&self, name: &str, body: &str) -> Result<AgentSpec, Box<dyn std::error::Error>> {
        let path = self.dir.path().join(format!("{name}.sh"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(AgentSpec::custom(vec![path.to_string_lossy().into_owned()]))
    }
}

/// Runs git synchronously, with an identity, and returns trimmed stdout; fails clearly when git
/// is missing.
pub fn sh_git(cwd: &Path, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@localhost",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("these tests need the `git` program on PATH: {e}"))?;
    if !out.status.success() {
        return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A writer task for `backend` in run `r1`.
pub fn task() -> TaskSpec {
    TaskSpec {
        run_id: "r1".into(),
        task_id: "backend:expand".into(),
        repo: "backend".into(),
        role: TaskRole::Writer,
        title: "expose createdAt".into(),
        instructions: "Add the field.".into(),
        changes: vec![],
        attempt: 1,
        findings: vec![],
        context: vec![],
    }
}

/// A budget of `secs` seconds and one dollar.
pub fn budget(secs: f64) -> Budget {
    Budget {
        time_limit: Duration::from_secs_f64(secs),
        max_cost_usd: 1.0,
    }
}

/// A line that writes a good report costing `cost`.
pub fn report(cost: f64) -> String {
    format!(r#"printf '{{"summary":"did it","cost_usd":{cost}}}' > "$FACTORY_REPORT_FILE""#)
}
