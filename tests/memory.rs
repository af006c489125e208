//! Memory reached from nodes through the protocol, with real processes: during a shipped run the
//! nodes record what their checks showed and read what others recorded into their agents'
//! prompts; a record from a node that does not own the repo at the current epoch is refused and
//! changes nothing, and the coordinator goes on serving.
#![allow(clippy::unwrap_used)]

mod support;

use protocol::memory::{FactView, MemoryQuery, MemoryRecord, ObservedFact};
use protocol::targets::MEMORY;
use protocol::{Body, ErrorCode};
use serde_json::Value;
use std::time::Duration;
use support::fleet::Fleet;
use support::rpc::call_as;
use support::wait_until;

fn query(fleet: &Fleet, addr: &str, as_node: &str, repo: &str) -> Vec<FactView> {
    let body = Body::MemoryQuery {
        query: MemoryQuery {
            repos: vec![repo.into()],
            contracts: vec![],
            limit: 200,
        },
    };
    match call_as(&fleet.certs, as_node, addr, MEMORY, body, None) {
        Body::MemoryFacts { facts } => facts,
        other => panic!("expected facts, got {other:?}"),
    }
}

/// The predicate the test's own records use.
const PROBE: &str = "check.probe.note";

fn note(subject: &str, value: &str) -> MemoryRecord {
    MemoryRecord {
        repo: "backend".into(),
        run_id: "manual".into(),
        step: "probe".into(),
        commit: "0000000".into(),
        facts: vec![ObservedFact {
            subject: subject.into(),
            predicate: PROBE.into(),
            object: value.into(),
            path: "factory.toml".into(),
        }],
    }
}

