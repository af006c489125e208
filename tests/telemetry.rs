//! One trace across processes: the real binary exporting OTLP to an in-process collector.
#![allow(clippy::unwrap_used)]

mod support;

use fake_opentelemetry_collector::{ExportedSpan, FakeCollectorServer};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Certs, Proc, wait_until};

const WAIT: Duration = Duration::from_secs(20);

/// Spans the collector has received so far.
type Received = Arc<Mutex<Vec<ExportedSpan>>>;

/// Starts a collector on `rt` and a task that moves what it receives into the returned list
/// (its channel is small, so it must be drained while processes export, not afterwards).
fn collector(rt: &tokio::runtime::Runtime) -> (String, Received) {
    let mut server = rt.block_on(FakeCollectorServer::start()).unwrap();
    let endpoint = server.endpoint();
    let received = Received::default();
    let sink = received.clone();
    rt.spawn(async move {
        loop {
            let spans = server.exported_spans(1, Duration::from_millis(200)).await;
            sink.lock().unwrap().extend(spans);
        }
    });
    (endpoint, received)
}

/// A string attribute of `span`. The collector renders values with `Debug`, as in
/// `Some(AnyValue { value: Some(StringValue("register")) })`; this takes the quoted string.
fn attr(span: &ExportedSpan, key: &str) -> Option<String> {
    let rendered = span.attributes.get(key)?;
    let start = rendered.find("StringValue(\"")? + "StringValue(\"".len();
    let len = rendered[start..].find("\")")?;
    Some(rendered[start..start + len].to_owned())
}

/// The `rpc.client` and `rpc.server` spans of the first `kind` call, once both arrived.
fn call_spans(received: &Received, kind: &str) -> Option<(ExportedSpan, ExportedSpan)> {
    let spans = received.lock().unwrap();
    let of = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name && attr(s, "kind").as_deref() == Some(kind))
            .cloned()
    };
    Some((of("rpc.client")?, of("rpc.server")?))
}

#[test]
fn a_register_call_is_one_trace_across_node_and_coordinator() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, received) = collector(&rt);
    // A schedule delay far beyond the test's length: spans can only arrive through the flush
    // on SIGTERM, which is what this test checks along with the parent links.
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
    ];
    let certs = Certs::new();
    certs.issue(&["coordinator", "node-1"]);
    let certs_dir = certs.arg();
    let mut coordinator = Proc::spawn_with_env(
        "coordinator",
        &[
            "coordinator",
            "--listen",
            "127.0.0.1:0",
            "--certs",
            &certs_dir,
            "--repo",
            "api",
        ],
        &env,
    );
    let line = coordinator.wait_stdout("coordinator listening on ", WAIT);
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    let mut node = Proc::spawn_with_env(
        "node-1",
        &[
            "node", "--join", &addr, "--certs", &certs_dir, "--name", "node-1",
        ],
        &env,
    );
    node.wait_stdout("registered with", WAIT);

    node.terminate();
    assert!(
        node.wait_exit(WAIT).success(),
        "node exits cleanly on SIGTERM"
    );
    coordinator.terminate();
    assert!(
        coordinator.wait_exit(WAIT).success(),
        "coordinator exits cleanly on SIGTERM"
    );

    let (client, server) = wait_until("register spans at the collector", WAIT, || {
        call_spans(&received, "register")
    });
    assert_eq!(
        server.trace_id, client.trace_id,
        "one trace across processes"
    );
    assert_eq!(
        server.parent_span_id, client.span_id,
        "server span's parent"
    );
    assert_eq!(client.kind, "SPAN_KIND_CLIENT");
    assert_eq!(server.kind, "SPAN_KIND_SERVER");
    assert_eq!(attr(&server, "peer").as_deref(), Some("node-1"));
    assert_eq!(attr(&client, "target").as_deref(), Some("coordinator"));
}
