//! Gates end to end: learn, replay, promote, block, reject, roll back.

use protocol::run::GateMode;

use super::*;
use crate::learner::{
    Decision, LearnerConfig, PromotedBy, champions, evaluate, learn, lineage, promote, rollback,
};

const FRONTEND_SLOT: &str = "gate:contract/casing@backend->frontend:orders.v1";
const WORKER_SLOT: &str = "gate:contract/casing@backend->worker:order-events.v1";

#[test]
fn run_one_teaches_two_blocking_gates() {
    let s = store();
    let report = learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    assert_eq!(report.gates.len(), 2, "{report:#?}");
    for g in &report.gates {
        assert!(matches!(g.decision, Decision::Promote(_)), "{g:#?}");
        assert_eq!(g.gate.param, "camel");
        assert_eq!(g.gate.learned_from_run, RUN);
        assert!(g.blocking.is_some(), "{g:#?}");
    }
    let (gates, steps) = champions(&s).expect("champions");
    assert!(steps.is_empty());
    let mut slots: Vec<(&str, GateMode)> =
        gates.iter().map(|g| (g.slot.as_str(), g.mode)).collect();
    slots.sort_by_key(|(slot, _)| *slot);
    assert_eq!(
        slots,
        [
            (FRONTEND_SLOT, GateMode::Blocking),
            (WORKER_SLOT, GateMode::Blocking)
        ]
    );

    // The shadow version's replay: round 1 had the defect (same backend commit as round 2),
    // round 2 raised it, round 3 is the fix.
    let line = lineage(&s, WORKER_SLOT).expect("lineage");
    assert_eq!(line.len(), 2);
    let shadow = line.iter().find(|l| !l.champion).expect("shadow version");
    let evals = s.evaluations_of(&shadow.artifact.id).expect("evaluations");
    let notes: Vec<(String, String)> = evals
        .iter()
        .map(|e| (e.case.clone(), e.note.clone()))
        .collect();
    let note = |case: &str| {
        notes
            .iter()
            .find(|(c, _)| c == case)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    assert!(
        note(&format!("{RUN}#round-1")).contains("caught `created_at`"),
        "{notes:#?}"
    );
    assert!(
        note(&format!("{RUN}#round-2")).contains("caught `created_at`"),
        "{notes:#?}"
    );
    assert!(
        note(&format!("{RUN}#round-3")).contains("not flagged"),
        "{notes:#?}"
    );
    assert!(
        note("decision").starts_with("promote: caught 2"),
        "{notes:#?}"
    );
    let promos = s.promotions_of(WORKER_SLOT).expect("promotions");
    assert_eq!(promos.len(), 2);
    assert!(
        promos[1].reason.contains("blocking by evidence"),
        "{promos:#?}"
    );
}

#[test]
fn learning_records_facts_and_the_run() {
    let s = store();
    let report = learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    assert!(report.facts_recorded > 0);
    let run = s
        .entity(&format!("run:{RUN}"))
        .expect("read")
        .expect("run entity");
    assert_eq!(run.attrs["delivered"], "true");
    assert_eq!(run.attrs["rounds"], "3");
    let facts = s.facts_about("contract:orders.v1").expect("facts");
    let mismatch = facts
        .iter()
        .find(|f| {
            f.predicate
                .starts_with("mismatch.backend->frontend:orders.v1")
        })
        .expect("mismatch fact");
    assert!(
        mismatch.object.contains("\"fixed\":true"),
        "{}",
        mismatch.object
    );
    assert!(
        mismatch.object.contains("static+dynamic"),
        "{}",
        mismatch.object
    );
    assert_eq!(mismatch.provenance.run.as_deref(), Some(RUN));
    assert_eq!(mismatch.provenance.step.as_deref(), Some("verify round 2"));
    // Observed fields: round 1 recorded, round 2 confirmed, round 3 contradicted (kept, closed).
    let observed: Vec<_> = facts
        .iter()
        .filter(|f| f.predicate == "observed.fields@backend")
        .collect();
    assert_eq!(observed.len(), 2);
    assert!(
        observed
            .iter()
            .any(|f| !f.is_open() && f.object.contains("created_at"))
    );
    assert!(
        observed
            .iter()
            .any(|f| f.is_open() && f.object.contains("createdAt"))
    );
    let failures: Vec<_> = s
        .facts_about("repo:backend")
        .expect("facts")
        .into_iter()
        .filter(|f| f.predicate.starts_with("failure."))
        .collect();
    assert_eq!(failures.len(), 4);
}

#[test]
fn the_learned_gate_catches_a_new_field_off_the_convention() {
    let s = store();
    learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    let (gates, _) = champions(&s).expect("champions");
    let gate = gates
        .iter()
        .find(|g| g.slot == WORKER_SLOT)
        .expect("worker gate");
    let reads = ["orderId".to_string(), "createdAt".to_string()];
    let found = evaluate(gate, &["orderId".into(), "updated_at".into()], &reads);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].expected, "updatedAt");
    assert!(found[0].message.contains(&gate.id), "{}", found[0].message);
    assert!(
        found[0]
            .message
            .contains(&format!("learned from run {RUN}")),
        "{}",
        found[0].message
    );
}

