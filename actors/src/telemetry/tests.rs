//! Header round-trips without a tracer, and parent links with a real SDK tracer in memory.

use super::*;
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use protocol::Body;
use tracing_subscriber::layer::SubscriberExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Extracts from `input` and injects the result into an empty map.
fn check(input: &[(&str, &str)], expected: &[(&str, &str)]) {
    let mut out = Headers::new();
    inject_context(&extract(&headers(input)), &mut out);
    assert_eq!(out, headers(expected), "input {input:?}");
}

#[test]
fn trace_context_round_trips_through_headers() {
    let tp = format!("00-{TRACE}-{PARENT}-01");
    let unsampled = format!("00-{TRACE}-{PARENT}-00");
    check(&[(TRACEPARENT, &tp)], &[(TRACEPARENT, &tp)]);
    check(
        &[(TRACEPARENT, &tp), (TRACESTATE, "vendor=x")],
        &[(TRACEPARENT, &tp), (TRACESTATE, "vendor=x")],
    );
    check(&[(TRACEPARENT, &unsampled)], &[(TRACEPARENT, &unsampled)]);
    // Unrelated headers are not the propagator's business.
    check(&[(TRACEPARENT, &tp), ("other", "1")], &[(TRACEPARENT, &tp)]);
}

#[test]
fn malformed_trace_context_is_ignored() {
    let zero_trace = format!("00-{}-{PARENT}-01", "0".repeat(32));
    let upper = format!("00-{}-{PARENT}-01", TRACE.to_uppercase());
    let short = format!("00-{TRACE}-{PARENT}");
    let bad_version = format!("ff-{TRACE}-{PARENT}-01");
    for bad in [
        "",
        "garbage",
        "00-zz-yy-01",
        &zero_trace,
        &upper,
        &short,
        &bad_version,
    ] {
        check(&[(TRACEPARENT, bad)], &[]);
    }
    check(&[(TRACESTATE, "vendor=x")], &[]);
    check(&[], &[]);
}

#[test]
fn an_existing_traceparent_is_not_overwritten() {
    let theirs = format!("00-{TRACE}-{PARENT}-01");
    let ours = extract(&headers(&[(
        TRACEPARENT,
        "00-11111111111111111111111111111111-2222222222222222-01",
    )]));
    let mut out = headers(&[(TRACEPARENT, &theirs)]);
    inject_context(&ours, &mut out);
    assert_eq!(out, headers(&[(TRACEPARENT, &theirs)]));
}

/// Runs `f` under a subscriber with an OpenTelemetry layer and returns the finished spans.
fn traced(f: impl FnOnce()) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}

fn ping() -> Envelope {
    Envelope::request("net/ping", u64::MAX, Body::Ping { payload: vec![] })
}

#[test]
fn the_server_span_is_a_child_of_the_client_span() {
    let spans = traced(|| {
        let mut req = ping();
        let client = client_span(&"node-b", &mut req);
        assert!(req.headers.contains_key(TRACEPARENT));
        // The envelope crosses the wire; the server sees only its headers.
        let server = server_span(&"node-a", &req);
        drop(server.entered());
        drop(client);
    });
    let (client, server) = (named(&spans, "rpc.client"), named(&spans, "rpc.server"));
    assert_eq!(
        server.span_context.trace_id(),
        client.span_context.trace_id()
    );
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
}

#[test]
fn a_malformed_traceparent_starts_a_new_root() {
    let spans = traced(|| {
        let req = ping().with_header(TRACEPARENT, "00-not-a-trace-01");
        drop(server_span(&"node-a", &req));
    });
    let server = named(&spans, "rpc.server");
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_ne!(server.span_context.trace_id(), TraceId::INVALID);
}

#[test]
fn a_resumed_run_continues_its_stored_trace() {
    let run = RunId(uuid::Uuid::now_v7());
    let mut stored = None;
    let mut resumed = None;
    let spans = traced(|| {
        let first = run_span(&run, None);
        stored = traceparent_of(&first);
        drop(first);
        let second = run_span(&run, stored.as_deref());
        resumed = traceparent_of(&second);
    });
    let stored = stored.expect("a traced run span has a traceparent");
    let resumed = resumed.expect("a traced run span has a traceparent");
    let runs: Vec<&SpanData> = spans.iter().filter(|s| s.name == "run").collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].parent_span_id, SpanId::INVALID);
    assert_eq!(runs[1].parent_span_id, runs[0].span_context.span_id());
    assert_eq!(
        runs[1].span_context.trace_id(),
        runs[0].span_context.trace_id()
    );
    assert!(stored.contains(&runs[0].span_context.trace_id().to_string()));
    assert!(resumed.contains(&runs[1].span_context.span_id().to_string()));
}

#[test]
fn without_an_opentelemetry_layer_nothing_is_injected() {
    let run = run_span(&RunId(uuid::Uuid::now_v7()), None);
    assert_eq!(traceparent_of(&run), None);
    let mut req = ping();
    let _span = client_span(&"node-b", &mut req);
    assert!(req.headers.is_empty());
}
