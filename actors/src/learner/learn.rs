//! After a run: record what it showed, propose, replay gates, promote — one memory transaction.

use std::collections::BTreeSet;

use protocol::run::{GateMode, GateSpec, RunRecord};
use serde::{Deserialize, Serialize};

use super::observe::{Boundary, RunCase, case_of};
use super::record::{CASE_ATTR, run_writes};
use super::replay::{Decision, GateReplay, replay_gate};
use super::setup::{SetupCandidate, step_artifact, step_of};
use super::skills::SkillCandidate;
use super::{LearnerConfig, LearnerError, gates, setup, skills};
use crate::contracts::naming::dominant_casing;
use crate::memory::{
    Direction, Edge, Entity, EntityKind, MemoryStore, Promotion, PromotionKind, Relation, Time,
    Write,
};

/// What became of one proposed gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateOutcome {
    /// The gate as proposed (shadow mode).
    pub gate: GateSpec,
    /// The evaluator's verdict.
    pub decision: Decision,
    /// The blocking version, when evidence moved it there.
    pub blocking: Option<GateSpec>,
    /// Why it was not moved to blocking, when it was promoted but not there.
    pub not_blocking: Option<String>,
}

/// What [`learn`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnReport {
    /// The run.
    pub run: String,
    /// Facts newly recorded.
    pub facts_recorded: usize,
    /// Facts an observation confirmed.
    pub facts_confirmed: usize,
    /// Facts an observation contradicted (closed, kept).
    pub facts_closed: usize,
    /// Gates proposed, with their verdicts.
    pub gates: Vec<GateOutcome>,
    /// Setup steps proposed, waiting for [`super::evaluate_setup`].
    pub setup_candidates: Vec<SetupCandidate>,
    /// Skills proposed, waiting for [`super::evaluate_skill`].
    #[serde(default)]
    pub skill_candidates: Vec<SkillCandidate>,
    /// Proposals not made, and why.
    pub skipped: Vec<String>,
}

/// Learn from a finished run: record facts, add it to the replay corpus, propose a casing gate
/// per boundary where a casing mismatch was raised and a setup step per missing step a sandbox
/// log named, and a skill (a rule line in the repo's template) per writer a casing finding sent
/// back; replay the gates and promote the winners (in shadow mode, then to blocking when
/// `cfg.auto_block` and the evidence allow). Every write lands in one transaction.
///
/// Setup steps and skills need a real replay (processes): run [`super::evaluate_setup`] for
/// each of `setup_candidates` and [`super::evaluate_skill`] for each of `skill_candidates`.
/// Blocking (redb): call from a blocking thread.
pub fn learn(
    run: &RunRecord,
    store: &MemoryStore,
    now: Time,
    cfg: &LearnerConfig,
) -> Result<LearnReport, LearnerError> {
    let case = case_of(run);
    let mut corpus = load_corpus(store)?;
    corpus.retain(|c| c.run != run.id);
    corpus.push(case.clone());
    let mut writes = run_writes(run, &case, &cfg.agent, now)?;
    let mut report = LearnReport {
        run: run.id.clone(),
        facts_recorded: 0,
        facts_confirmed: 0,
        facts_closed: 0,
        gates: Vec::new(),
        setup_candidates: Vec::new(),
        skill_candidates: Vec::new(),
        skipped: Vec::new(),
    };
    let boundaries: BTreeSet<Boundary> = case
        .rounds
        .iter()
        .flat_map(|r| r.mismatches.iter().map(|m| m.boundary.clone()))
        .collect();
    for b in boundaries {
        propose_gate(store, &b, run, &corpus, now, cfg, &mut writes, &mut report)?;
    }
    propose_setup_steps(store, &case, now, &mut writes, &mut report)?;
    propose_skills(store, &case, now, &mut writes, &mut report)?;
    let summary = store.apply(writes)?;
    report.facts_recorded = summary.facts_recorded.len();
    report.facts_confirmed = summary.facts_confirmed.len();
    report.facts_closed = summary.facts_closed.len();
    Ok(report)
}

