//! W3C trace context across processes, and the spans every RPC and run opens.
//!
//! One trace per run across the coordinator and every node: the client side writes the current
//! span's context into the envelope's `traceparent` / `tracestate` headers, and the server side
//! opens its span with that context as the parent. These helpers only read and write span
//! context through `tracing-opentelemetry`; without an OpenTelemetry layer installed (telemetry
//! off) spans carry no context, nothing is injected and extraction yields an empty context.
//!
//! Owns: header injection and extraction, the `rpc.client` / `rpc.server` / `run` spans.
//! Does not own: exporters or subscribers (only the binary installs those).

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use protocol::{Envelope, RunId, TRACEPARENT, TRACESTATE};
use std::collections::BTreeMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The envelope's header map.
pub type Headers = BTreeMap<String, String>;

/// Writes the current span's trace context into `headers`, unless they already carry a
/// `traceparent` (a caller forwarding someone else's context explicitly wins).
pub fn inject(headers: &mut Headers) {
    inject_context(&Span::current().context(), headers);
}

/// Writes `cx`'s span context into `headers` unless a `traceparent` is already there. An empty
/// or invalid context writes nothing; an empty `tracestate` is left out.
pub fn inject_context(cx: &Context, headers: &mut Headers) {
    if headers.contains_key(TRACEPARENT) {
        return;
    }
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// The trace context carried by `headers`; an empty context when there is none or the
/// `traceparent` is malformed (a bad header from the network must not fail the request).
pub fn extract(headers: &Headers) -> Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Makes the context in `headers` the parent of `span`, if they carry a valid one; returns
/// whether they did. Call it right after creating the span, before entering it: the parent of
/// an OpenTelemetry span is fixed once the span starts.
pub fn set_remote_parent(span: &Span, headers: &Headers) -> bool {
    let cx = extract(headers);
    if !cx.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(cx).is_ok()
}

/// The span around one outgoing request or message; `peer` is the address or node called.
/// Its context is injected into the envelope's headers, so the server's span becomes its child.
pub fn client_span(peer: &dyn std::fmt::Display, req: &mut Envelope) -> Span {
    let span = tracing::info_span!(
        "rpc.client",
        otel.kind = "client",
        peer = %peer,
        kind = req.body.kind(),
        target = %req.target,
        request_id = %req.id,
        error = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    inject_context(&span.context(), &mut req.headers);
    span
}

/// Marks `span` (an `rpc.client` or `rpc.server` span) as failed with `error`.
pub fn record_error(span: &Span, error: &dyn std::fmt::Display) {
    span.record("error", tracing::field::display(error));
    span.record("otel.status_code", "ERROR");
}

/// The span a server runs one request or message in: a root in this process, whose parent is
/// the caller's span when the envelope carries its trace context.
pub fn server_span(peer: &dyn std::fmt::Display, req: &Envelope) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "rpc.server",
        otel.kind = "server",
        peer = %peer,
        kind = req.body.kind(),
        target = %req.target,
        request_id = %req.id,
        error = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    set_remote_parent(&span, &req.headers);
    span
}

/// The root span of a run. A new run starts a new trace; a run resumed after a coordinator
/// restart passes the `traceparent` stored with it, so its work stays in the same trace (a
/// malformed one starts a new trace rather than failing the run).
pub fn run_span(run_id: &RunId, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(parent: None, "run", run_id = %run_id);
    if let Some(traceparent) = traceparent {
        let headers = Headers::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
        set_remote_parent(&span, &headers);
    }
    span
}

/// `span`'s own context as a `traceparent` value, to store with a run; `None` when telemetry is
/// off (the span has no OpenTelemetry context).
pub fn traceparent_of(span: &Span) -> Option<String> {
    let mut headers = Headers::new();
    inject_context(&span.context(), &mut headers);
    headers.remove(TRACEPARENT)
}

/// Writes propagator output into a header map, skipping empty values.
struct HeaderInjector<'a>(&'a mut Headers);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes `tracestate` even when empty; an empty header is noise.
        if !value.is_empty() {
            self.0.insert(key.to_owned(), value);
        }
    }
}

/// Reads propagator input from a header map. Only the trace context headers are offered:
/// nothing else in the envelope is the propagator's business.
struct HeaderExtractor<'a>(&'a Headers);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        [TRACEPARENT, TRACESTATE]
            .into_iter()
            .filter(|k| self.0.contains_key(*k))
            .collect()
    }
}

#[cfg(test)]
mod tests;
