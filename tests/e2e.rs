//! The product's main job end to end, through the real binary: `factory demo` generates the
//! example org, runs a coordinator and two nodes over QUIC, and delivers "expose the order
//! creation time to the dashboard and the email worker" with the deterministic agent. The agent
//! writes `created_at` in the producer while the readers read `createdAt`; the verifier must catch
//! it statically and in the sandbox, the retry must fix it, and the bundle must hold the proof.
//! The bad-input cases run the same demo with hostile agents and tight budgets.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Run `factory demo` in a fresh folder; returns (success, stdout, stderr, the bundle's folder).
fn demo(dir: &Path, extra: &[&str]) -> (bool, String, String, Option<PathBuf>) {
    let out = Command::new(support::factory_bin())
        .arg("demo")
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run factory demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let bundle = stdout
        .lines()
        .find_map(|l| l.strip_prefix("bundle: "))
        .map(PathBuf::from);
    (out.status.success(), stdout, stderr, bundle)
}

fn bundle_json(bundle: &Path) -> Value {
    let text = std::fs::read_to_string(bundle.join("bundle.json")).expect("bundle.json");
    serde_json::from_str(&text).expect("bundle.json parses")
}

#[test]
fn the_demo_delivers_the_outcome_and_the_bundle_proves_it() {
    let (_keep, dir) = support::scratch();
    let (ok, stdout, stderr, bundle) = demo(&dir.join("demo"), &[]);
    assert!(ok, "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let bundle = bundle.expect("the demo prints where the bundle is");
    let b = bundle_json(&bundle);
    assert_eq!(b["status"], "delivered", "{stdout}");

    // The mistake was caught both statically and in the sandbox, and names the writer to fix.
    let findings = b["findings"].as_array().expect("findings");
    for caught in ["static", "dynamic"] {
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "NAMING/casing-mismatch" && f["caught_by"] == caught),
            "no {caught} casing finding: {findings:#?}"
        );
    }
    // The retry fixed it: backend needed two attempts, the readers one, and every diff reads createdAt.
    let repos = b["repos"].as_array().expect("repos");
    let repo = |name: &str| {
        repos
            .iter()
            .find(|r| r["repo"] == name)
            .unwrap_or_else(|| panic!("no {name} in bundle"))
    };
    assert_eq!(repo("backend")["attempts"], 2);
    for name in ["backend", "frontend", "worker"] {
        let r = repo(name);
        assert!(
            r["diff"].as_str().unwrap_or("").contains("createdAt"),
            "{name} diff lacks createdAt"
        );
        assert!(r["branch"].as_str().unwrap_or("").starts_with("factory/"));
        let checks = r["checks"].as_array().expect("checks");
        assert!(
            checks
                .iter()
                .any(|c| c["name"] == "test" && c["passed"] == true),
            "{name}: {checks:?}"
        );
    }
    assert!(
        repo("backend")["diff"]
            .as_str()
            .unwrap_or("")
            .contains("createdAt")
    );
    assert!(
        repos.iter().all(|r| r["repo"] != "infra"),
        "infra is not affected"
    );

    // Rollout: backend in a wave before both readers; rollback in reverse.
    let waves = &b["phases"][0]["waves"];
    let wave_of = |repo: &str| {
        waves.as_array().expect("waves").iter().position(|w| {
            w.as_array()
                .expect("wave")
                .iter()
                .any(|t| t.as_str().unwrap_or("").starts_with(repo))
        })
    };
    assert!(
        wave_of("backend") < wave_of("frontend") && wave_of("backend") < wave_of("worker"),
        "{waves}"
    );
    let rollback = b["rollback"].as_array().expect("rollback");
    assert_eq!(
        rollback.last().expect("steps")["repos"][0],
        "backend",
        "backend rolls back last: {rollback:?}"
    );

    // Every claim's log is in the bundle with the hash it claims.
    let claims = b["claims"].as_array().expect("claims");
    assert!(!claims.is_empty());
    for c in claims {
        let log = bundle.join(c["log"].as_str().expect("log path"));
        let bytes = std::fs::read(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(!bytes.is_empty());
        assert_eq!(c["artifact_sha256"].as_str().map(str::len), Some(64));
    }
    // A real PNG of the rendered dashboard.
    let shots = b["screenshots"].as_array().expect("screenshots");
    let png =
        std::fs::read(bundle.join(shots[0]["path"].as_str().expect("path"))).expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 2000,
        "not a real PNG"
    );
    // Reports, PRD, architecture notes, and the three renderings.
    let reports: Vec<&str> = b["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(reports.contains(&"junit.xml"), "{reports:?}");
    let junit =
        std::fs::read_to_string(bundle.join("artifacts/reports/junit.xml")).unwrap_or_default();
    assert!(
        junit.contains("<testsuite") && junit.contains("backend"),
        "{junit}"
    );
    assert!(b["prd_md"].as_str().unwrap_or("").contains("createdAt"));
    assert!(!b["architecture_md"].as_str().unwrap_or("").is_empty());
    let html = std::fs::read_to_string(bundle.join("index.html")).expect("index.html");
    assert!(html.contains("NAMING/casing-mismatch") && html.contains("<img"));
    let md = std::fs::read_to_string(bundle.join("bundle.md")).expect("bundle.md");
    assert!(md.contains("backend") && md.contains("Rollback"), "{md}");
    assert!(b["cost_usd"].as_f64().unwrap_or(0.0) > 0.0);
}

