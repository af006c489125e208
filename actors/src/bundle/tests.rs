use std::path::{Path, PathBuf};

use super::*;
use crate::verify::{CheckRecord, sha256_file};

const HOSTILE_DIFF: &str =
    "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = \"<script>alert('x')</script>\" & 2\n";

fn sample(src: &Path) -> Bundle {
    let log = src.join("test.log");
    std::fs::write(&log, "ran 3 tests\nOK\n").unwrap();
    let shot = src.join("front.png");
    std::fs::write(&shot, b"\x89PNG\r\n\x1a\nfake").unwrap();
    let junit = src.join("junit.xml");
    std::fs::write(&junit, "<testsuites/>").unwrap();
    Bundle {
        run_id: "run-1".into(),
        title: "Expose <createdAt>".into(),
        status: BundleStatus::Delivered,
        prd_md: "# PRD\nAdd `createdAt` <b>now</b>".into(),
        architecture_md: "backend → worker".into(),
        repos: vec![RepoDelivery {
            repo: "backend".into(),
            node: "node-a".into(),
            branch: "factory/run-1".into(),
            base: "a".repeat(40),
            head: "b".repeat(40),
            diff: HOSTILE_DIFF.into(),
            agent_summary: "renamed <field>".into(),
            attempts: 2,
            cost_usd: 0.25,
            checks: vec![CheckRecord {
                name: "test".into(),
                command: "python3 -m unittest 'x'".into(),
                cwd: PathBuf::from("/srv/wt/backend"),
                exit_code: Some(0),
                timed_out: false,
                duration_ms: 1500,
                log_sha256: sha256_file(&log).unwrap(),
                log_path: log,
                passed: true,
            }],
        }],
        findings: vec![BundleFinding {
            rule: "NAMING/casing-mismatch".into(),
            severity: "error".into(),
            message: "worker reads createdAt, backend writes created_at".into(),
            writer: "backend".into(),
            reader: "worker".into(),
            fix: Some("#[serde(rename = \"createdAt\")]".into()),
            caught_by: CaughtBy::Dynamic,
            attempt: 1,
        }],
        claims: vec![Claim {
            statement: "backend tests pass".into(),
            repo: Some("backend".into()),
            command: "python3 -m unittest".into(),
            exit_code: Some(0),
            log: src.join("test.log").display().to_string(),
            artifact_sha256: String::new(),
        }],
        phases: vec![Phase {
            name: "expand".into(),
            waves: vec![
                vec!["backend".into()],
                vec!["worker".into(), "frontend".into()],
            ],
        }],
        rollback: vec![
            RollbackStep {
                phase: "expand".into(),
                wave: 1,
                repos: vec!["worker".into()],
                action: "redeploy base".into(),
                irreversible: false,
                why: "reader only".into(),
            },
            RollbackStep {
                phase: "contract".into(),
                wave: 0,
                repos: vec!["backend".into()],
                action: "restore created_at".into(),
                irreversible: true,
                why: "events already written without created_at".into(),
            },
        ],
        screenshots: vec![Artifact {
            name: "frontend /".into(),
            path: shot,
            sha256: String::new(),
        }],
        logs: vec![Artifact {
            name: "missing".into(),
            path: src.join("gone.log"),
            sha256: String::new(),
        }],
        reports: vec![Artifact {
            name: "junit".into(),
            path: junit,
            sha256: String::new(),
        }],
        cost_usd: 0.25,
        budget_usd: 5.0,
        learned: vec!["gate on backend→worker casing".into()],
        errors: vec![],
        timings: vec![Timing {
            step: "verify".into(),
            duration_ms: 4200,
        }],
    }
}

#[test]
fn bundle_round_trips_and_artifacts_are_copied_and_hashed() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let input = sample(src.path());
    let paths = write_bundle(out.path(), &input).unwrap();

    let json = std::fs::read_to_string(&paths.json).unwrap();
    let back: Bundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, paths.bundle);
    assert_eq!(back.repos[0].diff, input.repos[0].diff);
    assert_eq!(back.title, input.title);

    let check = &back.repos[0].checks[0];
    assert_eq!(
        check.log_path,
        Path::new("artifacts/checks/backend/test.log")
    );
    assert_eq!(check.log_sha256, input.repos[0].checks[0].log_sha256);
    assert_eq!(
        back.screenshots[0].path,
        Path::new("artifacts/screenshots/front.png")
    );
    assert_eq!(back.claims[0].log, "artifacts/claims/test.log");
    for a in back.screenshots.iter().chain(&back.reports) {
        assert_eq!(
            a.sha256,
            sha256_file(&out.path().join(&a.path)).unwrap(),
            "{}",
            a.name
        );
    }
    // The missing log is reported, and everything else still written.
    assert_eq!(back.errors.len(), 1, "{:?}", back.errors);
    assert!(back.errors[0].contains("gone.log"));
    assert!(paths.markdown.is_file() && paths.html.is_file());

    // Writing the written bundle again changes nothing.
    let again = write_bundle(out.path(), &back).unwrap();
    assert_eq!(again.bundle.repos, back.repos);
    assert_eq!(again.bundle.screenshots, back.screenshots);
}

