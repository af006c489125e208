//! What runs now, and moving it: champions for the verifier, promotion (by evidence or by a
//! person), rollback to the parent version, and each slot's lineage. Every move is one memory
//! transaction that checks the champion it replaces is still the champion.

use std::collections::BTreeMap;

use protocol::run::{GateMode, GateSpec, SetupStep};
use serde::{Deserialize, Serialize};

use super::learn::{known_reads, load_corpus};
use super::observe::Boundary;
use super::replay::{Decision, replay_gate};
use super::setup::{is_setup_slot, step_of};
use super::skills::{is_skill_slot, template_of};
use super::{LearnerConfig, LearnerError, gates, skills};
use crate::memory::{Artifact, MemoryStore, Promotion, PromotionKind, Time, Write};

/// Who asks for a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PromotedBy {
    /// The learner, on replay evidence (only when [`LearnerConfig::auto_block`] allows).
    Evidence,
    /// A person, by name; allowed whatever the evidence, which is still recorded.
    Person(String),
}

/// One version in a slot's lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageEntry {
    /// The version.
    pub artifact: Artifact,
    /// Whether it is the slot's champion.
    pub champion: bool,
    /// Its gate spec, for gate slots.
    pub gate: Option<GateSpec>,
    /// Its setup step, for setup slots.
    pub setup: Option<SetupStep>,
    /// Its prompt template, for skill slots.
    pub skill: Option<String>,
    /// The verdict of its latest replay (the note of its `decision` evaluation, or of its
    /// latest evaluation).
    pub verdict: Option<String>,
}

/// The champions the verifier runs: every champion gate and every champion setup step.
pub fn champions(store: &MemoryStore) -> Result<(Vec<GateSpec>, Vec<SetupStep>), LearnerError> {
    let mut gates_out = Vec::new();
    let mut steps = Vec::new();
    for (slot, id) in store.champions()? {
        let Some(a) = store.artifact(&id)? else {
            continue;
        };
        if slot.starts_with("gate:") {
            gates_out.push(gates::spec_of(&a)?);
        } else if is_setup_slot(&slot) {
            steps.push(step_of(&a)?);
        }
    }
    Ok((gates_out, steps))
}

/// The champion prompt template of `repo`'s skill slot, if a version was promoted.
pub fn champion_skill(store: &MemoryStore, repo: &str) -> Result<Option<String>, LearnerError> {
    champion_artifact(store, &skills::slot_for(repo))?
        .map(|a| template_of(&a))
        .transpose()
}

/// Move a slot's champion back to its parent version.
pub fn rollback(
    store: &MemoryStore,
    slot: &str,
    now: Time,
    by: &str,
) -> Result<Promotion, LearnerError> {
    let current = champion_artifact(store, slot)?.ok_or_else(|| no(slot, "has no champion"))?;
    let parent = current.parent.clone().ok_or_else(|| {
        no(
            slot,
            "its champion is a first version: nothing to roll back to",
        )
    })?;
    let p = Promotion {
        seq: 0,
        slot: slot.into(),
        from: Some(current.id.clone()),
        to: parent,
        kind: PromotionKind::Revert,
        at: now,
        reason: format!("rolled back by {by}"),
    };
    apply_move(store, vec![], p)
}

/// Make a version of `slot` the champion in `mode`: the champion (or, without one, the newest
/// archived proposal) in that mode, as a new child version when the mode changes. Setup and
/// skill slots ignore `mode` and promote their newest version.
///
/// A skill is promoted by a person, or by evidence only with `cfg.auto_promote_skills` and an
/// accepted replay; the reason quotes the replay's verdict either way.
///
/// By evidence, a gate must pass a fresh replay over every recorded run (to blocking: with a
/// catch fixed later, see [`super::replay`]), and `cfg.auto_block` must be on. A person may
/// promote whatever the evidence; the reason records who.
pub fn promote(
    store: &MemoryStore,
    slot: &str,
    mode: GateMode,
    by: &PromotedBy,
    now: Time,
    cfg: &LearnerConfig,
) -> Result<Promotion, LearnerError> {
    let champion = champion_artifact(store, slot)?;
    let newest = store.artifacts_in_slot(slot)?.pop();
    let who = match by {
        PromotedBy::Evidence => format!("{} by evidence", cfg.agent),
        PromotedBy::Person(name) => name.clone(),
    };
    if is_skill_slot(slot) {
        let newest = newest.ok_or_else(|| no(slot, "has no version"))?;
        if champion.as_ref().is_some_and(|c| c.id == newest.id) {
            return Err(refused(slot, "its newest version is already the champion"));
        }
        let verdict = decision_of(store, &newest.id)?;
        let accepted = verdict.as_deref().is_some_and(|v| v.starts_with("accept"));
        if *by == PromotedBy::Evidence && !(cfg.auto_promote_skills && accepted) {
            return Err(refused(
                slot,
                "a skill needs an accepted replay and auto_promote_skills, or a person",
            ));
        }
        let verdict = verdict.unwrap_or_else(|| "not replayed".into());
        let reason = format!("{who}: replay verdict: {verdict}");
        let p = movement(slot, champion.map(|c| c.id), newest.id, now, reason);
        return apply_move(store, vec![], p);
    }
    if is_setup_slot(slot) {
        let newest = newest.ok_or_else(|| no(slot, "has no version"))?;
        if champion.as_ref().is_some_and(|c| c.id == newest.id) {
            return Err(refused(slot, "its newest version is already the champion"));
        }
        if *by == PromotedBy::Evidence {
            return Err(refused(slot, "setup steps are promoted by their replay"));
        }
        let p = movement(slot, champion.map(|c| c.id), newest.id, now, who);
        return apply_move(store, vec![], p);
    }
    let base = champion
        .clone()
        .or(newest)
        .ok_or_else(|| no(slot, "has no version"))?;
    let spec = gates::spec_of(&base)?;
    let is_champion = champion.as_ref().is_some_and(|c| c.id == base.id);
    if is_champion && spec.mode == mode {
        return Err(refused(slot, &format!("already {mode:?}")));
    }
    let evidence = gate_evidence(store, &spec, mode);
    let reason = match (by, evidence) {
        (PromotedBy::Evidence, _) if !cfg.auto_block => {
            return Err(refused(slot, "auto_block is off: a person must promote"));
        }
        (PromotedBy::Evidence, Err(why)) => return Err(refused(slot, &why)),
        (_, Ok(e)) => format!("{who}: {mode:?}: {e}"),
        (PromotedBy::Person(_), Err(why)) => format!("{who}: {mode:?} (evidence short: {why})"),
    };
    let mut writes = Vec::new();
    let to = if spec.mode == mode {
        base.id.clone()
    } else {
        let (child, _) = gates::with_mode(&base, mode, now)?;
        writes.push(Write::PutArtifact(child.clone()));
        child.id
    };
    let p = movement(slot, champion.map(|c| c.id), to, now, reason);
    apply_move(store, writes, p)
}

