//! Contract checks over the repos of a verification round: which flows exist between them, the
//! static check of each flow, and the dynamic check of captured payloads — all turned into run
//! findings that name the repo to fix.

use actors::contracts::{self, Ctx, Expectation, Finding, Severity, Shape};
use actors::learner;
use protocol::outcome::{ChangeSpec, FindingNote};
use protocol::run::{GateMode, GateSpec, RunFinding};
use serde_json::Value;

use crate::verify_round::{Checkout, finding, intended_name};

/// A flow among the round's repos: contract, writer and reader (indices into the checkouts).
pub(crate) struct FlowRef<'a> {
    pub(crate) contract: &'a str,
    pub(crate) writer: &'a Checkout,
    pub(crate) reader: &'a Checkout,
    pub(crate) schema: &'a Value,
    pub(crate) reads: &'a [String],
}

/// Every flow among the checkouts, from their manifests on the branches under test.
pub(crate) fn flows(checkouts: &[Checkout]) -> Vec<FlowRef<'_>> {
    let mut out = Vec::new();
    for w in checkouts {
        for p in &w.manifest.provides {
            for r in checkouts {
                for c in r
                    .manifest
                    .consumes
                    .iter()
                    .filter(|c| c.contract == p.contract)
                {
                    out.push(FlowRef {
                        contract: &p.contract,
                        writer: w,
                        reader: r,
                        schema: &p.schema,
                        reads: &c.reads,
                    });
                }
            }
        }
    }
    out
}

/// The static check: each provider's declared schema against what each consumer reads.
pub(crate) fn static_checks(
    checkouts: &[Checkout],
    changes: &[ChangeSpec],
    changed: &[&str],
) -> Vec<RunFinding> {
    let mut out = Vec::new();
    for f in flows(checkouts) {
        let (writer, reader) = (f.writer.repo.name.as_str(), f.reader.repo.name.as_str());
        let shape = match Shape::from_schema(f.schema) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("{writer}'s schema of {} does not parse: {e}", f.contract);
                out.push(finding(
                    0,
                    "static",
                    "SCHEMA/unparseable",
                    &msg,
                    Some(writer.to_string()),
                ));
                continue;
            }
        };
        let reads = match Expectation::parse(f.reads) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("{reader}'s reads of {} do not parse: {e}", f.contract);
                out.push(finding(
                    0,
                    "static",
                    "SCHEMA/bad-reads",
                    &msg,
                    Some(reader.to_string()),
                ));
                continue;
            }
        };
        let ctx = Ctx::flow(f.contract, writer, reader);
        for found in contracts::check_reads(&shape, &reads, &ctx) {
            out.push(to_run_finding(found, "static", changes, changed));
        }
    }
    out
}

/// The dynamic check: a payload `writer` really sent on `contract`, against each consumer's reads.
pub(crate) fn payload_checks(
    checkouts: &[Checkout],
    writer: &str,
    contract: &str,
    payload: &Value,
    changes: &[ChangeSpec],
    changed: &[&str],
) -> Vec<RunFinding> {
    let mut out = Vec::new();
    for f in flows(checkouts)
        .into_iter()
        .filter(|f| f.contract == contract && f.writer.repo.name == writer)
    {
        let Ok(reads) = Expectation::parse(f.reads) else {
            continue;
        };
        let ctx = Ctx::flow(contract, writer, &f.reader.repo.name);
        for found in contracts::check_payload(&reads, payload, &ctx) {
            out.push(to_run_finding(found, "dynamic", changes, changed));
        }
    }
    out
}

/// Turn a contract finding into a run finding, deciding which repo must change.
///
/// The outcome's change spec says which spelling is intended: the side that differs from it is
/// fixed. Without a spec, the side that changed in this run is. A flow neither side of which
/// changed in this run only warns: it was broken before, and no task of this run can fix it.
pub(crate) fn to_run_finding(
    f: Finding,
    caught_by: &str,
    changes: &[ChangeSpec],
    changed: &[&str],
) -> RunFinding {
    let writer = f.writer.repo.clone();
    let reader = f.reader.as_ref().map(|r| r.repo.clone());
    let intended = intended_name(changes, &f.writer.contract);
    let leaf = |p: &str| p.rsplit(['.', ']']).next().unwrap_or(p).to_string();
    let writer_ok = intended.iter().any(|n| *n == leaf(&f.writer.path));
    let reader_ok = f
        .reader
        .as_ref()
        .map(|r| intended.iter().any(|n| *n == leaf(&r.path)));
    let fix_repo = match (writer_ok, reader_ok) {
        (false, Some(true)) => Some(writer.clone()),
        (true, Some(false)) => reader.clone(),
        _ if changed.contains(&writer.as_str())
            && reader.as_deref().is_none_or(|r| !changed.contains(&r)) =>
        {
            Some(writer.clone())
        }
        _ => reader
            .clone()
            .filter(|r| changed.contains(&r.as_str()))
            .or_else(|| changed.contains(&writer.as_str()).then(|| writer.clone())),
    };
    let touched = changed.contains(&writer.as_str())
        || reader.as_deref().is_some_and(|r| changed.contains(&r));
    let severity = match f.severity {
        Severity::Error if touched => "error",
        Severity::Error | Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let fix = fix_repo
        .as_ref()
        .and_then(|repo| f.fixes.iter().find(|x| &x.repo == repo))
        .map(|x| x.suggestion.clone());
    RunFinding {
        round: 0,
        caught_by: caught_by.into(),
        severity: severity.into(),
        note: FindingNote {
            rule: f.rule.id(),
            message: f.message,
            fix_repo,
            fix,
        },
    }
}

/// Learned gates: each checks the writer's declared fields on its boundary against the rule it
/// learned (e.g. the reader's casing convention). A blocking gate's finding blocks delivery like a
/// contract error; a shadow gate's is reported as a warning. Either names the gate and the run
/// that taught it.
pub(crate) fn gate_checks(checkouts: &[Checkout], gates: &[GateSpec]) -> Vec<RunFinding> {
    let mut out = Vec::new();
    for gate in gates {
        let Some(flow) = flows(checkouts).into_iter().find(|f| {
            f.contract == gate.contract
                && f.writer.repo.name == gate.writer
                && f.reader.repo.name == gate.reader
        }) else {
            continue;
        };
        let fields = learner::schema_fields(flow.schema);
        for found in learner::evaluate(gate, &fields, flow.reads) {
            out.push(RunFinding {
                round: 0,
                caught_by: gate.slot.clone(),
                severity: match gate.mode {
                    GateMode::Blocking => "error".into(),
                    GateMode::Shadow => "warning".into(),
                },
                note: FindingNote {
                    rule: gate.rule.clone(),
                    message: found.message,
                    fix_repo: Some(gate.writer.clone()),
                    fix: Some(format!(
                        "spell `{}` as `{}` in {}",
                        found.field, found.expected, gate.writer
                    )),
                },
            });
        }
    }
    out
}
