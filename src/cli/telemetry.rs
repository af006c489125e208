//! Exporting spans over OTLP, when the environment asks for it.
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and
//! `OTEL_SDK_DISABLED` is not `true`): then no exporter is built and nothing leaves the process.
//! When on, the standard variables apply: `OTEL_SERVICE_NAME` (default `factory-<subcommand>`),
//! `OTEL_EXPORTER_OTLP_PROTOCOL` / `..._TRACES_PROTOCOL` (`grpc`, the default, or
//! `http/protobuf`), `OTEL_TRACES_SAMPLER` / `..._ARG`, `OTEL_BSP_SCHEDULE_DELAY` and the other
//! batch settings, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS` and timeouts.

use anyhow::{Context, Result, bail};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use std::time::Duration;

/// Which spans reach the exporter: the factory's own, at info and above. Fixed rather than taken
/// from `RUST_LOG`, so quieter logs do not cut traces, and so the exporter's own HTTP/2 stack
/// never traces its exports (which would feed itself).
pub const SPAN_FILTER: &str = "off,factory=info";

/// How long shutdown may spend flushing the last spans.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over gRPC (tonic), the default.
    Grpc,
    /// OTLP over HTTP with protobuf bodies (blocking client).
    HttpProtobuf,
}

/// What the environment asks for, when it asks for export at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// The transport.
    pub protocol: Protocol,
}

impl Settings {
    /// Reads the settings through `var` (the process environment in production); `None` when
    /// export is off. `subcommand` names the default service, `factory-<subcommand>`.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        subcommand: &str,
    ) -> Result<Option<Self>> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        if set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none()
            && set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
        {
            return Ok(None);
        }
        let protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"));
        let protocol = match protocol.as_deref().map(str::trim) {
            None | Some("grpc") => Protocol::Grpc,
            Some("http/protobuf") => Protocol::HttpProtobuf,
            Some(other) => bail!("unsupported OTLP protocol {other:?} (use grpc or http/protobuf)"),
        };
        let service_name =
            set("OTEL_SERVICE_NAME").unwrap_or_else(|| format!("factory-{subcommand}"));
        Ok(Some(Settings {
            service_name,
            protocol,
        }))
    }
}

/// Keeps the exporter alive; dropping it flushes the spans still queued and shuts the exporter
/// down. `main` holds it until the subcommand returns.
#[derive(Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    /// The gRPC exporter's runtime: tonic's channel runs its connection on it, while the batch
    /// processor exports from its own thread. Separate from any subcommand's runtime, so export
    /// works for every subcommand and outlives the subcommand's runtime for the final flush.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown_with_timeout(FLUSH_TIMEOUT)
        {
            tracing::warn!(%error, "telemetry.shutdown spans may be lost");
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// A running exporter: the tracer for the tracing layer and the guard that flushes it.
pub struct Exporting {
    /// The tracer the `tracing-opentelemetry` layer records into.
    pub tracer: SdkTracer,
    /// Flushes on drop.
    pub guard: TelemetryGuard,
    /// What was asked for.
    pub settings: Settings,
}

/// Builds the exporter the environment asks for; `Ok(None)` when export is off.
pub fn start(subcommand: &str) -> Result<Option<Exporting>> {
    let Some(settings) = Settings::from_env(|name| std::env::var(name).ok(), subcommand)? else {
        return Ok(None);
    };
    let (exporter, runtime) = match settings.protocol {
        Protocol::Grpc => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-export")
                .enable_all()
                .build()
                .context("starting the OTLP export runtime")?;
            // tonic spawns its connection task at build time, so build inside the runtime.
            let exporter = {
                let _entered = runtime.enter();
                SpanExporter::builder().with_tonic().build()
            };
            (exporter, Some(runtime))
        }
        Protocol::HttpProtobuf => {
            let exporter = SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .build();
            (exporter, None)
        }
    };
    let exporter = exporter.context("building the OTLP span exporter")?;
    // The builder reads the sampler (OTEL_TRACES_SAMPLER) and the batch settings (OTEL_BSP_*)
    // from the environment itself.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("factory");
    Ok(Some(Exporting {
        tracer,
        guard: TelemetryGuard {
            provider: Some(provider),
            runtime,
        },
        settings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Settings::from_env` over the `vars` given, for the `node` subcommand.
    fn check(vars: &[(&str, &str)], expected: Result<Option<(&str, Protocol)>, &str>) {
        let got = Settings::from_env(
            |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            },
            "node",
        );
        match (got, expected) {
            (Ok(got), Ok(expected)) => assert_eq!(
                got,
                expected.map(|(service_name, protocol)| Settings {
                    service_name: service_name.to_owned(),
                    protocol
                }),
                "{vars:?}"
            ),
            (Err(error), Err(needle)) => assert!(error.to_string().contains(needle), "{error}"),
            (got, expected) => panic!("{vars:?}: got {got:?}, expected {expected:?}"),
        }
    }

    const ENDPOINT: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");

    #[test]
    fn export_is_off_unless_an_endpoint_is_set() {
        check(&[], Ok(None));
        check(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")], Ok(None));
        check(&[("OTEL_SERVICE_NAME", "x")], Ok(None));
        check(&[ENDPOINT, ("OTEL_SDK_DISABLED", "TRUE")], Ok(None));
        check(&[ENDPOINT], Ok(Some(("factory-node", Protocol::Grpc))));
        check(
            &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://h:4317")],
            Ok(Some(("factory-node", Protocol::Grpc))),
        );
    }

    #[test]
    fn service_name_and_protocol_follow_the_environment() {
        check(
            &[ENDPOINT, ("OTEL_SERVICE_NAME", "farm-7")],
            Ok(Some(("farm-7", Protocol::Grpc))),
        );
        check(
            &[ENDPOINT, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
            Ok(Some(("factory-node", Protocol::HttpProtobuf))),
        );
        // The traces-specific variable wins over the general one.
        check(
            &[
                ENDPOINT,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ],
            Ok(Some(("factory-node", Protocol::Grpc))),
        );
        check(
            &[ENDPOINT, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
            Err("unsupported OTLP protocol"),
        );
    }
}