/// Every version of a slot, oldest first, with which is champion and each one's verdict.
pub fn lineage(store: &MemoryStore, slot: &str) -> Result<Vec<LineageEntry>, LearnerError> {
    let champion = store.champion(slot)?;
    let mut out = Vec::new();
    for a in store.artifacts_in_slot(slot)? {
        let verdict = decision_of(store, &a.id)?;
        let gate = slot
            .starts_with("gate:")
            .then(|| gates::spec_of(&a))
            .transpose()?;
        let setup = is_setup_slot(slot).then(|| step_of(&a)).transpose()?;
        let skill = is_skill_slot(slot).then(|| template_of(&a)).transpose()?;
        out.push(LineageEntry {
            champion: champion.as_deref() == Some(a.id.as_str()),
            artifact: a,
            gate,
            setup,
            skill,
            verdict,
        });
    }
    Ok(out)
}

/// The note of an artifact's `decision` evaluation, or of its latest evaluation.
/// The newest replay verdict recorded for an artifact (`accept: ...` / `reject: ...` for skills).
pub(crate) fn decision_of(store: &MemoryStore, id: &str) -> Result<Option<String>, LearnerError> {
    let evals = store.evaluations_of(id)?;
    Ok(evals
        .iter()
        .rev()
        .find(|e| e.case == "decision")
        .or(evals.last())
        .map(|e| e.note.clone()))
}

/// Every slot that has a version, with its champion id if it has one.
pub fn slot_summaries(store: &MemoryStore) -> Result<Vec<(String, Option<String>)>, LearnerError> {
    let snap = store.snapshot()?;
    let mut slots: BTreeMap<String, Option<String>> = BTreeMap::new();
    for a in snap.artifacts {
        slots.entry(a.slot).or_default();
    }
    for (slot, id) in snap.champions {
        slots.insert(slot, Some(id));
    }
    Ok(slots.into_iter().collect())
}

/// Replay a gate now: `Ok` with the evidence summary if it earns `mode`.
fn gate_evidence(store: &MemoryStore, spec: &GateSpec, mode: GateMode) -> Result<String, String> {
    let corpus = load_corpus(store).map_err(|e| e.to_string())?;
    let b = Boundary {
        contract: spec.contract.clone(),
        writer: spec.writer.clone(),
        reader: spec.reader.clone(),
    };
    let reads = known_reads(store, &corpus, &b).map_err(|e| e.to_string())?;
    let replay = replay_gate(spec, &corpus, &reads);
    match mode {
        GateMode::Blocking => replay.blocking_evidence(),
        GateMode::Shadow => match replay.decision() {
            Decision::Promote(r) => Ok(r),
            Decision::Reject(r) => Err(r),
        },
    }
}

fn champion_artifact(store: &MemoryStore, slot: &str) -> Result<Option<Artifact>, LearnerError> {
    match store.champion(slot)? {
        Some(id) => Ok(store.artifact(&id)?),
        None => Ok(None),
    }
}

fn movement(slot: &str, from: Option<String>, to: String, at: Time, reason: String) -> Promotion {
    Promotion {
        seq: 0,
        slot: slot.into(),
        from,
        to,
        kind: PromotionKind::Promote,
        at,
        reason,
    }
}

/// Apply `writes` and the move in one transaction; the returned promotion carries its sequence.
fn apply_move(
    store: &MemoryStore,
    mut writes: Vec<Write>,
    mut p: Promotion,
) -> Result<Promotion, LearnerError> {
    writes.push(Write::MoveChampion(p.clone()));
    let summary = store.apply(writes)?;
    p.seq = summary.promotions.last().copied().unwrap_or(0);
    Ok(p)
}

fn no(slot: &str, detail: &str) -> LearnerError {
    LearnerError::Slot {
        slot: slot.into(),
        detail: detail.into(),
    }
}

fn refused(slot: &str, reason: &str) -> LearnerError {
    LearnerError::Refused {
        slot: slot.into(),
        reason: reason.into(),
    }
}
