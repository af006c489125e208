use std::path::Path;

use super::*;
use crate::example::ExampleOptions;
use crate::example::testutil::{ExampleOrg, assert_repo_tests_pass, sh};
use crate::outcome::{ChangeSpec, FindingNote};

fn add_created_at(contract: &str) -> ChangeSpec {
    ChangeSpec::AddField {
        contract: contract.into(),
        field: "createdAt".into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    }
}

fn task(
    repo: &str,
    role: TaskRole,
    changes: Vec<ChangeSpec>,
    findings: Vec<FindingNote>,
) -> TaskSpec {
    TaskSpec {
        run_id: "run-1".into(),
        task_id: format!("{repo}:change"),
        repo: repo.into(),
        role,
        title: "expose the order creation time".into(),
        instructions: "add createdAt".into(),
        changes,
        attempt: if findings.is_empty() { 1 } else { 2 },
        findings,
        context: vec![],
    }
}

fn casing_finding(fix_repo: &str) -> FindingNote {
    FindingNote {
        rule: "NAMING/casing-mismatch".into(),
        message: "worker reads createdAt; backend writes created_at".into(),
        fix_repo: Some(fix_repo.into()),
        fix: Some("rename created_at to createdAt".into()),
    }
}

fn read(repo: &Path, rel: &str) -> String {
    std::fs::read_to_string(repo.join(rel)).expect("file exists")
}

fn backend_task(findings: Vec<FindingNote>) -> TaskSpec {
    task(
        "backend",
        TaskRole::Writer,
        vec![
            add_created_at("orders.v1"),
            add_created_at("order-events.v1"),
        ],
        findings,
    )
}

/// Run the task twice: the second run must change nothing.
fn run_twice(task: &TaskSpec, repo: &Path) -> AgentReport {
    let report = run(task, repo, &"p".repeat(2048)).expect("agent runs");
    let again = run(task, repo, "").expect("agent re-runs");
    let unchanged = format!("{}: no changes needed", task.repo);
    assert!(
        again.summary.starts_with(&unchanged),
        "re-run must be a no-op: {}",
        again.summary
    );
    report
}

#[test]
fn writer_spells_a_new_field_in_snake_case_on_attempt_one() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("backend");
    let report = run_twice(&backend_task(vec![]), &repo);
    assert_eq!(
        report.summary,
        "backend: changed app.py, contracts/order-created.v1.json, contracts/orders.v1.json, tests/test_app.py"
    );
    assert_eq!(report.cost_usd, 0.004);
    let schema: serde_json::Value =
        serde_json::from_str(&read(&repo, "contracts/orders.v1.json")).expect("json");
    assert_eq!(
        schema["properties"]["created_at"],
        serde_json::json!({"type": "string", "format": "date-time"})
    );
    assert!(
        schema["required"]
            .as_array()
            .expect("required")
            .contains(&serde_json::json!("created_at"))
    );
    let app = read(&repo, "app.py");
    assert_eq!(
        app.matches("\"created_at\": order[\"created_at\"],")
            .count(),
        2,
        "{app}"
    );
    assert!(app.contains("order[\"created_at\"] = now_iso()"));
    assert!(app.contains("order.setdefault(\"created_at\", \"2026-01-01T00:00:00Z\")"));
    assert!(!app.contains("createdAt"));
    assert_repo_tests_pass(&repo);
}

#[test]
fn writer_uses_the_exact_name_after_a_finding() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("backend");
    run(&backend_task(vec![]), &repo, "").expect("attempt 1");
    // A finding for another repo does not change the habit.
    run(&backend_task(vec![casing_finding("worker")]), &repo, "").expect("attempt 2 for worker");
    assert!(!read(&repo, "app.py").contains("createdAt"));
    run_twice(&backend_task(vec![casing_finding("backend")]), &repo);
    let app = read(&repo, "app.py");
    assert_eq!(
        app.matches("\"createdAt\": order[\"created_at\"],").count(),
        2,
        "{app}"
    );
    assert!(!app.contains("\"created_at\":"));
    for schema in [
        "contracts/orders.v1.json",
        "contracts/order-created.v1.json",
    ] {
        let text = read(&repo, schema);
        assert!(
            text.contains("\"createdAt\"") && !text.contains("created_at"),
            "{text}"
        );
    }
    let tests = read(&repo, "tests/test_app.py");
    assert_eq!(tests.matches("\"createdAt\",").count(), 2);
    assert!(!tests.contains("\"created_at\","));
    assert_repo_tests_pass(&repo);
}

