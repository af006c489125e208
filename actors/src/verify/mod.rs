//! Verification mechanics: run a repo's checks, bring the changed system up in a sandbox, capture
//! the payloads it really writes, take screenshots of its pages, and report in JUnit XML and
//! Markdown.
//!
//! Owns: processes (each in its own process group, killed on time-out and on drop), log files,
//! a minimal HTTP client for loopback services, headless Chromium.
//! Does not own: deciding whether a payload is acceptable (the contract checks do that from what
//! is captured here), retry policy, or the actor that drives all this.

mod capture;
mod check;
#[cfg(test)]
mod fixtures;
mod http;
mod process;
pub(crate) mod report;
mod sandbox;
mod screenshot;

pub use capture::{Observed, capture_events, capture_events_within, capture_http};
pub use check::{CheckRecord, CheckSpec, LOG_LIMIT_BYTES, repo_checks, run_check};
pub use http::{HttpResponse, RESPONSE_LIMIT_BYTES, request};
pub use process::sha256_file;
pub use report::{junit_xml, markdown_report};
pub use sandbox::{HEALTH_TIMEOUT, Sandbox, ServiceSpec};
pub use screenshot::{
    ArtifactRef, DEFAULT_WINDOW, chromium_path, dump_dom, screenshot, screenshot_sized,
};

use std::path::PathBuf;

/// The brief's name for the error of [`Sandbox::start`]; it is the family's one error type.
pub type SandboxError = VerifyError;

/// Everything that can go wrong while verifying.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A sandbox service exited before it became healthy.
    #[error("service {name} exited early ({status}); log tail:\n{tail}")]
    ExitedEarly {
        /// Service name.
        name: String,
        /// Its exit status, as text.
        status: String,
        /// The end of its log.
        tail: String,
    },
    /// A sandbox service did not answer 200 on its health path in time.
    #[error("service {name} not healthy at {url} within {waited_ms} ms; log tail:\n{tail}")]
    NotHealthy {
        /// Service name.
        name: String,
        /// The health URL polled.
        url: String,
        /// How long we waited.
        waited_ms: u64,
        /// The end of its log.
        tail: String,
    },
    /// A name given to the sandbox is not one of its services.
    #[error("no service named {0} in the sandbox")]
    UnknownService(String),
    /// Two services share a name.
    #[error("service name {0} is used twice")]
    DuplicateService(String),
    /// A name that ends up in a file path has characters that could escape its directory.
    #[error("bad name {0:?}: use letters, digits, '-', '_' and '.' only")]
    BadName(String),
    /// An HTTP exchange failed or the response could not be parsed.
    #[error("http {context}: {reason}")]
    Http {
        /// `METHOD url`.
        context: String,
        /// What went wrong.
        reason: String,
    },
    /// A captured HTTP body is not JSON.
    #[error("{context} answered {status} with a body that is not JSON: {snippet}")]
    NotJson {
        /// `METHOD url`.
        context: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        snippet: String,
    },
    /// A trigger is not of the form `METHOD /path`.
    #[error("bad trigger {0:?}: expected \"METHOD /path\"")]
    BadTrigger(String),
    /// Waiting for something took longer than allowed.
    #[error("timed out after {waited_ms} ms waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long.
        waited_ms: u64,
    },
    /// A line of an event file is not JSON.
    #[error("{path}: line {line} is not JSON: {reason}")]
    BadEvent {
        /// The event file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        reason: String,
    },
    /// No Chromium binary where we looked.
    #[error("chromium not found at {0}: run scripts/setup.sh, or set FACTORY_CHROMIUM to its path")]
    ChromiumMissing(PathBuf),
    /// Chromium ran but did not produce a usable result.
    #[error("chromium failed: {0}")]
    Chromium(String),
}

impl VerifyError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        VerifyError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Checks that a name is safe to use as a single path component.
pub(crate) fn safe_name(name: &str) -> Result<&str, VerifyError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(VerifyError::BadName(name.to_string()))
    }
}
