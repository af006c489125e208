//! Before/after snapshots of directory trees, to catch an agent writing outside its worktree.
//!
//! A snapshot records metadata only (kind, size, mode, inode, mtime and ctime), not contents:
//! hashing a large repo cache on every run would cost more than the agent. ctime cannot be set
//! from user space, so a write that restores mtime is still seen.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Metadata of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    is_dir: bool,
    mode: u32,
    len: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// The metadata of every path under some roots.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Snapshot {
    /// Walks `root` without following symlinks, skipping the paths in `exclude` and everything
    /// under them. A missing root gives no entries; unreadable directories are recorded but not
    /// entered.
    pub fn take(&mut self, root: &Path, exclude: &[PathBuf]) {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(items) = std::fs::read_dir(&dir) else {
                continue;
            };
            for item in items.flatten() {
                let path = item.path();
                if exclude.contains(&path) {
                    continue;
                }
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let entry = Entry {
                    is_dir: meta.is_dir(),
                    mode: meta.mode(),
                    len: meta.len(),
                    ino: meta.ino(),
                    mtime: (meta.mtime(), meta.mtime_nsec()),
                    ctime: (meta.ctime(), meta.ctime_nsec()),
                };
                if entry.is_dir {
                    stack.push(path.clone());
                }
                self.entries.insert(path, entry);
            }
        }
    }

    /// Paths created, deleted or modified between `self` (before) and `after`, sorted.
    /// `may_change` says which paths may be created or modified (not deleted). A directory counts as modified only when
    /// its kind or mode changes: its times move whenever an entry inside it changes, and those
    /// entries are reported themselves.
    pub fn changes(&self, after: &Snapshot, may_change: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (path, old) in &self.entries {
            match after.entries.get(path) {
                None => out.push(path.clone()),
                Some(new) if old.is_dir && new.is_dir => {
                    if old.mode != new.mode {
                        out.push(path.clone());
                    }
                }
                Some(new) if new != old && !may_change(path) => out.push(path.clone()),
                Some(_) => {}
            }
        }
        for path in after.entries.keys() {
            if !self.entries.contains_key(path) && !may_change(path) {
                out.push(path.clone());
            }
        }
        out.sort();
        out
    }
}

/// Whether `rel` (relative to a git directory) is a loose object or its fan-out directory: git
/// commands an agent may run (`git add`, `git stash`) write new ones and refresh the mtime of
/// existing ones, and neither changes anything a ref points to (an object's name is its hash).
pub fn is_loose_object(rel: &Path) -> bool {
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    let hex = |s: &str, lens: &[usize]| {
        lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    match parts.as_slice() {
        ["objects", fan] => hex(fan, &[2]),
        ["objects", fan, rest] => hex(fan, &[2]) && hex(rest, &[38, 62]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rel: &str, expected: bool) {
        assert_eq!(is_loose_object(Path::new(rel)), expected, "{rel}");
    }

    #[test]
    fn loose_objects() {
        check("objects/ab", true);
        check(&format!("objects/ab/{}", "c".repeat(38)), true);
        check(&format!("objects/ab/{}", "c".repeat(62)), true);
        check("objects/ab/cd", false);
        check("objects/pack/x.pack", false);
        check("objects/zz", false);
        check("hooks/pre-commit", false);
        check(&format!("refs/ab/{}", "c".repeat(38)), false);
    }

    #[test]
    fn sees_created_modified_deleted() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir(root.join("skip"))?;
        std::fs::write(root.join("keep"), "a")?;
        std::fs::write(root.join("change"), "a")?;
        std::fs::write(root.join("gone"), "a")?;
        let mut before = Snapshot::default();
        before.take(root, &[root.join("skip")]);
        std::fs::write(root.join("change"), "bb")?;
        std::fs::remove_file(root.join("gone"))?;
        std::fs::write(root.join("new"), "a")?;
        std::fs::write(root.join("allowed"), "a")?;
        std::fs::write(root.join("skip").join("inside"), "a")?;
        let mut after = Snapshot::default();
        after.take(root, &[root.join("skip")]);
        let got = before.changes(&after, |p| p.ends_with("allowed"));
        let want: Vec<PathBuf> = ["change", "gone", "new"]
            .iter()
            .map(|n| root.join(n))
            .collect();
        assert_eq!(got, want);
        Ok(())
    }
}