/// Each hostile agent or exhausted budget ends the run with a clear error, in the run's output and
/// in the bundle, and nothing else breaks (the demo still writes its bundle and exits cleanly).
fn failing_demo(extra: &[&str], expect: &str) {
    let (_keep, dir) = support::scratch();
    let (ok, stdout, stderr, bundle) = demo(&dir.join("demo"), extra);
    assert!(!ok, "the run should fail\n{stdout}");
    assert!(
        stdout.contains(expect) || stderr.contains(expect),
        "no {expect:?} in\n{stdout}\n{stderr}"
    );
    let bundle = bundle.unwrap_or_else(|| panic!("a failed run still has a bundle\n{stdout}"));
    let b = bundle_json(&bundle);
    assert_eq!(b["status"], "failed");
    let errors = b["errors"].to_string();
    assert!(
        errors.contains(expect),
        "bundle errors lack {expect:?}: {errors}"
    );
}

#[test]
fn an_agent_that_hangs_past_its_budget_is_killed() {
    failing_demo(
        &[
            "--agent",
            "custom:sleep 600",
            "--agent-timeout-secs",
            "2",
            "--max-attempts",
            "1",
        ],
        "time limit",
    );
}

#[test]
fn an_agent_that_exits_non_zero_fails_the_run() {
    failing_demo(
        &[
            "--agent",
            "custom:sh -c 'echo broken >&2; exit 3'",
            "--max-attempts",
            "2",
        ],
        "exit",
    );
}

#[test]
fn an_agent_that_writes_outside_its_worktree_is_caught() {
    failing_demo(
        &[
            "--agent",
            "custom:sh -c 'echo x > ../escape.txt'",
            "--max-attempts",
            "1",
        ],
        "outside",
    );
}

#[test]
fn an_agent_that_prints_garbage_instead_of_a_report_fails_the_run() {
    failing_demo(
        &[
            "--agent",
            "custom:sh -c 'echo {{{garbage > \"$FACTORY_REPORT_FILE\"'",
            "--max-attempts",
            "1",
        ],
        "report",
    );
}

#[test]
fn a_run_over_its_cost_budget_stops() {
    failing_demo(&["--max-cost-usd", "0.001"], "cost budget");
}

fn bundles(stdout: &str) -> Vec<PathBuf> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("bundle: "))
        .map(PathBuf::from)
        .collect()
}

