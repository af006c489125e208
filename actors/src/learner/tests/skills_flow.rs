//! Skills: proposed from a run whose writer a casing mismatch sent back, replayed for real on the
//! example org with the deterministic agent (this test binary, see [`sim_agent_process`]),
//! promoted by a person and rolled back to the parent.

use std::path::Path;

use protocol::outcome::{ChangeSpec, TaskRole};
use protocol::run::{TaskRecord, TaskResult, TaskState};

use super::*;
use crate::agent::{AgentSpec, DEFAULT_TEMPLATE};
use crate::example::{ExampleOptions, generate};
use crate::learner::skills::{skill_artifact, template_of};
use crate::learner::{
    LearnerConfig, PromotedBy, SkillCandidate, SkillReplayEnv, champion_skill, evaluate_skill,
    learn, lineage, promote, rollback,
};
use crate::memory::Write;
use crate::simagent::EXACT_NAMES_RULE;

/// Not a test of its own: the agent process the replays below run. Started by the agent runner
/// (which sets `FACTORY_TASK_FILE`), it is the deterministic agent; in a normal test run it
/// returns at once.
#[test]
fn sim_agent_process() {
    if std::env::var_os("FACTORY_TASK_FILE").is_none() {
        return;
    }
    crate::simagent::run_from_env().expect("the sim agent applies the task");
}

fn sim_agent() -> AgentSpec {
    let exe = std::env::current_exe().expect("test binary path");
    AgentSpec::sim(vec![
        exe.display().to_string(),
        "learner::tests::skills_flow::sim_agent_process".into(),
        "--exact".into(),
        "--quiet".into(),
        "--test-threads=1".into(),
    ])
}

fn add(contract: &str, field: &str) -> ChangeSpec {
    ChangeSpec::AddField {
        contract: contract.into(),
        field: field.into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    }
}

/// The demo run, with its backend task recorded as the plan and run machine record it: the
/// first attempt started from `base`.
fn run_with_task(id: &str, field: &str, base: &str) -> RunRecord {
    let mut r = demo_run(id);
    let changes = vec![add("orders.v1", field), add("order-events.v1", field)];
    let plan = r.plan.as_mut().expect("plan");
    plan["tasks"] = json!([{
        "id": "backend:expand", "repo": "backend", "role": TaskRole::Writer,
        "instructions": format!("Add {field}."), "changes": changes, "context": [],
    }]);
    let mut result = TaskResult::empty(1, "node-1", 1, 1_000);
    result.base = Some(base.into());
    r.tasks = vec![TaskRecord {
        id: "backend:expand".into(),
        repo: "backend".into(),
        role: TaskRole::Writer,
        depends_on: vec![],
        instructions: format!("Add {field}."),
        state: TaskState::Verified,
        attempts: 2,
        findings: vec![],
        results: vec![result],
    }];
    r
}

/// The example org and a replay environment whose backend origin is its bare repo.
fn org_and_env(tmp: &Path) -> (String, SkillReplayEnv) {
    generate(&tmp.join("org"), &ExampleOptions::default()).expect("example org (needs git)");
    let origin = tmp.join("org").join("origins").join("backend.git");
    let mut env = SkillReplayEnv::new(&tmp.join("replays"), sim_agent());
    env.origins
        .insert("backend".into(), origin.display().to_string());
    (bare_head(&origin), env)
}

