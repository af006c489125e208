//! Subcommand implementations, one file (or folder) per group.

pub mod bench;
pub mod certs;
pub mod cluster;
pub mod demo;
pub mod learner;
pub mod memory;
pub mod org;
pub mod runs;

use std::io::IsTerminal;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); stdout carries readiness lines and
/// command output. No colour codes unless stderr is a terminal, so logs grep cleanly.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
