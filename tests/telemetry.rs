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

/// An integer attribute of `span`, rendered by the collector as `IntValue(2)`.
fn int_attr(span: &ExportedSpan, key: &str) -> Option<i64> {
    let rendered = span.attributes.get(key)?;
    let start = rendered.find("IntValue(")? + "IntValue(".len();
    let len = rendered[start..].find(')')?;
    rendered[start..start + len].parse().ok()
}

/// The spans of one trace, by id, with their ancestry.
struct Trace {
    spans: Vec<ExportedSpan>,
}

impl Trace {
    fn named(&self, name: &str) -> Vec<&ExportedSpan> {
        self.spans.iter().filter(|s| s.name == name).collect()
    }

    fn parent(&self, span: &ExportedSpan) -> Option<&ExportedSpan> {
        self.spans.iter().find(|p| p.span_id == span.parent_span_id)
    }

    /// `span` and its ancestors up to the root, nearest first.
    fn ancestry<'a>(&'a self, span: &'a ExportedSpan) -> Vec<&'a ExportedSpan> {
        let mut chain = vec![span];
        while let Some(parent) = self.parent(chain[chain.len() - 1]) {
            assert!(chain.len() < 64, "a parent cycle in {chain:?}");
            chain.push(parent);
        }
        chain
    }

    fn names_up_from(&self, span: &ExportedSpan) -> Vec<String> {
        self.ancestry(span).iter().map(|s| s.name.clone()).collect()
    }
}

/// The spans of the trace holding the `run` span, once every kind of span a delivered run
/// makes has arrived from the coordinator and both nodes.
fn run_trace(received: &Received) -> Option<Trace> {
    let spans = received.lock().unwrap();
    let run = spans.iter().find(|s| s.name == "run")?;
    let trace = Trace {
        spans: spans
            .iter()
            .filter(|s| s.trace_id == run.trace_id)
            .cloned()
            .collect(),
    };
    let nodes: std::collections::BTreeSet<String> = trace
        .named("repo_agent.attempt")
        .into_iter()
        .chain(trace.named("verify.round"))
        .filter_map(|s| attr(s, "node"))
        .collect();
    let complete = [
        "run.plan",
        "run.task",
        "run.verify",
        "run.bundle",
        "repo_agent.attempt",
        "agent.invoke",
        "check.run",
        "verify.round",
        "verify.static",
        "verify.sandbox",
    ]
    .iter()
    .all(|name| !trace.named(name).is_empty());
    (complete && nodes.len() == 2).then_some(trace)
}