/// Record as `node` under `epoch`; the error code, or `None` when it was recorded.
fn record(
    fleet: &Fleet,
    addr: &str,
    node: &str,
    epoch: Option<u64>,
    r: MemoryRecord,
) -> Result<protocol::memory::MemoryRecorded, ErrorCode> {
    let body = Body::MemoryRecord {
        record: Box::new(r),
    };
    match call_as(&fleet.certs, node, addr, MEMORY, body, epoch) {
        Body::MemoryRecorded { summary } => Ok(summary),
        Body::Error { code, detail } => {
            assert!(
                detail.contains("refused") || code != ErrorCode::StaleEpoch,
                "{detail}"
            );
            Err(code)
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

/// (node, head) of every attempt of backend's task.
fn backend_attempts(run: &Value) -> Vec<(String, String)> {
    let task = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["repo"] == "backend")
        .unwrap();
    task["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["node"].as_str().unwrap().to_owned(),
                r["head"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn nodes_read_and_write_memory_through_the_protocol_and_writes_are_fenced() {
    let fleet = Fleet::new(false);
    let (_coordinator, addr) = fleet.coordinator("127.0.0.1:0");
    let mut nodes: Vec<_> = ["node-1", "node-2"]
        .iter()
        .map(|n| fleet.node(n, &addr, &[], &[]))
        .collect();
    fleet.wait_settled(&addr, 2);
    let run_id = fleet.ship(&addr);
    let run = fleet.wait_finished(&addr, &run_id);
    assert_eq!(run["status"], "delivered", "{}", run["error"]);

    // The node that ran backend's checks recorded them, with provenance, under its epoch (a
    // later attempt with the same outcome confirms the fact rather than adding one).
    let attempts = backend_attempts(&run);
    let facts = query(&fleet, &addr, "node-1", "backend");
    let test = facts
        .iter()
        .find(|f| f.subject == "repo:backend" && f.predicate == "check.test.status")
        .unwrap_or_else(|| panic!("no check fact in {facts:#?}"));
    assert_eq!(test.object, "passes");
    assert_eq!(test.method, "observed");
    assert!(
        attempts.iter().any(|(node, head)| test.agent == *node
            && test.source == format!("backend@{head}:factory.toml")),
        "{test:?} is from none of {attempts:?}"
    );
    assert_eq!(test.run.as_deref(), Some(run_id.as_str()));

    // A reader's agent got that fact in its prompt: its node asked Memory before it ran.
    let prompt = fleet
        .state
        .join("artifacts")
        .join(&run_id)
        .join("frontend/attempt-1/prompt.md");
    let prompt =
        std::fs::read_to_string(&prompt).unwrap_or_else(|e| panic!("{}: {e}", prompt.display()));
    assert!(
        prompt.contains("repo:backend check.test.status passes (run ")
            && prompt.contains("observed by node-"),
        "{prompt}"
    );

    // Writes are fenced by the shard: only the owner, only at the current epoch, only about
    // its repo and the contracts it provides.
    let (owner, epoch) = fleet.shard(&addr, "backend");
    let owner = owner.unwrap();
    let other = if owner == "node-1" {
        "node-2"
    } else {
        "node-1"
    };
    let cases = [
        (
            other,
            Some(epoch),
            "repo:backend",
            Err(ErrorCode::Unauthorized),
        ),
        (
            "admin",
            Some(epoch),
            "repo:backend",
            Err(ErrorCode::Unauthorized),
        ),
        (
            owner.as_str(),
            Some(epoch + 1),
            "repo:backend",
            Err(ErrorCode::StaleEpoch),
        ),
        (
            owner.as_str(),
            None,
            "repo:backend",
            Err(ErrorCode::Malformed),
        ),
        (
            owner.as_str(),
            Some(epoch),
            "repo:frontend",
            Err(ErrorCode::Unauthorized),
        ),
    ];
    for (who, at, subject, want) in cases {
        let got = record(&fleet, &addr, who, at, note(subject, "refused")).map(|_| ());
        assert_eq!(got, want, "{who} at {at:?} about {subject}");
    }
    // Only check observations: the Learner's facts are not a node's to contradict.
    let mut learned = note("repo:backend", "refused");
    learned.facts[0].predicate = "setup.missing-step".into();
    let got = record(&fleet, &addr, &owner, Some(epoch), learned).map(|_| ());
    assert_eq!(got, Err(ErrorCode::Unauthorized));
    let probes = |fleet: &Fleet| -> Vec<String> {
        query(fleet, &addr, other, "backend")
            .into_iter()
            .filter(|f| f.predicate == PROBE)
            .map(|f| f.object)
            .collect()
    };
    assert!(
        probes(&fleet).is_empty(),
        "a refused record wrote something"
    );

    // The owner is heard: recorded, then confirmed, then contradicted (the old fact closed).
    let owner_says = |value: &str| {
        record(
            &fleet,
            &addr,
            &owner,
            Some(epoch),
            note("repo:backend", value),
        )
        .unwrap()
    };
    let first = owner_says("v1");
    assert_eq!((first.recorded, first.confirmed, first.closed), (1, 0, 0));
    let again = owner_says("v1");
    assert_eq!((again.recorded, again.confirmed), (0, 1));
    let changed = owner_says("v2");
    assert_eq!((changed.recorded, changed.closed), (1, 1));
    assert_eq!(probes(&fleet), vec!["v2".to_owned()]);

    // The owner dies and the repo moves on: what it says under its old epoch is refused, what
    // its successor says under the new one is heard.
    nodes[if owner == "node-1" { 0 } else { 1 }].kill();
    let moved = wait_until("backend to move", Duration::from_secs(30), || {
        let (now, at) = fleet.shard(&addr, "backend");
        (now.as_deref() == Some(other) && at > epoch).then_some(at)
    });
    let late = record(
        &fleet,
        &addr,
        &owner,
        Some(epoch),
        note("repo:backend", "v3"),
    );
    assert_eq!(late.map(|_| ()), Err(ErrorCode::StaleEpoch));
    let heard = record(
        &fleet,
        &addr,
        other,
        Some(moved),
        note("repo:backend", "v4"),
    )
    .unwrap();
    assert_eq!(heard.recorded, 1);
    assert_eq!(probes(&fleet), vec!["v4".to_owned()]);
}