/// Every run case recorded in memory (the replay corpus), by run id.
pub fn load_corpus(store: &MemoryStore) -> Result<Vec<RunCase>, LearnerError> {
    let mut out = Vec::new();
    for id in store.ids_of_kind(EntityKind::Run)? {
        let Some(e) = store.entity(&id)? else {
            continue;
        };
        let Some(json) = e.attrs.get(CASE_ATTR) else {
            continue;
        };
        let case: RunCase = serde_json::from_str(json).map_err(|err| LearnerError::Corrupt {
            what: "run case",
            id: id.clone(),
            detail: err.to_string(),
        })?;
        out.push(case);
    }
    Ok(out)
}

/// What the reader of `b` is known to read: the spellings it read in recorded mismatches, and
/// its `reads` edge in memory (seeded from its manifest).
pub fn known_reads(
    store: &MemoryStore,
    corpus: &[RunCase],
    b: &Boundary,
) -> Result<Vec<String>, LearnerError> {
    let mut reads: BTreeSet<String> = corpus
        .iter()
        .flat_map(|c| &c.rounds)
        .flat_map(|r| r.mismatches_on(b))
        .map(|m| m.reader_field.clone())
        .collect();
    let reader = EntityKind::Repo.id(&b.reader);
    let contract = EntityKind::Contract.id(&b.contract);
    for e in store.neighbours(&reader, Some(Relation::Reads), Direction::Outgoing)? {
        if e.dst == contract
            && let Some(fields) = e.attrs.get("fields")
        {
            reads.extend(
                fields
                    .split(',')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .map(String::from),
            );
        }
    }
    Ok(reads.into_iter().collect())
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the arguments
fn propose_gate(
    store: &MemoryStore,
    b: &Boundary,
    run: &RunRecord,
    corpus: &[RunCase],
    now: Time,
    cfg: &LearnerConfig,
    writes: &mut Vec<Write>,
    report: &mut LearnReport,
) -> Result<(), LearnerError> {
    let reads = known_reads(store, corpus, b)?;
    let Some(convention) = dominant_casing(reads.iter().map(String::as_str)) else {
        report
            .skipped
            .push(format!("{}: the reader's reads show no casing", b.label()));
        return Ok(());
    };
    let param = gates::casing_param(convention);
    let slot = gates::slot_for(b);
    let current = match store.champion(&slot)? {
        Some(id) => store.artifact(&id)?,
        None => None,
    };
    if let Some(c) = &current {
        let spec = gates::spec_of(c)?;
        if spec.param == param && spec.rule == gates::CASING_RULE {
            report
                .skipped
                .push(format!("{slot}: already guarded by {} ({param})", c.id));
            return Ok(());
        }
    }
    let parent = current.as_ref().map(|c| c.id.clone());
    let (artifact, gate) =
        gates::gate_artifact(b, param, GateMode::Shadow, &run.id, parent.as_deref(), now)?;
    let replay: GateReplay = replay_gate(&gate, corpus, &reads);
    let decision = replay.decision();
    writes.push(Write::PutArtifact(artifact.clone()));
    let gate_entity = Entity::new(EntityKind::Gate, &slot)
        .with_attr("rule", gates::CASING_RULE)
        .with_attr("boundary", &b.label())
        .with_attr("latest", &artifact.id);
    let gate_id = gate_entity.id.clone();
    writes.push(Write::PutEntity(gate_entity));
    writes.push(Write::PutEdge(Edge::new(
        &gate_id,
        Relation::Guards,
        &EntityKind::Contract.id(&b.contract),
    )));
    writes.push(Write::PutEdge(Edge::new(
        &gate_id,
        Relation::LearnedFrom,
        &EntityKind::Run.id(&run.id),
    )));
    writes.extend(
        replay
            .evaluations(&artifact.id, now)
            .into_iter()
            .map(Write::RecordEvaluation),
    );
    let mut outcome = GateOutcome {
        gate: gate.clone(),
        decision: decision.clone(),
        blocking: None,
        not_blocking: None,
    };
    if let Decision::Promote(reason) = &decision {
        writes.push(Write::MoveChampion(Promotion {
            seq: 0,
            slot: slot.clone(),
            from: parent,
            to: artifact.id.clone(),
            kind: PromotionKind::Promote,
            at: now,
            reason: format!("{}: shadow: {reason}", cfg.agent),
        }));
        match (cfg.auto_block, replay.blocking_evidence()) {
            (true, Ok(evidence)) => {
                let (child, blocking) = gates::with_mode(&artifact, GateMode::Blocking, now)?;
                writes.push(Write::PutArtifact(child.clone()));
                writes.push(Write::MoveChampion(Promotion {
                    seq: 0,
                    slot: slot.clone(),
                    from: Some(artifact.id.clone()),
                    to: child.id.clone(),
                    kind: PromotionKind::Promote,
                    at: now,
                    reason: format!("{}: blocking by evidence: {evidence}", cfg.agent),
                }));
                outcome.blocking = Some(blocking);
            }
            (true, Err(why)) => outcome.not_blocking = Some(why),
            (false, _) => outcome.not_blocking = Some("auto_block is off: a person decides".into()),
        }
    }
    report.gates.push(outcome);
    Ok(())
}

fn propose_setup_steps(
    store: &MemoryStore,
    case: &RunCase,
    now: Time,
    writes: &mut Vec<Write>,
    report: &mut LearnReport,
) -> Result<(), LearnerError> {
    let mut proposed = BTreeSet::new();
    for r in &case.rounds {
        for f in &r.start_failures {
            let Some(command) = &f.missing_step else {
                report.skipped.push(format!(
                    "{}: round {} did not start and its log names no step",
                    f.repo, r.round
                ));
                continue;
            };
            if !proposed.insert(f.repo.clone()) {
                continue;
            }
            let Some(head) = r.heads.get(&f.repo) else {
                report
                    .skipped
                    .push(format!("{}: round {} recorded no head", f.repo, r.round));
                continue;
            };
            let slot = setup::slot_for(&f.repo);
            let current = match store.champion(&slot)? {
                Some(id) => store.artifact(&id)?,
                None => None,
            };
            if let Some(c) = &current
                && step_of(c)?.command.split(" && ").any(|s| s == command)
            {
                report
                    .skipped
                    .push(format!("{slot}: `{command}` is already in the champion"));
                continue;
            }
            let (artifact, step) =
                step_artifact(&f.repo, command, &case.run, current.as_ref(), now)?;
            writes.push(Write::PutArtifact(artifact));
            report.setup_candidates.push(SetupCandidate {
                step,
                slot,
                parent: current.map(|c| c.id),
                run: case.run.clone(),
                round: r.round,
                head: head.clone(),
            });
        }
    }
    Ok(())
}

fn propose_skills(
    store: &MemoryStore,
    case: &RunCase,
    now: Time,
    writes: &mut Vec<Write>,
    report: &mut LearnReport,
) -> Result<(), LearnerError> {
    for (repo, boundaries) in skills::sent_back(case) {
        let (artifacts, cand) = match skills::propose(store, case, &repo, &boundaries, now)? {
            Ok(p) => p,
            Err(why) => {
                report.skipped.push(why);
                continue;
            }
        };
        writes.extend(artifacts.into_iter().map(Write::PutArtifact));
        let entity = Entity::new(EntityKind::Skill, &repo)
            .with_attr("slot", &cand.slot)
            .with_attr("latest", &cand.id);
        let id = entity.id.clone();
        writes.push(Write::PutEntity(entity));
        writes.push(Write::PutEdge(Edge::new(
            &id,
            Relation::LearnedFrom,
            &EntityKind::Run.id(&case.run),
        )));
        report.skill_candidates.push(cand);
    }
    Ok(())
}
