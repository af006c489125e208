//! The agent's view of its worktree: reading and writing files, finding marker files,
//! editing JSON documents, and remembering what changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::SimAgentError;
use crate::example::pretty_json;

/// Files larger than this are not source the agent edits.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A worktree and the files changed in it so far.
pub(crate) struct Worktree {
    root: PathBuf,
    /// Paths relative to the root, of files whose content changed.
    pub changed: BTreeSet<String>,
}

impl Worktree {
    pub(crate) fn new(root: &Path) -> Worktree {
        Worktree {
            root: root.to_path_buf(),
            changed: BTreeSet::new(),
        }
    }

    /// The text of `rel`, or `None` if there is no such file.
    pub(crate) fn read(&self, rel: &str) -> Result<Option<String>, SimAgentError> {
        let path = self.root.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SimAgentError::Io {
                path,
                cause: source,
            }),
        }
    }

    /// Apply `edit` to the text of `rel` (which must exist) and write it back if it changed.
    pub(crate) fn edit(
        &mut self,
        rel: &str,
        edit: impl FnOnce(&str) -> String,
    ) -> Result<(), SimAgentError> {
        let old = self.read(rel)?.ok_or_else(|| SimAgentError::Edit {
            file: rel.to_string(),
            message: "file not found".into(),
        })?;
        let new = edit(&old);
        if new != old {
            let path = self.root.join(rel);
            std::fs::write(&path, new).map_err(|source| SimAgentError::Io {
                path,
                cause: source,
            })?;
            self.changed.insert(rel.to_string());
        }
        Ok(())
    }

    /// Apply `edit` to the JSON document at `rel`, if the file exists; writes it back pretty.
    pub(crate) fn edit_json(
        &mut self,
        rel: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<bool, SimAgentError> {
        let Some(text) = self.read(rel)? else {
            return Ok(false);
        };
        let mut value: Value = serde_json::from_str(&text).map_err(|e| SimAgentError::Edit {
            file: rel.to_string(),
            message: format!("not JSON: {e}"),
        })?;
        let before = value.clone();
        edit(&mut value);
        if value != before {
            self.edit(rel, |_| pretty_json(&value))?;
        }
        Ok(true)
    }

    /// Text files (relative paths, sorted) that contain a `factory:` marker comment.
    pub(crate) fn marker_files(&self) -> Result<Vec<String>, SimAgentError> {
        let mut found = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let io = |source| SimAgentError::Io {
                path: dir.clone(),
                cause: source,
            };
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                let name = entry.file_name().to_string_lossy().to_string();
                let kind = entry.file_type().map_err(io)?;
                if name.starts_with('.') || name == "__pycache__" || name == "node_modules" {
                    continue;
                }
                if kind.is_dir() {
                    stack.push(entry.path());
                } else if kind.is_file() && entry.metadata().map_err(io)?.len() <= MAX_FILE_BYTES {
                    // Binary or non-UTF-8 files cannot carry marker comments.
                    let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    if text.lines().any(|l| super::text::parse_marker(l).is_some()) {
                        let rel = entry.path().strip_prefix(&self.root).map(Path::to_path_buf);
                        if let Ok(rel) = rel {
                            found.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// The schema path (relative) of `contract` from this repo's `factory.toml` provides.
    pub(crate) fn schema_path(&self, contract: &str) -> Result<Option<String>, SimAgentError> {
        let Some(text) = self.read("factory.toml")? else {
            return Ok(None);
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| SimAgentError::Edit {
            file: "factory.toml".into(),
            message: e.message().to_string(),
        })?;
        let provides = table.get("provides").and_then(toml::Value::as_array);
        Ok(provides
            .into_iter()
            .flatten()
            .find(|p| p.get("contract").and_then(toml::Value::as_str) == Some(contract))
            .and_then(|p| p.get("schema"))
            .and_then(toml::Value::as_str)
            .map(str::to_string))
    }
}
