//! The agent's process group: killing all of it, and capturing its output within a bound.

use std::path::Path;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Kills a whole process group with SIGKILL via the `kill` program (the crate forbids `unsafe`,
/// so no `libc::kill`). Errors are ignored: the group may already be gone.
pub fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Kills the group when dropped, so a cancelled run (the caller dropped its future) leaves
/// nothing behind.
pub struct GroupGuard {
    /// The process group id (the leader's pid).
    pub pgid: u32,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.pgid);
    }
}

/// Copies `from` into a new file at `to`, keeping the first `max` bytes and draining the rest so
/// the agent never blocks on a full pipe. Returns how many bytes were dropped.
pub async fn capture(
    mut from: impl AsyncRead + Unpin,
    to: &Path,
    max: u64,
) -> std::io::Result<u64> {
    let mut file = tokio::fs::File::create(to).await?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut kept = 0u64;
    let mut dropped = 0u64;
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let room = usize::try_from(max.saturating_sub(kept))
            .unwrap_or(usize::MAX)
            .min(n);
        file.write_all(&buf[..room]).await?;
        kept += room as u64;
        dropped += (n - room) as u64;
    }
    if dropped > 0 {
        let note = format!("\n[factory: output cut at {max} bytes, {dropped} bytes dropped]\n");
        file.write_all(note.as_bytes()).await?;
    }
    file.flush().await?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(input: &[u8], max: u64, expected: (&str, u64)) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("log");
        let dropped = capture(input, &path, max)
            .await
            .unwrap_or_else(|e| panic!("capture: {e}"));
        let kept = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!((kept.as_str(), dropped), expected);
    }

    #[tokio::test]
    async fn logs_are_bounded() {
        check(b"hello", 10, ("hello", 0)).await;
        check(
            b"hello world",
            5,
            (
                "hello\n[factory: output cut at 5 bytes, 6 bytes dropped]\n",
                6,
            ),
        )
        .await;
        check(b"", 5, ("", 0)).await;
    }
}
