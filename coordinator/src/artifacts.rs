//! Artifacts nodes upload with their results (logs, reports, payloads, screenshots), kept on the
//! coordinator's disk under `<root>/<run>/` until the bundle copies them.
//!
//! Names come from the network, so they are checked: relative, no `..`, no empty parts, a bounded
//! length. A bad name is refused on its own; the other artifacts of the result are still kept.

use std::path::{Component, Path, PathBuf};

use protocol::run::Blob;

/// Longest artifact name accepted.
const MAX_NAME: usize = 256;

/// Why an artifact was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The name could escape the run's folder or is unreasonable.
    #[error("artifact name refused: {0:?}")]
    BadName(String),
    /// Writing failed.
    #[error("artifact {name}: {source}")]
    Io {
        /// Artifact name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Write blobs under `root/run_id/`; return the paths written and the errors, one per bad blob.
pub fn store(root: &Path, run_id: &str, blobs: &[Blob]) -> (Vec<PathBuf>, Vec<ArtifactError>) {
    let mut written = Vec::new();
    let mut errors = Vec::new();
    for blob in blobs {
        match store_one(root, run_id, blob) {
            Ok(p) => written.push(p),
            Err(e) => {
                tracing::warn!(run = run_id, error = %e, "artifact refused");
                errors.push(e);
            }
        }
    }
    (written, errors)
}

fn store_one(root: &Path, run_id: &str, blob: &Blob) -> Result<PathBuf, ArtifactError> {
    let rel = safe_relative(&blob.name)?;
    let run = safe_relative(run_id)?;
    let path = root.join(run).join(rel);
    let io = |source| ArtifactError::Io {
        name: blob.name.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&path, &blob.bytes).map_err(io)?;
    Ok(path)
}

/// A relative path with only normal components, or an error.
pub fn safe_relative(name: &str) -> Result<PathBuf, ArtifactError> {
    let bad = || ArtifactError::BadName(name.chars().take(80).collect());
    if name.is_empty() || name.len() > MAX_NAME || name.contains('\0') || name.contains('\\') {
        return Err(bad());
    }
    let path = Path::new(name);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(bad());
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ok: bool) {
        assert_eq!(safe_relative(name).is_ok(), ok, "{name}");
    }

    #[test]
    fn names_that_could_escape_are_refused() {
        check("backend/attempt-1/test.log", true);
        check("round-1/screenshots/frontend_.png", true);
        check("../etc/passwd", false);
        check("/etc/passwd", false);
        check("a/../../b", false);
        check("", false);
        check("a\\b", false);
        check(&"x".repeat(300), false);
    }

    #[test]
    fn good_blobs_are_kept_when_one_is_bad() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = vec![
            Blob {
                name: "../escape".into(),
                bytes: b"x".to_vec(),
            },
            Blob {
                name: "backend/test.log".into(),
                bytes: b"ok".to_vec(),
            },
        ];
        let (written, errors) = store(dir.path(), "run-1", &blobs);
        assert_eq!(written.len(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(std::fs::read(&written[0]).expect("read"), b"ok");
        assert!(!dir.path().join("escape").exists());
    }
}
