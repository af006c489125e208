//! The example org: four small repos (backend, worker, frontend, infra) generated as real bare
//! git repos, used by the demo and by tests. Everything in them runs on Python 3's standard
//! library, so a fresh machine can test and start them.
//!
//! # The sandbox convention
//!
//! A verifier starting the repos' `start` commands sets, for each process:
//! - `PORT`: the port to listen on (health is polled at the manifest's `health` path);
//! - `FACTORY_EVENTS_DIR`: a folder shared by the sandbox; a provider of an event contract
//!   appends one JSON object per line to `$FACTORY_EVENTS_DIR/<channel>.jsonl`;
//! - for each consumed HTTP contract, `FACTORY_URL_<CONTRACT>`: the provider's base URL, with
//!   the contract name uppercased and every non-alphanumeric character turned into `_`
//!   (`orders.v1` gives `FACTORY_URL_ORDERS_V1`). See [`contract_url_env`].
//!
//! Code that automated changes edit carries `factory:` marker comments (e.g.
//! `# factory:fields orders.v1 order`); the deterministic agent in `simagent` edits there.

mod repos;

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) use repos::pretty as pretty_json;

/// Options for [`generate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExampleOptions {
    /// Leave the seed step out of backend's `setup`, so a fresh sandbox fails to start with
    /// "seed data missing" (the setup-workflow learning example).
    pub missing_seed_step: bool,
}

/// Errors while generating the example org.
#[derive(Debug, thiserror::Error)]
pub enum ExampleError {
    /// The target already holds an org.
    #[error("{0} already exists; generate into an empty folder")]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("{path}: {cause}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// A git command failed (or git is not installed).
    #[error("git {args}: {message}")]
    Git {
        /// The arguments.
        args: String,
        /// What went wrong.
        message: String,
    },
}

/// The environment variable carrying the base URL of an HTTP contract's provider.
pub fn contract_url_env(contract: &str) -> String {
    let name: String = contract
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("FACTORY_URL_{name}")
}

/// Generate the example org in `dir`: `dir/origins/<repo>.git` (bare, default branch `main`,
/// one commit each) and `dir/org.toml`. Returns the path of `org.toml`.
pub fn generate(dir: &Path, opts: &ExampleOptions) -> Result<PathBuf, ExampleError> {
    let org_toml = dir.join("org.toml");
    if org_toml.exists() {
        return Err(ExampleError::Exists(org_toml));
    }
    let staging = dir.join(".example-staging");
    let result = generate_in(dir, &staging, opts);
    // The staging work trees only exist to make the commits.
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    write(&org_toml, &repos::org_toml())?;
    Ok(org_toml)
}

fn generate_in(dir: &Path, staging: &Path, opts: &ExampleOptions) -> Result<(), ExampleError> {
    for (name, _) in repos::REPOS {
        let work = staging.join(name);
        for (rel, content) in repos::files(name, opts).unwrap_or_default() {
            write(&work.join(rel), &content)?;
        }
        git(&work, &["init", "-q", "-b", "main"])?;
        git(&work, &["add", "-A"])?;
        git(
            &work,
            &["commit", "-q", "-m", &format!("{name}: initial version")],
        )?;
        let bare = dir.join("origins").join(format!("{name}.git"));
        if bare.exists() {
            return Err(ExampleError::Exists(bare));
        }
        let bare_text = bare.to_string_lossy().to_string();
        let work_text = work.to_string_lossy().to_string();
        git(dir, &["clone", "-q", "--bare", &work_text, &bare_text])?;
    }
    Ok(())
}

fn write(path: &Path, content: &str) -> Result<(), ExampleError> {
    let io = |source| ExampleError::Io {
        path: path.to_path_buf(),
        cause: source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, content).map_err(io)
}

/// Run git with a fixed identity and dates, so no global config is needed and the example's
/// commit ids are the same on every machine.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, ExampleError> {
    let error = |message: String| ExampleError::Git {
        args: args.join(" "),
        message,
    };
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Factory Example",
            "-c",
            "user.email=example@factory.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .map_err(|e| error(format!("cannot run git (is it installed?): {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(error(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