#[test]
fn fresh_writer_with_a_finding_uses_the_exact_name() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("backend");
    run(&backend_task(vec![casing_finding("backend")]), &repo, "").expect("agent runs");
    assert_eq!(
        read(&repo, "app.py")
            .matches("\"createdAt\": order[\"created_at\"],")
            .count(),
        2
    );
    assert_repo_tests_pass(&repo);
}

#[test]
fn worker_reads_the_exact_name() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("worker");
    let report = run_twice(
        &task(
            "worker",
            TaskRole::Reader,
            vec![add_created_at("order-events.v1")],
            vec![],
        ),
        &repo,
    );
    assert_eq!(
        report.summary,
        "worker: changed factory.toml, tests/fixtures/order-events.v1.json, tests/test_worker.py, worker.py"
    );
    assert!(read(&repo, "worker.py").contains("f\"Created at: {event['createdAt']}\","));
    assert!(
        read(&repo, "factory.toml")
            .contains("reads = [\"orderId\", \"customer\", \"total\", \"createdAt\"]")
    );
    assert!(
        read(&repo, "tests/fixtures/order-events.v1.json")
            .contains("\"createdAt\": \"2026-01-01T00:00:00Z\"")
    );
    assert!(read(&repo, "tests/test_worker.py").contains("\"Created at: 2026-01-01T00:00:00Z\","));
    assert_repo_tests_pass(&repo);
}

#[test]
fn frontend_reads_the_exact_name_and_skips_other_contracts() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("frontend");
    let changes = vec![
        add_created_at("orders.v1"),
        add_created_at("order-events.v1"),
    ];
    let report = run_twice(&task("frontend", TaskRole::Reader, changes, vec![]), &repo);
    assert_eq!(
        report.summary,
        "frontend: changed app.js, factory.toml\nnothing to do for order-events.v1"
    );
    assert!(
        read(&repo, "app.js")
            .contains("  [\"createdAt\", \"Created at\"],\n  // factory:reads orders.v1")
    );
    assert!(
        read(&repo, "factory.toml")
            .contains("reads = [\"id\", \"customer\", \"total\", \"status\", \"createdAt\"]")
    );
    assert_repo_tests_pass(&repo);
}

#[test]
fn frontend_test_catches_an_undeclared_read() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("frontend");
    run(
        &task(
            "frontend",
            TaskRole::Reader,
            vec![add_created_at("orders.v1")],
            vec![],
        ),
        &repo,
        "",
    )
    .expect("runs");
    let toml = read(&repo, "factory.toml").replace(", \"createdAt\"]", "]");
    std::fs::write(repo.join("factory.toml"), toml).expect("write");
    let (ok, out) = sh(&repo, "python3 -m unittest discover -s tests -t .");
    assert!(!ok && out.contains("createdAt"), "{out}");
}

#[test]
fn rename_and_remove_across_writer_and_reader() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let backend = example.clone_repo("backend");
    let worker = example.clone_repo("worker");
    let contract = "order-events.v1".to_string();
    let rename = ChangeSpec::RenameField {
        contract: contract.clone(),
        from: "customer".into(),
        to: "customerName".into(),
    };
    run_twice(
        &task("backend", TaskRole::Writer, vec![rename.clone()], vec![]),
        &backend,
    );
    run_twice(
        &task("worker", TaskRole::Reader, vec![rename], vec![]),
        &worker,
    );
    assert!(read(&backend, "app.py").contains("\"customerName\": order[\"customer\"],"));
    assert!(read(&worker, "worker.py").contains("event['customerName']"));
    assert!(
        read(&worker, "factory.toml")
            .contains("reads = [\"orderId\", \"customerName\", \"total\"]")
    );
    let remove = ChangeSpec::RemoveField {
        contract,
        field: "total".into(),
    };
    run_twice(
        &task("backend", TaskRole::Writer, vec![remove.clone()], vec![]),
        &backend,
    );
    run_twice(
        &task("worker", TaskRole::Reader, vec![remove], vec![]),
        &worker,
    );
    assert!(!read(&worker, "worker.py").contains("event['total']"));
    assert!(!read(&backend, "contracts/order-created.v1.json").contains("\"total\""));
    assert_repo_tests_pass(&backend);
    assert_repo_tests_pass(&worker);
}

#[test]
fn nested_paths_are_refused() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("backend");
    let change = ChangeSpec::RemoveField {
        contract: "orders.v1".into(),
        field: "items[].sku".into(),
    };
    let err = run(
        &task("backend", TaskRole::Writer, vec![change], vec![]),
        &repo,
        "",
    )
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "unsupported: field path `items[].sku`: only top-level field names are edited"
    );
}

