//! Memory's QUIC face: the `memory` actor answering `MemoryQuery` and `MemoryRecord` from nodes.
//!
//! Memory lives on the coordinator (one redb file, one writer); nodes reach it here. Reads are
//! open to every authenticated peer. A record is a write about one repo, so it is fenced like a
//! task result: the envelope's epoch must be the shard's current one and the caller (named by its
//! certificate, not by anything in the body) must own the shard. A node that was cut off or
//! paused and lost the repo is refused, and nothing it says lands. A record speaks only of the
//! repo and the contracts it provides, and lands in one transaction or not at all.
//!
//! The fence is checked, then the write lands: a repo that moves in between can take one more
//! record from its former owner. Such a record reports checks that node did run, at the commit
//! it names, so it is late but not false; the write is not worth holding the membership actor.

use std::sync::Arc;

use actors::memory::{EntityKind, Fact, MemoryStore, Method, Provenance, Time, Write, new_fact_id};
use protocol::memory::{FactView, MemoryQuery, MemoryRecord, MemoryRecorded};
use protocol::{Body, Envelope, Epoch, ErrorCode, NodeId, RepoName};
use ractor::call_t;

use super::rpc::Answer;
use super::service::{Inner, RunService};
use crate::driver::now_unix_ms;
use crate::service::CoordinatorMsg;
use crate::shards::FenceError;

/// The most facts one query returns, whatever it asks for.
pub const MAX_FACTS: u32 = 200;
/// The most observations one record may carry.
pub const MAX_OBSERVATIONS: usize = 256;
/// The longest predicate, object or path an observation may carry, in bytes.
pub const MAX_TEXT: usize = 4096;
/// The longest run id, step or commit a record may carry, in bytes: each is copied into every
/// fact's provenance, so they are kept short.
pub const MAX_LABEL: usize = 256;
/// The most repos and contracts one query may name.
pub const MAX_NAMES: usize = 64;
/// What nodes may say: observations of checks (`check.<name>.<what>`). Facts the Learner and
/// the catalog record (mismatches, missing setup steps, declared fields) are not theirs to
/// contradict, and everything a node records reaches other repos' prompts.
pub const NODE_PREDICATE_PREFIX: &str = "check.";

/// The `memory` target: MemoryQuery and MemoryRecord.
pub struct Memory;

impl Answer for Memory {
    async fn answer(service: RunService, from: NodeId, envelope: Envelope) -> Body {
        let inner = service.inner();
        match envelope.body {
            Body::MemoryQuery { query } => answer(&inner.memory, query).await,
            Body::MemoryRecord { record } => match envelope.epoch {
                Some(epoch) => record_fenced(inner, &from, epoch, *record).await,
                None => Body::error(
                    ErrorCode::Malformed,
                    "a memory record must carry the shard epoch",
                ),
            },
            other => Body::error(
                ErrorCode::NotFound,
                format!("memory does not handle {}", other.kind()),
            ),
        }
    }
}

async fn answer(memory: &Arc<MemoryStore>, query: MemoryQuery) -> Body {
    if query.repos.len() + query.contracts.len() > MAX_NAMES {
        return Body::error(
            ErrorCode::TooLarge,
            format!("a memory query names at most {MAX_NAMES} repos and contracts"),
        );
    }
    let memory = memory.clone();
    // 0 asks for as many as are given.
    let limit = match query.limit {
        0 => MAX_FACTS,
        n => n.min(MAX_FACTS),
    } as usize;
    let found = tokio::task::spawn_blocking(move || {
        let repos: Vec<&str> = query.repos.iter().map(String::as_str).collect();
        let contracts: Vec<&str> = query.contracts.iter().map(String::as_str).collect();
        memory.context_for(&repos, &contracts)
    })
    .await;
    match found {
        Ok(Ok(facts)) => Body::MemoryFacts {
            facts: facts.iter().take(limit).map(view).collect(),
        },
        Ok(Err(e)) => Body::error(ErrorCode::Internal, e.to_string()),
        Err(e) => Body::error(ErrorCode::Internal, format!("memory query task: {e}")),
    }
}