/// The seed's first learning example, then the skill it teaches. Run 1 hits `created_at` vs
/// `createdAt` and fixes it; the learner turns that into a gate on each boundary (replayed and
/// promoted) and a skill for backend (a rule line, replayed for real after delivery and accepted,
/// but not made champion: a person promotes templates). Run 2 adds `updatedAt`; the agent makes the same class
/// of mistake and the gate stops it in the first verification round — before any reader changed —
/// naming the gate and the run that taught it. A person then promotes `skill:backend`, and run 3
/// (`shippedAt`, same org and state) makes no slip at all: backend needs one attempt.
#[test]
fn learning_a_slip_gives_a_gate_and_a_skill_that_a_person_promotes() {
    let (_keep, dir) = support::scratch();
    let demo_dir = dir.join("demo");
    let started = std::time::Instant::now();
    let (ok, stdout, stderr, _) = demo(&demo_dir, &["--learning"]);
    assert!(ok, "demo failed\n{stdout}\n{stderr}");
    let found = bundles(&stdout);
    assert_eq!(found.len(), 2, "{stdout}");
    let (first, second) = (bundle_json(&found[0]), bundle_json(&found[1]));
    let learned = first["learned"].to_string();
    assert!(
        learned.contains("gate:contract/casing@backend->worker") && learned.contains("blocking"),
        "{learned}"
    );
    // The skill's replay runs after delivery: the bundle says it was proposed, the demo prints
    // the verdict once the replay is done.
    assert!(
        learned.contains("skill skill:backend proposed") && learned.contains("in the background"),
        "{learned}"
    );
    assert!(
        stdout.contains("learned: skill skill:backend accepted: fixes 1 of 1")
            && stdout.contains("factory learner promote skill:backend"),
        "{stdout}"
    );
    let first_id = first["run_id"].as_str().expect("run id");
    let gate_findings: Vec<&Value> = second["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["caught_by"] == "gate")
        .collect();
    assert!(
        !gate_findings.is_empty(),
        "run 2 was not stopped by a gate: {}",
        second["findings"]
    );
    for f in &gate_findings {
        let msg = f["message"].as_str().unwrap_or("");
        assert!(
            msg.contains("updated_at") && msg.contains(first_id),
            "{msg}"
        );
        assert_eq!(
            f["attempt"], 1,
            "the gate fires in the writer's round, before any reader changes"
        );
    }
    assert!(
        !second["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "NAMING/casing-mismatch"),
        "the gate, not the reader-side check, should have caught it"
    );
    assert_eq!(second["status"], "delivered");
    let two_runs = started.elapsed();

    // A person reads the accepted skill and promotes it.
    let state = demo_dir.join("state");
    let listed = factory(&["learner", "--state", path(&state), "list"]);
    assert!(
        listed.contains("skill:backend  champion: none") && listed.contains("accept: fixes 1 of 1"),
        "{listed}"
    );
    let promoted = factory(&[
        "learner",
        "--state",
        path(&state),
        "promote",
        "skill:backend",
        "--by",
        "reviewer",
    ]);
    assert!(
        promoted.contains("skill:backend: champion is now"),
        "{promoted}"
    );

    let started = std::time::Instant::now();
    let (ok, stdout, stderr, _) = demo(&demo_dir, &["--again", "shippedAt"]);
    assert!(ok, "run 3 failed\n{stdout}\n{stderr}");
    let found = bundles(&stdout);
    assert_eq!(found.len(), 1, "{stdout}");
    let third = bundle_json(&found[0]);
    assert_eq!(third["status"], "delivered");
    let findings = third["findings"].to_string();
    assert!(
        !findings.contains("NAMING/casing"),
        "the promoted skill should have prevented the slip: {findings}"
    );
    let backend = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("task backend:"))
        .expect("the backend task line");
    assert!(backend.contains("attempts 1 "), "{backend}");
    let retried = third["timings"]
        .as_array()
        .expect("timings")
        .iter()
        .any(|t| {
            t["step"]
                .as_str()
                .is_some_and(|s| s.starts_with("backend:") && s.contains("attempt 2"))
        });
    assert!(!retried, "{}", third["timings"]);
    eprintln!(
        "learning e2e: runs 1-2 {:.1}s, promote + run 3 {:.1}s",
        two_runs.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// Run the factory binary; its stdout, or a panic with both streams.
fn factory(args: &[&str]) -> String {
    let out = Command::new(support::factory_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run factory");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "factory {args:?} failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The seed's second learning example: run 1's sandbox cannot start because the backend's seed
/// data is missing; the learner proposes the seed step for its setup workflow, replays it for real
/// and promotes it; run 2 starts from a working sandbox.
#[test]
fn a_missing_setup_step_is_learned_and_the_next_sandbox_starts() {
    let (_keep, dir) = support::scratch();
    let (ok, stdout, stderr, _) = demo(&dir.join("demo"), &["--learning", "--missing-seed-step"]);
    assert!(ok, "the second run should deliver\n{stdout}\n{stderr}");
    let found = bundles(&stdout);
    assert_eq!(found.len(), 2, "{stdout}");
    let (first, second) = (bundle_json(&found[0]), bundle_json(&found[1]));
    assert_eq!(first["status"], "failed");
    assert!(
        first["findings"].to_string().contains("seed data missing"),
        "{}",
        first["findings"]
    );
    assert!(
        first["learned"]
            .to_string()
            .contains("setup step `python3 scripts/seed.py` for backend promoted"),
        "{}",
        first["learned"]
    );
    assert_eq!(second["status"], "delivered");
    assert!(
        !second["findings"].to_string().contains("SANDBOX/"),
        "{}",
        second["findings"]
    );
}
