//! Delivery, piece by piece, on the generated example org with the real `factory sim-agent`
//! process: a RepoAgent attempt changes a repo, pushes its branch and runs the repo's checks.

use std::time::Duration;

use actors::example::{ExampleOptions, generate};
use node::task::{WorkConfig, run_task};
use protocol::outcome::{ChangeSpec, TaskRole, TaskSpec};
use protocol::run::TaskAssignment;

fn created_at(contract: &str) -> ChangeSpec {
    ChangeSpec::AddField {
        contract: contract.into(),
        field: "createdAt".into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    }
}

fn assignment(origin: String, repo: &str, role: TaskRole, agent: &str) -> TaskAssignment {
    TaskAssignment {
        task: TaskSpec {
            run_id: "0190aaaa-0000-7000-8000-000000000001".into(),
            task_id: format!("{repo}:change"),
            repo: repo.into(),
            role,
            title: "expose the order creation time to the dashboard and the email worker".into(),
            instructions: "add createdAt".into(),
            changes: vec![created_at("orders.v1"), created_at("order-events.v1")],
            attempt: 1,
            findings: vec![],
            context: vec![],
        },
        origin,
        epoch: 1,
        agent: agent.into(),
        skill: actors::agent::DEFAULT_TEMPLATE.into(),
        agent_timeout_secs: 60,
        agent_max_cost_usd: 1.0,
    }
}

fn config(work: &std::path::Path) -> WorkConfig {
    WorkConfig {
        node: "node-a".into(),
        work_dir: work.to_path_buf(),
        sim_argv: vec![env!("CARGO_BIN_EXE_factory").into(), "sim-agent".into()],
        check_timeout: Duration::from_secs(120),
    }
}

#[tokio::test]
async fn a_writer_attempt_pushes_its_branch_and_passes_its_own_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = generate(&dir.path().join("org"), &ExampleOptions::default()).expect("example org");
    let origin = org.parent().expect("org dir").join("origins/backend.git");
    let a = assignment(
        origin.display().to_string(),
        "backend",
        TaskRole::Writer,
        "sim",
    );
    let done = run_task(&config(&dir.path().join("work")), &a).await;
    let r = &done.result;
    assert!(r.ok, "attempt failed: {:?}", r.error);
    assert!(
        r.diff.contains("created_at"),
        "the sim agent's habit: snake_case on attempt 1\n{}",
        r.diff
    );
    assert_eq!(
        r.branch.as_deref(),
        Some("factory/0190aaaa-0000-7000-8000-000000000001")
    );
    let pushed = std::process::Command::new("git")
        .args([
            "--git-dir",
            &origin.display().to_string(),
            "rev-parse",
            r.branch.as_deref().unwrap_or(""),
        ])
        .output()
        .expect("git");
    assert_eq!(
        String::from_utf8_lossy(&pushed.stdout).trim(),
        r.head.as_deref().unwrap_or("-")
    );
    let checks = r.checks.as_array().expect("checks");
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "test" && c["passed"] == true),
        "{checks:?}"
    );
    assert!(r.cost_usd > 0.0);
    assert!(
        done.artifacts
            .iter()
            .any(|b| b.name.ends_with("check-test.log"))
    );
}

#[tokio::test]
async fn an_agent_that_exits_non_zero_is_a_failed_attempt_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let org = generate(&dir.path().join("org"), &ExampleOptions::default()).expect("example org");
    let origin = org.parent().expect("org dir").join("origins/worker.git");
    let a = assignment(
        origin.display().to_string(),
        "worker",
        TaskRole::Reader,
        "custom:sh -c 'echo boom >&2; exit 3'",
    );
    let done = run_task(&config(&dir.path().join("work")), &a).await;
    assert!(!done.result.ok);
    let err = done.result.error.unwrap_or_default();
    assert!(err.contains('3') && err.contains("boom"), "{err}");
}

#[tokio::test]
async fn a_missing_origin_is_a_failed_attempt_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = assignment(
        dir.path().join("nope.git").display().to_string(),
        "backend",
        TaskRole::Writer,
        "sim",
    );
    let done = run_task(&config(&dir.path().join("work")), &a).await;
    assert!(!done.result.ok);
    assert!(done.result.error.unwrap_or_default().contains("nope.git"));
}