/// A stored fact as the wire carries it.
pub fn view(f: &Fact) -> FactView {
    FactView {
        id: f.id.clone(),
        subject: f.subject.clone(),
        predicate: f.predicate.clone(),
        object: f.object.clone(),
        confidence: f.confidence,
        run: f.provenance.run.clone(),
        agent: f.provenance.agent.clone(),
        source: f.provenance.source.clone(),
        method: format!("{:?}", f.provenance.method).to_lowercase(),
        recorded_at_ms: f.recorded_at.0,
        last_verified_ms: f.last_verified_at.0,
    }
}

async fn record_fenced(inner: &Inner, from: &NodeId, epoch: Epoch, record: MemoryRecord) -> Body {
    let repo = RepoName::new(record.repo.clone());
    let verdict = call_t!(
        inner.coordinator,
        CoordinatorMsg::Fence,
        5_000,
        repo.clone(),
        epoch,
        from.clone()
    );
    let refused = match verdict {
        Ok(Ok(())) => None,
        Ok(Err(e @ FenceError::Stale { .. })) => Some((ErrorCode::StaleEpoch, e.to_string())),
        Ok(Err(e @ FenceError::NotOwner { .. })) => Some((ErrorCode::Unauthorized, e.to_string())),
        Ok(Err(e @ FenceError::UnknownRepo(_))) => Some((ErrorCode::NotFound, e.to_string())),
        Err(e) => Some((ErrorCode::Internal, format!("coordinator: {e}"))),
    };
    if let Some((code, detail)) = refused {
        tracing::warn!(%repo, node = %from, %epoch, %detail, "memory record refused");
        return Body::error(code, format!("memory record refused: {detail}"));
    }
    let provided: Vec<String> = inner
        .cfg
        .org
        .repo(&record.repo)
        .map(|r| {
            r.manifest
                .provides
                .iter()
                .map(|p| p.contract.clone())
                .collect()
        })
        .unwrap_or_default();
    let writes = match writes_of(&record, from, &provided, Time(now_unix_ms())) {
        Ok(w) => w,
        Err((code, detail)) => return Body::error(code, detail),
    };
    let memory = inner.memory.clone();
    match tokio::task::spawn_blocking(move || memory.apply(writes)).await {
        Ok(Ok(s)) => {
            let summary = MemoryRecorded {
                recorded: s.facts_recorded.len() as u32,
                confirmed: s.facts_confirmed.len() as u32,
                closed: s.facts_closed.len() as u32,
            };
            tracing::info!(%repo, node = %from, %epoch, recorded = summary.recorded,
                confirmed = summary.confirmed, closed = summary.closed, "memory record");
            Body::MemoryRecorded { summary }
        }
        Ok(Err(e)) => Body::error(ErrorCode::Internal, e.to_string()),
        Err(e) => Body::error(ErrorCode::Internal, format!("memory record task: {e}")),
    }
}

