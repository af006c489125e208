//! The coordinator's state directory: the last epoch of every shard, so that a restarted
//! coordinator never hands out an epoch a former owner may still hold.
//!
//! One small JSON file, rewritten whole (write to a temporary file, then rename) after every
//! batch of moves; the run store proper lives elsewhere.

use crate::ids::{Epoch, RepoName};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FILE: &str = "shard-epochs.json";

/// Errors reading or writing the state directory.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The epochs file is not valid JSON of the expected shape.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// Saved epochs by repo; empty when the directory has none yet.
pub fn load_epochs(dir: &Path) -> Result<BTreeMap<RepoName, Epoch>, StateError> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|source| StateError::Parse { path, source })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(StateError::Io { path, source }),
    }
}

/// Save epochs by repo, replacing the file atomically.
pub fn save_epochs(dir: &Path, epochs: &BTreeMap<RepoName, Epoch>) -> Result<(), StateError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StateError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    let bytes = serde_json::to_vec_pretty(epochs).map_err(|source| StateError::Parse {
        path: tmp.clone(),
        source,
    })?;
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    let path = dir.join(FILE);
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn epochs_survive_a_round_trip_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_epochs(dir.path()).unwrap().is_empty());
        let epochs = BTreeMap::from([(RepoName::new("api"), Epoch(4))]);
        save_epochs(dir.path(), &epochs).unwrap();
        assert_eq!(load_epochs(dir.path()).unwrap(), epochs);
        std::fs::write(dir.path().join(FILE), b"not json").unwrap();
        assert!(matches!(
            load_epochs(dir.path()),
            Err(StateError::Parse { .. })
        ));
    }
}
