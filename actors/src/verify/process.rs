//! Process plumbing shared by checks, the sandbox and screenshots: a filtered environment,
//! process-group clean-up, log tails and file hashes.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use rustix::process::{Pid, Signal, kill_process_group};
use sha2::{Digest, Sha256};

use super::VerifyError;

/// Variables a child may inherit from us. Everything else (tokens, cloud credentials, the
/// factory's own settings) is dropped, so checks run the same on every node and cannot read
/// secrets they were not given.
const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TERM",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "GOPATH",
    "GOCACHE",
    "GOMODCACHE",
    "NODE_PATH",
];

/// The part of our environment a child process may see.
pub(crate) fn filtered_env() -> Vec<(String, String)> {
    PASSED_THROUGH
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v)))
        .collect()
}

/// Kills a whole process group when dropped, so nothing a child started outlives its owner,
/// even when the owning future is cancelled.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    /// Guards the group led by `pid` (the child was spawned with `process_group(0)`, so its pid
    /// is its group id). `None` (a child that already exited) guards nothing.
    pub(crate) fn new(pid: Option<u32>) -> Self {
        let pgid = pid
            .and_then(|p| i32::try_from(p).ok())
            .and_then(Pid::from_raw);
        GroupGuard { pgid }
    }

    /// The group id, if any.
    pub(crate) fn pgid(&self) -> Option<u32> {
        self.pgid.map(|p| p.as_raw_nonzero().get().unsigned_abs())
    }

    /// Sends SIGKILL to every process of the group. A group that is already gone is fine.
    pub(crate) fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // ESRCH (no such group) is the normal case after a clean exit.
            let _ = kill_process_group(pgid, Signal::KILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `max_bytes` of a file as text (lossy), or a note saying why it could not be read.
pub(crate) fn tail(path: &Path, max_bytes: u64) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(max_bytes)))?;
        let mut buf = Vec::new();
        f.take(max_bytes).read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    read().unwrap_or_else(|e| format!("(log {} unreadable: {e})", path.display()))
}

/// The hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String, VerifyError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| VerifyError::io(format!("open {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| VerifyError::io(format!("read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_passed_through() {
        let env = filtered_env();
        assert!(
            env.iter()
                .all(|(k, _)| PASSED_THROUGH.contains(&k.as_str()))
        );
    }

    #[test]
    fn tail_keeps_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(tail(&p, 4), "6789");
        assert_eq!(tail(&p, 100), "0123456789");
        assert!(tail(&dir.path().join("none"), 4).contains("unreadable"));
    }

    #[test]
    fn sha256_of_known_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