#[test]
fn a_writer_sent_back_for_casing_gets_a_skill_proposal() {
    let s = store();
    let report = learn(
        &run_with_task("run-1", "createdAt", "b0"),
        &s,
        NOW,
        &LearnerConfig::default(),
    )
    .expect("learn");
    assert_eq!(report.skill_candidates.len(), 1, "{report:#?}");
    let c = &report.skill_candidates[0];
    assert_eq!(
        (c.slot.as_str(), c.repo.as_str()),
        ("skill:backend", "backend")
    );
    assert_eq!(c.parent_template, DEFAULT_TEMPLATE);
    assert!(c.template.starts_with(DEFAULT_TEMPLATE));
    for part in [
        EXACT_NAMES_RULE,
        "run-1",
        "backend->frontend:orders.v1",
        "backend->worker:order-events.v1",
    ] {
        assert!(c.rule.contains(part), "{part}: {}", c.rule);
    }
    // The parent is kept as a version of its own; nothing is champion before a replay.
    let parent = s.artifact(&c.parent).expect("read").expect("parent stored");
    assert_eq!(template_of(&parent).expect("template"), DEFAULT_TEMPLATE);
    assert_eq!(s.champion(&c.slot).expect("read"), None);
    // Until its replay records a verdict, the proposal is what a restarted coordinator replays.
    assert_eq!(
        crate::learner::unjudged(&s).expect("unjudged"),
        vec![c.clone()]
    );
    // The same lesson again waits for the first proposal instead of stacking a second.
    let again = learn(
        &run_with_task("run-2", "updatedAt", "b0"),
        &s,
        NOW,
        &LearnerConfig::default(),
    )
    .expect("learn");
    assert!(again.skill_candidates.is_empty(), "{again:#?}");
    assert!(
        again.skipped.iter().any(|w| w.contains("awaits promotion")),
        "{:?}",
        again.skipped
    );
    // Once its replay rejected it, the lesson may be proposed again (the corpus has grown).
    s.apply(vec![crate::memory::Write::RecordEvaluation(
        crate::memory::Evaluation {
            artifact: c.id.clone(),
            case: "decision".into(),
            at: NOW,
            delivered: false,
            checks_green: false,
            violation_escaped: false,
            rollback_needed: false,
            human_edits: 0,
            cost_micros: 0,
            wall_ms: 0,
            note: "reject: regresses run-0/backend:change".into(),
        },
    )])
    .expect("record the verdict");
    assert_eq!(crate::learner::unjudged(&s).expect("unjudged"), vec![]);
    let after = learn(
        &run_with_task("run-3", "shippedAt", "b0"),
        &s,
        NOW,
        &LearnerConfig::default(),
    )
    .expect("learn");
    assert_eq!(after.skill_candidates.len(), 1, "{after:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_accepts_the_skill_a_person_promotes_and_rolls_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (head, env) = org_and_env(tmp.path());
    let s = store();
    let cfg = LearnerConfig::default();
    let report = learn(&run_with_task("run-1", "createdAt", &head), &s, NOW, &cfg).expect("learn");
    let cand = report.skill_candidates[0].clone();

    let v = evaluate_skill(&s, &cand, &env, &cfg, Time(11_000))
        .await
        .expect("replay");
    assert!(v.accepted && !v.promoted, "{v:#?}");
    assert_eq!(v.cases.len(), 1);
    let case = &v.cases[0];
    assert_eq!(case.case, "run-1/backend:expand");
    assert!(!case.parent.passed, "{case:#?}");
    assert!(
        case.parent
            .why
            .contains("spells `createdAt` as `created_at`"),
        "{case:#?}"
    );
    assert!(case.candidate.passed, "{case:#?}");
    // Accepted is not champion: agents keep the configured template until a person promotes.
    assert_eq!(champion_skill(&s, "backend").expect("read"), None);
    let line = lineage(&s, &cand.slot).expect("lineage");
    assert!(
        line.iter().any(|e| e.artifact.id == cand.id
            && e.verdict
                .as_deref()
                .is_some_and(|n| n.starts_with("accept: fixes 1 of 1"))),
        "{line:#?}"
    );

    let by = PromotedBy::Person("ada".into());
    let p = promote(
        &s,
        &cand.slot,
        protocol::run::GateMode::Shadow,
        &by,
        NOW,
        &cfg,
    )
    .expect("a person promotes");
    assert_eq!(p.to, cand.id);
    assert!(p.reason.contains("accept"), "{}", p.reason);
    assert_eq!(
        champion_skill(&s, "backend").expect("read"),
        Some(cand.template.clone())
    );

    let back = rollback(&s, &cand.slot, NOW, "ada").expect("rollback");
    assert_eq!(back.to, cand.parent);
    assert_eq!(
        champion_skill(&s, "backend").expect("read").as_deref(),
        Some(DEFAULT_TEMPLATE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_that_regresses_a_good_case_is_rejected_naming_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (head, env) = org_and_env(tmp.path());
    let s = store();
    let cfg = LearnerConfig {
        auto_promote_skills: true,
        ..LearnerConfig::default()
    };
    // A recorded task that went well under the default template: its field is snake_case
    // already, so the agent's habit matches what was asked.
    learn(
        &run_with_task("run-good", "gift_note", &head),
        &s,
        NOW,
        &cfg,
    )
    .expect("learn");
    // A mutation that breaks the template: an unknown placeholder does not render.
    let root = skill_artifact("backend", DEFAULT_TEMPLATE, "", None, Time(1)).expect("root");
    let template = format!("{DEFAULT_TEMPLATE}- mind {{{{tone}}}}\n");
    let child =
        skill_artifact("backend", &template, "run-good", Some(&root.id), Time(2)).expect("child");
    s.apply(vec![
        Write::PutArtifact(root.clone()),
        Write::PutArtifact(child.clone()),
    ])
    .expect("store");
    let cand = SkillCandidate {
        id: child.id.clone(),
        slot: child.slot.clone(),
        repo: "backend".into(),
        parent: root.id.clone(),
        champion: None,
        parent_template: DEFAULT_TEMPLATE.into(),
        template,
        run: "run-good".into(),
        rule: "- mind {{tone}}".into(),
    };
    let v = evaluate_skill(&s, &cand, &env, &cfg, Time(11_000))
        .await
        .expect("replay");
    assert!(!v.accepted && !v.promoted, "{v:#?}");
    assert!(
        v.reason.contains("regresses run-good/backend:expand")
            && v.reason.contains("does not render"),
        "{}",
        v.reason
    );
    assert!(v.cases[0].parent.passed, "{:#?}", v.cases[0]);
    assert_eq!(s.champion(&cand.slot).expect("read"), None);
    let evals = s.evaluations_of(&cand.id).expect("evaluations");
    assert!(
        evals
            .iter()
            .any(|e| e.case == "decision" && e.note.starts_with("reject: regresses run-good")),
        "{evals:#?}"
    );
}
