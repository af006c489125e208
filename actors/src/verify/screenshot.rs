//! Screenshots of UI pages with headless Chromium, and the rendered DOM for checking what a page
//! shows once its scripts have run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::VerifyError;
use super::process::{GroupGuard, filtered_env, sha256_file};

/// Where Debian's `chromium` package puts the browser.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// A PNG file starts with these eight bytes.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Smaller than this, a "screenshot" cannot hold a rendered 1280x800 page.
const MIN_PNG_BYTES: u64 = 1024;

/// At most this much of Chromium's output is kept (the DOM, or stderr for errors).
const OUTPUT_LIMIT_BYTES: u64 = 8 << 20;

/// A file produced by verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Where it is.
    pub path: PathBuf,
    /// SHA-256 of its contents.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// The Chromium binary: `FACTORY_CHROMIUM` if set, else the Debian path; an error telling how
/// to install it when it is not there.
pub fn chromium_path() -> Result<PathBuf, VerifyError> {
    let path = std::env::var_os("FACTORY_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    if path.is_file() {
        Ok(path)
    } else {
        Err(VerifyError::ChromiumMissing(path))
    }
}

/// The browser window, in CSS pixels: a laptop screen.
pub const DEFAULT_WINDOW: (u32, u32) = (1280, 800);

/// Loads `url` in headless Chromium (1280x800, 5 s of virtual time for scripts and fetches) and
/// writes a PNG to `out_png`.
pub async fn screenshot(
    url: &str,
    out_png: &Path,
    timeout: Duration,
) -> Result<ArtifactRef, VerifyError> {
    screenshot_sized(url, out_png, timeout, DEFAULT_WINDOW).await
}

/// Like [`screenshot`] with a window of `(width, height)` pixels; a taller window shows more
/// of a long page in one image.
pub async fn screenshot_sized(
    url: &str,
    out_png: &Path,
    timeout: Duration,
    window: (u32, u32),
) -> Result<ArtifactRef, VerifyError> {
    let out_png = std::path::absolute(out_png)
        .map_err(|e| VerifyError::io(format!("resolve {}", out_png.display()), e))?;
    if let Some(parent) = out_png.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| VerifyError::io(format!("create {}", parent.display()), e))?;
    }
    // A stale file from an earlier run must not pass for this run's screenshot.
    let _ = std::fs::remove_file(&out_png);
    let flag = format!("--screenshot={}", out_png.display());
    let (_, stderr) = run_chromium(&[&flag], url, timeout, window).await?;
    let bytes = std::fs::read(&out_png).map_err(|_| {
        VerifyError::Chromium(format!(
            "no screenshot written for {url}; stderr: {}",
            last_lines(&stderr)
        ))
    })?;
    check_png(&bytes)
        .map_err(|why| VerifyError::Chromium(format!("{}: {why}", out_png.display())))?;
    Ok(ArtifactRef {
        sha256: sha256_file(&out_png)?,
        bytes: bytes.len() as u64,
        path: out_png,
    })
}

/// The page's DOM after its scripts ran (`--dump-dom`), to check what it shows.
pub async fn dump_dom(url: &str, timeout: Duration) -> Result<String, VerifyError> {
    let (stdout, stderr) = run_chromium(&["--dump-dom"], url, timeout, DEFAULT_WINDOW).await?;
    if stdout.trim().is_empty() {
        return Err(VerifyError::Chromium(format!(
            "empty DOM for {url}; stderr: {}",
            last_lines(&stderr)
        )));
    }
    Ok(stdout)
}

/// Runs Chromium once with a fresh profile, in its own process group, killed at the deadline.
/// Returns (stdout, stderr).
async fn run_chromium(
    extra: &[&str],
    url: &str,
    timeout: Duration,
    (width, height): (u32, u32),
) -> Result<(String, String), VerifyError> {
    let chromium = chromium_path()?;
    // A fresh profile per call: no cache, cookies or service workers carried between pages.
    let profile = tempfile::Builder::new()
        .prefix("factory-chromium-")
        .tempdir()
        .map_err(|e| VerifyError::io("create a chromium profile dir", e))?;
    let mut child = tokio::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .env_clear()
        .envs(filtered_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| VerifyError::io(format!("start {}", chromium.display()), e))?;
    // Chromium forks renderers and helpers; the guard kills them all, whatever happens below.
    let _guard = GroupGuard::new(child.id());
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(VerifyError::Chromium("pipes missing".into()));
    };
    let run = async {
        let (mut o, mut e) = (Vec::new(), Vec::new());
        let (mut out, mut err) = (out.take(OUTPUT_LIMIT_BYTES), err.take(OUTPUT_LIMIT_BYTES));
        let (ro, re, status) = tokio::join!(
            out.read_to_end(&mut o),
            err.read_to_end(&mut e),
            child.wait()
        );
        (ro.and(re).and(status), o, e)
    };
    let (status, stdout, stderr) =
        tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| VerifyError::Timeout {
                what: format!("chromium on {url}"),
                waited_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            })?;
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    let status = status.map_err(|e| VerifyError::io("run chromium", e))?;
    if !status.success() {
        return Err(VerifyError::Chromium(format!(
            "{status} on {url}; stderr: {}",
            last_lines(&stderr)
        )));
    }
    Ok((stdout, stderr))
}

/// Accepts a PNG of non-trivial size with a sane header (signature, then IHDR with a size).
fn check_png(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err("not a PNG (bad signature)".into());
    }
    if (bytes.len() as u64) < MIN_PNG_BYTES {
        return Err(format!("only {} bytes", bytes.len()));
    }
    let ihdr = bytes.get(12..24).ok_or("no IHDR chunk")?;
    if &ihdr[..4] != b"IHDR" {
        return Err("first chunk is not IHDR".into());
    }
    let width = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    let height = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    if width == 0 || height == 0 {
        return Err(format!("empty image {width}x{height}"));
    }
    Ok(())
}

/// The last few lines of Chromium's (chatty) stderr, for error messages.
fn last_lines(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

#[cfg(test)]
#[path = "screenshot_tests.rs"]
mod tests;
