//! Delivery, piece by piece, on the generated example org with the real `factory sim-agent`
//! process: a RepoAgent attempt changes a repo, pushes its branch and runs the repo's checks;
//! and the whole delivery with the coordinator and nodes as separate processes.

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
        coordinator: Default::default(),
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

mod support;

/// The same delivery with the coordinator and two nodes as separate processes of the real binary,
/// driven by `factory ship`: every task ran on the node that owns its repo's shard, and the two
/// independent reader tasks overlapped in time.
/// A coordinator (with the example org) and two nodes as processes, settled: both up, every repo
/// owned.
struct LiveCluster {
    certs: support::Certs,
    coordinator: support::Proc,
    _nodes: Vec<support::Proc>,
    addr: String,
    org_dir: std::path::PathBuf,
}

fn live_cluster(dir: &std::path::Path) -> LiveCluster {
    use support::{Certs, Proc, start_node, status};
    let certs = Certs::new();
    certs.issue(&["coordinator", "admin"]);
    let out = std::process::Command::new(support::factory_bin())
        .args([
            "example-org",
            "--out",
            &dir.join("org").display().to_string(),
        ])
        .output()
        .expect("example-org");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let org = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let state = dir.join("state").display().to_string();
    let coordinator = Proc::spawn(
        "coordinator",
        &[
            "coordinator",
            "--listen",
            "127.0.0.1:0",
            "--certs",
            &certs.arg(),
            "--org",
            &org,
            "--state",
            &state,
        ],
    );
    let line = coordinator.wait_stdout("coordinator listening on ", Duration::from_secs(30));
    let addr = line.rsplit(' ').next().expect("addr").to_string();
    let nodes: Vec<Proc> = ["node-a", "node-b"]
        .iter()
        .map(|n| start_node(&certs, &addr, n))
        .collect();
    support::wait_until("both nodes own repos", Duration::from_secs(20), || {
        let s = status(&certs, &addr);
        let owned = s["shards"]
            .as_array()?
            .iter()
            .all(|sh| !sh["owner"].is_null());
        let up = s["nodes"]
            .as_array()?
            .iter()
            .filter(|n| n["up"] == true)
            .count();
        (owned && up == 2).then_some(())
    });
    LiveCluster {
        certs,
        coordinator,
        _nodes: nodes,
        addr,
        org_dir: dir.join("org"),
    }
}

/// `factory ship` the demo outcome; returns its output and the run's record.
fn ship(c: &LiveCluster) -> (std::process::Output, serde_json::Value) {
    let ship = std::process::Command::new(support::factory_bin())
        .args([
            "ship",
            "--coordinator",
            &c.addr,
            "--certs",
            &c.certs.arg(),
            "--name",
            "admin",
        ])
        .args([
            "--title",
            "expose the order creation time to the dashboard and the email worker",
        ])
        .args([
            "--change",
            "add orders.v1 createdAt string:date-time",
            "--change",
            "add order-events.v1 createdAt string:date-time",
        ])
        .output()
        .expect("ship");
    let shipped = String::from_utf8_lossy(&ship.stdout).into_owned();
    let run_id = shipped
        .lines()
        .find_map(|l| l.strip_prefix("run ")?.split(' ').next())
        .unwrap_or_else(|| {
            panic!(
                "no run id in\n{shipped}\ncoordinator:\n{}",
                c.coordinator.stderr()
            )
        })
        .to_string();
    let runs = std::process::Command::new(support::factory_bin())
        .args([
            "runs",
            "--coordinator",
            &c.addr,
            "--certs",
            &c.certs.arg(),
            "--name",
            "admin",
            "--json",
            &run_id,
        ])
        .output()
        .expect("runs");
    (
        ship,
        serde_json::from_slice(&runs.stdout).expect("run json"),
    )
}

#[test]
fn a_shipped_outcome_runs_on_the_shard_owners_and_readers_overlap() {
    let (_keep, dir) = support::scratch();
    let c = live_cluster(&dir);
    let coordinator = &c.coordinator;
    let owners: std::collections::BTreeMap<String, String> =
        support::status(&c.certs, &c.addr)["shards"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|s| {
                (
                    s["repo"].as_str().unwrap_or("").to_string(),
                    s["owner"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();

    let (out, run) = ship(&c);
    assert!(
        out.status.success(),
        "ship failed\n{}\ncoordinator:\n{}",
        String::from_utf8_lossy(&out.stdout),
        coordinator.stderr()
    );
    assert_eq!(run["status"], "delivered");
    let mut spans = std::collections::BTreeMap::new();
    for task in run["tasks"].as_array().expect("tasks") {
        let repo = task["repo"].as_str().expect("repo");
        for r in task["results"].as_array().expect("results") {
            assert_eq!(
                r["node"].as_str(),
                owners.get(repo).map(String::as_str),
                "{repo} ran off its owner"
            );
        }
        let first = &task["results"][0];
        spans.insert(
            repo.to_string(),
            (
                first["started_unix_ms"].as_u64().expect("start"),
                first["finished_unix_ms"].as_u64().expect("end"),
            ),
        );
    }
    let (f, w) = (spans["frontend"], spans["worker"]);
    assert!(
        f.0 < w.1 && w.0 < f.1,
        "frontend {f:?} and worker {w:?} did not overlap"
    );
    assert!(
        spans["backend"].1 <= f.0.min(w.0),
        "readers started before the writer finished: {spans:?}"
    );
}

/// A repo whose origin disappeared after the coordinator loaded the org: its task fails with an
/// error naming the origin, the run fails with it, the bundle records it, and the coordinator
/// keeps serving (a second call answers).
#[test]
fn a_repo_whose_origin_is_missing_fails_the_run_clearly() {
    let (_keep, dir) = support::scratch();
    let c = live_cluster(&dir);
    let origin = c.org_dir.join("origins/backend.git");
    std::fs::rename(&origin, c.org_dir.join("origins/moved-away.git")).expect("move origin");
    let (out, run) = ship(&c);
    assert!(!out.status.success(), "the run should fail");
    assert_eq!(run["status"], "failed");
    let error = run["error"].as_str().unwrap_or("");
    assert!(
        error.contains("backend.git"),
        "the error should name the origin: {error}"
    );
    let bundle = std::path::PathBuf::from(run["bundle_dir"].as_str().expect("bundle"));
    let json = std::fs::read_to_string(bundle.join("bundle.json")).expect("bundle.json");
    assert!(
        json.contains("backend.git"),
        "the bundle should carry the error"
    );
    let status = support::status(&c.certs, &c.addr);
    assert_eq!(
        status["nodes"].as_array().map(Vec::len),
        Some(2),
        "the cluster keeps serving"
    );
}
