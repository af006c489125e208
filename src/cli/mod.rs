//! Subcommand implementations, one file (or folder) per group.

pub mod bench;
pub mod certs;
pub mod cluster;
pub mod demo;
pub mod learner;
pub mod memory;
pub mod org;
pub mod runs;
pub mod telemetry;
pub mod tokens;

use std::io::IsTerminal;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`); stdout carries readiness lines and
/// command output. No colour codes unless stderr is a terminal, so logs grep cleanly.
///
/// When the environment names an OTLP endpoint, spans are also exported (see [`telemetry`]);
/// the returned guard flushes them when dropped, so `main` keeps it to the end.
pub fn init_tracing(subcommand: &str) -> telemetry::TelemetryGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let started = telemetry::start(subcommand);
    let (otel, exporting, guard) = match started {
        Ok(Some(exporting)) => {
            let layer = tracing_opentelemetry::layer()
                .with_tracer(exporting.tracer)
                .with_filter(tracing_subscriber::EnvFilter::new(telemetry::SPAN_FILTER));
            (Some(layer), Ok(Some(exporting.settings)), exporting.guard)
        }
        Ok(None) => (None, Ok(None), telemetry::TelemetryGuard::default()),
        Err(error) => (None, Err(error), telemetry::TelemetryGuard::default()),
    };
    tracing_subscriber::registry().with(otel).with(fmt).init();
    match exporting {
        Ok(Some(settings)) => tracing::debug!(
            service = %settings.service_name,
            protocol = ?settings.protocol,
            "telemetry.init exporting spans over otlp"
        ),
        Ok(None) => {}
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "telemetry.init spans are not exported"
        ),
    }
    guard
}