#[test]
fn a_run_is_one_trace_across_the_coordinator_and_two_nodes() {
    const RUN_WAIT: Duration = Duration::from_secs(900);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, received) = collector(&rt);
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    let (_keep, dir) = support::scratch();
    let org_dir = dir.join("org");
    let org = std::process::Command::new(support::factory_bin())
        .args(["example-org", "--out"])
        .arg(&org_dir)
        .output()
        .unwrap();
    assert!(
        org.status.success(),
        "example-org failed: {}",
        String::from_utf8_lossy(&org.stderr)
    );
    let org_toml = String::from_utf8(org.stdout).unwrap().trim().to_owned();
    let certs = Certs::new();
    // Placement is rendezvous hashing on names: these two split the example org, backend on
    // node-b and its readers (worker, frontend) on node-c, so both nodes work for the run.
    const NODES: [&str; 2] = ["node-b", "node-c"];
    certs.issue(&["coordinator", NODES[0], NODES[1], "admin"]);
    let certs_dir = certs.arg();
    let state = dir.join("state").display().to_string();
    let mut coordinator = Proc::spawn_with_env(
        "coordinator",
        &[
            "coordinator",
            "--org",
            &org_toml,
            "--state",
            &state,
            "--listen",
            "127.0.0.1:0",
            "--certs",
            &certs_dir,
        ],
        &env,
    );
    let line = coordinator.wait_stdout("coordinator listening on ", WAIT);
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    let work = dir.join("work").display().to_string();
    let mut nodes: Vec<Proc> = NODES
        .into_iter()
        .map(|name| {
            let node = Proc::spawn_with_env(
                name,
                &[
                    "node", "--join", &addr, "--certs", &certs_dir, "--name", name, "--work", &work,
                ],
                &env,
            );
            node.wait_stdout("registered with", WAIT);
            node
        })
        .collect();
    for node in &nodes {
        node.wait_stderr("shard granted", WAIT);
    }

    let mut ship = Proc::spawn(
        "ship",
        &[
            "ship",
            "--coordinator",
            &addr,
            "--certs",
            &certs_dir,
            "--name",
            "admin",
            "--title",
            "expose the order creation time to the dashboard and the email worker",
            "--change",
            "add orders.v1 createdAt string:date-time",
            "--change",
            "add order-events.v1 createdAt string:date-time",
        ],
    );
    let shipped = ship.wait_exit(RUN_WAIT);
    assert!(
        shipped.success(),
        "ship failed\nstderr:\n{}\ncoordinator:\n{}",
        ship.stderr(),
        coordinator.stderr()
    );

    for node in &nodes {
        node.terminate();
    }
    coordinator.terminate();
    for node in &mut nodes {
        assert!(node.wait_exit(WAIT).success(), "node exits cleanly");
    }
    assert!(
        coordinator.wait_exit(WAIT).success(),
        "coordinator exits cleanly"
    );

    let trace = wait_until("the run's spans from all three processes", WAIT, || {
        run_trace(&received)
    });
    let run = trace.named("run")[0];
    assert_eq!(trace.named("run").len(), 1, "one run span");
    assert!(trace.parent(run).is_none(), "the run span is the root");

    // Every attempt on a node hangs off the coordinator's task span for the same task and
    // attempt, through the RPC it came in on.
    for attempt in trace.named("repo_agent.attempt") {
        assert_eq!(
            trace.names_up_from(attempt),
            [
                "repo_agent.attempt",
                "rpc.server",
                "rpc.client",
                "run.task",
                "run"
            ],
        );
        let chain = trace.ancestry(attempt);
        let (server, task) = (chain[1], chain[3]);
        assert_eq!(attr(server, "peer").as_deref(), Some("coordinator"));
        assert_eq!(attr(task, "task"), attr(attempt, "task"));
        assert_eq!(int_attr(task, "attempt"), int_attr(attempt, "attempt"));
    }
    // The agent and each check run inside their attempt.
    for name in ["agent.invoke", "check.run"] {
        for span in trace.named(name) {
            let parent = trace.parent(span).map(|p| p.name.as_str());
            assert!(
                matches!(parent, Some("repo_agent.attempt" | "verify.round")),
                "{name} under {parent:?}"
            );
        }
    }
    assert!(
        trace
            .named("check.run")
            .iter()
            .any(|c| attr(c, "name").as_deref() == Some("test")),
        "a test check is traced"
    );
    // Every verification round hangs off the coordinator's verify span of the same round.
    for round in trace.named("verify.round") {
        assert_eq!(
            trace.names_up_from(round),
            [
                "verify.round",
                "rpc.server",
                "rpc.client",
                "run.verify",
                "run"
            ],
        );
        let verify = trace.ancestry(round)[3];
        assert_eq!(int_attr(verify, "round"), int_attr(round, "round"));
    }
    for name in ["verify.static", "verify.sandbox"] {
        for span in trace.named(name) {
            assert_eq!(trace.names_up_from(span)[1], "verify.round", "{name}");
        }
    }
    // The demo's mistake costs the backend a second attempt and a second round.
    assert!(trace.named("verify.round").len() >= 2);
    for name in ["run.plan", "run.bundle"] {
        assert_eq!(trace.names_up_from(trace.named(name)[0]), [name, "run"]);
    }
}