#[test]
fn process_contract_reads_task_and_prompt_and_writes_a_report() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("worker");
    let files = tempfile::tempdir().expect("tempdir");
    let task = task(
        "worker",
        TaskRole::Reader,
        vec![add_created_at("order-events.v1")],
        vec![],
    );
    std::fs::write(
        files.path().join("task.json"),
        serde_json::to_vec(&task).expect("json"),
    )
    .expect("write");
    std::fs::write(files.path().join("prompt.md"), "x".repeat(4096)).expect("write");
    let report_file = files.path().join("report.json");
    let env = |name: &str| match name {
        "FACTORY_TASK_FILE" => Some(files.path().join("task.json").into_os_string()),
        "FACTORY_PROMPT_FILE" => Some(files.path().join("prompt.md").into_os_string()),
        "FACTORY_REPORT_FILE" => Some(report_file.clone().into_os_string()),
        _ => None,
    };
    run_with(env, &repo).expect("agent runs");
    let report: AgentReport =
        serde_json::from_slice(&std::fs::read(&report_file).expect("report")).expect("json");
    assert_eq!(report.cost_usd, 0.008);
    assert!(
        report.summary.starts_with("worker: changed factory.toml"),
        "{}",
        report.summary
    );
    let err = run_with(|_| None, &repo).expect_err("no env");
    assert_eq!(
        err.to_string(),
        "environment variable FACTORY_TASK_FILE is not set"
    );
    std::fs::write(files.path().join("task.json"), "{}").expect("write");
    let err = run_with(env, &repo).expect_err("bad task");
    assert!(
        err.to_string().starts_with("task file: missing field"),
        "{err}"
    );
}

/// The event backend emits for a new order, from the backend worktree's own code.
fn emitted_event(backend: &Path) -> String {
    let script = "import json, app; print(json.dumps(app.order_created_event(app.backfill(\
                  {'id': 1001, 'customer': 'Ada Lovelace', 'total': 42.5}))))";
    let (ok, out) = sh(backend, &format!("python3 -c \"{script}\""));
    assert!(ok, "{out}");
    out
}

/// Feed one event line to the worker in `--once` mode; returns its output.
fn worker_renders(worker: &Path, event: &str) -> String {
    let file = worker.join("event.jsonl");
    std::fs::write(&file, event).expect("write event");
    sh(worker, "python3 worker.py --once event.jsonl").1
}

#[test]
fn the_casing_mismatch_only_shows_across_repos() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let (backend, worker) = (example.clone_repo("backend"), example.clone_repo("worker"));
    run(&backend_task(vec![]), &backend, "").expect("backend attempt 1");
    run(
        &task(
            "worker",
            TaskRole::Reader,
            vec![add_created_at("order-events.v1")],
            vec![],
        ),
        &worker,
        "",
    )
    .expect("worker attempt 1");
    // Each repo's own tests pass ...
    assert_repo_tests_pass(&backend);
    assert_repo_tests_pass(&worker);
    // ... but the worker cannot read what the backend emits.
    let out = worker_renders(&worker, &emitted_event(&backend));
    assert!(
        out.contains("worker: error: event is missing field 'createdAt'"),
        "{out}"
    );
    // After the finding, the backend emits the exact name and the worker renders it.
    run(&backend_task(vec![casing_finding("backend")]), &backend, "").expect("backend attempt 2");
    let out = worker_renders(&worker, &emitted_event(&backend));
    assert!(out.contains("Created at: 2026-01-01T00:00:00Z"), "{out}");
}

/// The rule in the prompt is the one instruction the agent honours; without it the slip stays.
#[test]
fn a_prompt_line_with_the_exact_names_rule_prevents_the_slip() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let check = |prompt: &str, expected: &str| {
        let repo = example.clone_repo("backend");
        run(&backend_task(vec![]), &repo, prompt).expect("agent runs");
        let schema: serde_json::Value =
            serde_json::from_str(&read(&repo, "contracts/orders.v1.json")).expect("json");
        let props = schema["properties"].as_object().expect("properties");
        assert!(props.contains_key(expected), "{prompt:?}: {props:?}");
        assert_repo_tests_pass(&repo);
    };
    check("", "created_at");
    check("Rules:\n- keep it small", "created_at");
    check(
        &format!("Rules:\n- On backend: {EXACT_NAMES_RULE}\n"),
        "createdAt",
    );
    // Cut across two lines it is not the rule.
    let (a, b) = EXACT_NAMES_RULE.split_at(20);
    check(&format!("{a}\n{b}"), "created_at");
}