#[test]
fn a_gate_that_would_flag_a_good_run_is_rejected_with_the_reason() {
    let s = store();
    // An earlier run delivered with `legacy_code` on order-events.v1: a known-good round.
    let earlier = run(
        "run-earlier",
        vec![report(1, ["b0", "f0", "w0"], &[events("legacy_code")])],
        vec![],
        true,
    );
    let r = learn(&earlier, &s, Time(5_000), &LearnerConfig::default()).expect("learn earlier");
    assert!(r.gates.is_empty());
    let report = learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    let worker = report
        .gates
        .iter()
        .find(|g| g.gate.slot == WORKER_SLOT)
        .expect("proposed");
    let Decision::Reject(reason) = &worker.decision else {
        panic!("worker gate should be rejected: {worker:#?}");
    };
    assert!(
        reason.contains("would regress known-good round 1 of run run-earlier"),
        "{reason}"
    );
    assert!(reason.contains("`legacy_code`"), "{reason}");
    assert_eq!(s.champion(WORKER_SLOT).expect("read"), None);
    let decision = s
        .evaluations_of(&worker.gate.id)
        .expect("evaluations")
        .into_iter()
        .find(|e| e.case == "decision")
        .expect("decision evaluation");
    assert!(
        decision.note.starts_with("reject: would regress"),
        "{}",
        decision.note
    );
    // The other boundary is unaffected.
    assert!(s.champion(FRONTEND_SLOT).expect("read").is_some());
}

#[test]
fn rollback_moves_the_champion_to_its_parent_and_a_person_can_promote_again() {
    let s = store();
    learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    let blocking = s.champion(FRONTEND_SLOT).expect("read").expect("champion");
    let parent = s
        .artifact(&blocking)
        .expect("read")
        .expect("artifact")
        .parent
        .expect("parent");
    let p = rollback(&s, FRONTEND_SLOT, Time(11_000), "ada").expect("rollback");
    assert_eq!(p.to, parent);
    assert_eq!(
        s.champion(FRONTEND_SLOT).expect("read"),
        Some(parent.clone())
    );
    let (gates, _) = champions(&s).expect("champions");
    let g = gates
        .iter()
        .find(|g| g.slot == FRONTEND_SLOT)
        .expect("gate");
    assert_eq!(g.mode, GateMode::Shadow);
    // The shadow version is a first version: nothing further back.
    let err = rollback(&s, FRONTEND_SLOT, Time(12_000), "ada").expect_err("no parent");
    assert!(err.to_string().contains("nothing to roll back to"), "{err}");
    // A person moves it to blocking again: the same content, so the same version.
    let by = PromotedBy::Person("ada".into());
    let p = promote(
        &s,
        FRONTEND_SLOT,
        GateMode::Blocking,
        &by,
        Time(13_000),
        &LearnerConfig::default(),
    )
    .expect("promote");
    assert_eq!(p.to, blocking);
    assert!(p.reason.starts_with("ada: Blocking"), "{}", p.reason);
    let err = promote(
        &s,
        FRONTEND_SLOT,
        GateMode::Blocking,
        &by,
        Time(14_000),
        &LearnerConfig::default(),
    )
    .expect_err("already blocking");
    assert!(err.to_string().contains("already Blocking"), "{err}");
}

#[test]
fn without_auto_block_gates_stay_in_shadow_until_evidence_or_a_person() {
    let s = store();
    let cfg = LearnerConfig {
        auto_block: false,
        ..LearnerConfig::default()
    };
    let report = learn(&demo_run(RUN), &s, NOW, &cfg).expect("learn");
    assert!(
        report
            .gates
            .iter()
            .all(|g| g.blocking.is_none() && g.not_blocking.is_some())
    );
    let (gates, _) = champions(&s).expect("champions");
    assert!(gates.iter().all(|g| g.mode == GateMode::Shadow));
    let err = promote(
        &s,
        WORKER_SLOT,
        GateMode::Blocking,
        &PromotedBy::Evidence,
        NOW,
        &cfg,
    )
    .expect_err("auto_block off");
    assert!(err.to_string().contains("a person must promote"), "{err}");
    let p = promote(
        &s,
        WORKER_SLOT,
        GateMode::Blocking,
        &PromotedBy::Evidence,
        NOW,
        &LearnerConfig::default(),
    )
    .expect("evidence allows it");
    assert!(p.reason.contains("fixed later"), "{}", p.reason);
}

#[test]
fn learning_the_same_lesson_twice_proposes_nothing_new() {
    let s = store();
    learn(&demo_run(RUN), &s, NOW, &LearnerConfig::default()).expect("learn");
    let again = learn(
        &demo_run("run-2"),
        &s,
        Time(20_000),
        &LearnerConfig::default(),
    )
    .expect("learn");
    assert!(again.gates.is_empty(), "{again:#?}");
    assert_eq!(
        again
            .skipped
            .iter()
            .filter(|s| s.contains("already guarded"))
            .count(),
        2
    );
    assert_eq!(crate::learner::load_corpus(&s).expect("corpus").len(), 2);
}
