//! Reading files from a repo origin: a git repo (bare or not) at its default branch, a git URL
//! (fetched once into a temporary bare clone), or a plain directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::OrgError;

/// Where a repo's files are read from.
pub(crate) enum Source {
    /// A local git repo; files come from `HEAD`.
    Git { dir: PathBuf, temp: bool },
    /// A plain directory; files come from disk.
    Dir(PathBuf),
}

/// True when `origin` is a URL git must fetch rather than a local path.
pub(crate) fn is_url(origin: &str) -> bool {
    origin.contains("://") || (origin.contains('@') && origin.contains(':'))
}

impl Source {
    /// Open a local origin path; `None` when nothing exists there.
    pub(crate) fn open_local(path: &Path) -> Option<Source> {
        if !path.exists() {
            return None;
        }
        let bare = path.join("HEAD").is_file() && path.join("objects").is_dir();
        if bare || path.join(".git").exists() {
            Some(Source::Git {
                dir: path.to_path_buf(),
                temp: false,
            })
        } else if path.is_dir() {
            Some(Source::Dir(path.to_path_buf()))
        } else {
            None
        }
    }

    /// Fetch a remote origin's default branch into a temporary bare clone.
    pub(crate) fn fetch(url: &str) -> Result<Source, OrgError> {
        let dir = std::env::temp_dir().join(format!("factory-origin-{}", uuid::Uuid::new_v4()));
        let dir_text = dir.to_string_lossy().to_string();
        git(
            Path::new("."),
            &["clone", "--quiet", "--bare", "--depth", "1", url, &dir_text],
            url,
        )?;
        Ok(Source::Git { dir, temp: true })
    }

    /// The file at `rel` (relative to the repo root), or `None` if the repo has no such file.
    pub(crate) fn read(&self, rel: &Path) -> Result<Option<Vec<u8>>, OrgError> {
        match self {
            Source::Dir(dir) => {
                let path = dir.join(rel);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(OrgError::Read {
                        path,
                        cause: source,
                    }),
                }
            }
            Source::Git { dir, .. } => {
                let spec = format!("HEAD:{}", rel.to_string_lossy().replace('\\', "/"));
                let origin = dir.to_string_lossy();
                let exists = Command::new("git")
                    .arg("-C")
                    .arg(dir)
                    .args(["cat-file", "-e", &spec])
                    .output()
                    .map_err(|e| git_error(&origin, "cat-file", e.to_string()))?;
                if !exists.status.success() {
                    return Ok(None);
                }
                git(dir, &["show", &spec], &origin).map(Some)
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Source::Git { dir, temp: true } = self {
            // Best effort: a leftover temp clone is harmless.
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn git(dir: &Path, args: &[&str], origin: &str) -> Result<Vec<u8>, OrgError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| git_error(origin, &args.join(" "), format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(git_error(
            origin,
            &args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

fn git_error(origin: &str, args: &str, stderr: String) -> OrgError {
    OrgError::Git {
        origin: origin.to_string(),
        args: args.to_string(),
        stderr,
    }
}