/// The facts a record writes, or why it is refused: too many observations or a value too long
/// (`TooLarge`), an empty predicate (`Malformed`), or a subject or predicate that is not the
/// node's to state (`Unauthorized`: a subject other than the repo and the contracts it provides,
/// a predicate outside [`NODE_PREDICATE_PREFIX`]).
pub fn writes_of(
    record: &MemoryRecord,
    from: &NodeId,
    provided: &[String],
    now: Time,
) -> Result<Vec<Write>, (ErrorCode, String)> {
    if record.facts.len() > MAX_OBSERVATIONS {
        return Err((
            ErrorCode::TooLarge,
            format!(
                "a memory record carries at most {MAX_OBSERVATIONS} observations, this one {}",
                record.facts.len()
            ),
        ));
    }
    let labels = [&record.run_id, &record.step, &record.commit];
    if labels.iter().any(|l| l.len() > MAX_LABEL) {
        return Err((
            ErrorCode::TooLarge,
            format!("a record's run id, step and commit are at most {MAX_LABEL} bytes each"),
        ));
    }
    let repo_id = EntityKind::Repo.id(&record.repo);
    let mut writes = Vec::with_capacity(record.facts.len());
    for (i, o) in record.facts.iter().enumerate() {
        let own = o.subject == repo_id
            || provided
                .iter()
                .any(|c| o.subject == EntityKind::Contract.id(c));
        if !own {
            return Err((
                ErrorCode::Unauthorized,
                format!(
                    "observation {i}: {from} may only speak of {repo_id} and the contracts it provides, not {}",
                    o.subject
                ),
            ));
        }
        let texts = [&o.predicate, &o.object, &o.path];
        if texts.iter().any(|t| t.len() > MAX_TEXT) {
            return Err((
                ErrorCode::TooLarge,
                format!("observation {i}: no text over {MAX_TEXT} bytes"),
            ));
        }
        let check = o.predicate.strip_prefix(NODE_PREDICATE_PREFIX);
        if check.is_none_or(str::is_empty) {
            return Err((
                ErrorCode::Unauthorized,
                format!(
                    "observation {i}: a node records check observations (`{NODE_PREDICATE_PREFIX}...`), not `{}`",
                    o.predicate
                ),
            ));
        }
        let provenance = Provenance {
            run: Some(record.run_id.clone()),
            step: Some(record.step.clone()),
            agent: from.to_string(),
            source: format!("{}@{}:{}", record.repo, record.commit, o.path),
            method: Method::Observed,
        };
        writes.push(Write::RecordFact(Fact::new(
            &new_fact_id(),
            &o.subject,
            &o.predicate,
            &o.object,
            provenance,
            now,
        )));
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::memory::ObservedFact;

    fn record(subjects: &[&str]) -> MemoryRecord {
        MemoryRecord {
            repo: "backend".into(),
            run_id: "r1".into(),
            step: "backend:expand".into(),
            commit: "abc".into(),
            facts: subjects
                .iter()
                .map(|s| ObservedFact {
                    subject: (*s).into(),
                    predicate: "check.test.status".into(),
                    object: "passes".into(),
                    path: "factory.toml".into(),
                })
                .collect(),
        }
    }

    fn check(r: MemoryRecord, expected: Result<usize, &str>) {
        let got = writes_of(
            &r,
            &NodeId::new("node-1".to_string()),
            &["orders.v1".to_string()],
            Time(1),
        );
        match (got, expected) {
            (Ok(w), Ok(n)) => assert_eq!(w.len(), n),
            (Err((_, e)), Err(want)) => assert!(e.contains(want), "{e:?} lacks {want:?}"),
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn a_node_speaks_only_of_its_repo_and_what_it_provides() {
        check(record(&["repo:backend", "contract:orders.v1"]), Ok(2));
        check(record(&[]), Ok(0));
        check(record(&["repo:frontend"]), Err("not repo:frontend"));
        check(
            record(&["repo:backend", "contract:order-events.v1"]),
            Err("observation 1"),
        );
    }

    #[test]
    fn oversized_or_empty_observations_are_refused() {
        let many = vec!["repo:backend"; MAX_OBSERVATIONS + 1];
        check(record(&many), Err("at most 256 observations"));
        let mut long = record(&["repo:backend"]);
        long.facts[0].object = "x".repeat(MAX_TEXT + 1);
        check(long, Err("no text over 4096 bytes"));
        let mut label = record(&["repo:backend"]);
        label.commit = "c".repeat(MAX_LABEL + 1);
        check(label, Err("at most 256 bytes"));
    }

    #[test]
    fn a_node_states_only_check_observations() {
        for predicate in [
            "",
            "check.",
            "casing.writes.createdAt",
            "setup.missing-step",
        ] {
            let mut r = record(&["repo:backend"]);
            r.facts[0].predicate = predicate.into();
            check(r, Err("a node records check observations"));
        }
    }

    #[test]
    fn provenance_names_the_node_and_the_source() {
        let writes = writes_of(
            &record(&["repo:backend"]),
            &NodeId::new("node-2".to_string()),
            &[],
            Time(7),
        )
        .unwrap();
        let Write::RecordFact(f) = &writes[0] else {
            panic!("{writes:?}")
        };
        assert_eq!(f.provenance.agent, "node-2");
        assert_eq!(f.provenance.source, "backend@abc:factory.toml");
        assert_eq!(f.provenance.run.as_deref(), Some("r1"));
        assert_eq!(f.provenance.method, Method::Observed);
        assert_eq!(f.recorded_at, Time(7));
    }
}