#[test]
fn a_log_changed_after_its_check_is_flagged() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut input = sample(src.path());
    input.logs.clear();
    input.repos[0].checks[0].log_sha256 = "0".repeat(64);
    let paths = write_bundle(out.path(), &input).unwrap();
    assert!(
        paths
            .bundle
            .errors
            .iter()
            .any(|e| e.contains("changed after the check ran"))
    );
}

#[test]
fn html_escapes_everything_and_links_only_bundle_files() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut input = sample(src.path());
    input.reports.push(Artifact {
        name: "evil".into(),
        path: PathBuf::from("javascript:alert(1)"),
        sha256: String::new(),
    });
    let html = std::fs::read_to_string(write_bundle(out.path(), &input).unwrap().html).unwrap();
    assert!(!html.contains("<script>"), "unescaped script tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("<title>Expose &lt;createdAt&gt;</title>"));
    assert!(html.contains("renamed &lt;field&gt;"));
    assert!(html.contains("&lt;b&gt;now&lt;/b&gt;"));
    assert!(!html.contains("href=\"javascript"));
    assert!(html.contains("<img src=\"artifacts/screenshots/front.png\" alt=\"frontend /\">"));
    assert!(html.contains("<a href=\"artifacts/checks/backend/test.log\">"));
    assert!(html.contains("class=\"irreversible\""));
    assert!(html.contains("IRREVERSIBLE: needs approval"));
    assert!(html.contains("git fetch origin factory/run-1 &amp;&amp; git checkout bbbb"));
    assert!(
        html.contains("sh -c &#39;python3 -m unittest &#39;\\&#39;&#39;x&#39;\\&#39;&#39;&#39;")
    );
    assert!(
        !html.contains("<script"),
        "the page must work without scripts"
    );
}

#[test]
fn markdown_carries_the_same_content() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let md = std::fs::read_to_string(
        write_bundle(out.path(), &sample(src.path()))
            .unwrap()
            .markdown,
    )
    .unwrap();
    for want in [
        "# Expose <createdAt>",
        "**delivered**",
        "| backend | node-a |",
        "NAMING/casing-mismatch",
        "0. backend",
        "1. worker, frontend",
        "**IRREVERSIBLE, needs approval**: contract wave 0",
        "# in a clone of backend\ngit fetch origin factory/run-1 && git checkout bbbb",
        "+x = \"<script>",
        "artifacts/screenshots/front.png",
        "gate on backend→worker casing",
    ] {
        assert!(md.contains(want), "{want} missing from bundle.md");
    }
}

/// What a reviewer looks at first, in one place: checks, findings, waves, rollback with its
/// irreversible steps, screenshots, and how to decide; for a failed run, nothing to approve.
#[test]
fn html_summarises_what_to_review_and_how_to_decide() {
    let src = tempfile::tempdir().unwrap();
    let render = |status| {
        let mut b = sample(src.path());
        b.status = status;
        render_html(&b)
    };
    let html = render(BundleStatus::Delivered);
    for want in [
        "<a href=\"#repo-backend\">backend</a>",
        "1/1 passed",
        "1 found, 1 error(s), all fixed before delivery",
        "backend → worker, frontend",
        "2 step(s)</a>, <span class=\"irr\">1 irreversible, needing approval</span>",
        "Screenshots</b>: <a href=\"#screenshots\">1</a>",
        "/v1/runs/run-1/approve",
        "<td>backend → worker</td>",
    ] {
        assert!(html.contains(want), "{want} missing from the page");
    }
    let failed = render(BundleStatus::Failed);
    assert!(failed.contains("the run is failed; there is no rollout to approve"));
    assert!(!failed.contains("/approve") && !failed.contains("all fixed"));
}
