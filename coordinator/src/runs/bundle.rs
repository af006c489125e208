//! Assemble the delivery bundle from a finished run, its plan and the artifacts nodes uploaded.

use std::path::{Path, PathBuf};

use actors::bundle::{
    Artifact, Bundle, BundleFinding, BundleStatus, CaughtBy, Claim, Phase, RepoDelivery,
    RollbackStep, Timing,
};
use actors::plan::Plan;
use actors::verify::{self, CheckRecord};
use protocol::run::{RunRecord, RunStatus, TaskResult};

/// Build the bundle. Artifacts are referenced by absolute path under `artifacts` (the run's
/// folder on the coordinator); `write_bundle` copies them in.
pub fn assemble(run: &RunRecord, artifacts: &Path) -> Bundle {
    let plan: Option<Plan> = run
        .plan
        .clone()
        .and_then(|p| serde_json::from_value(p).ok());
    let mut errors: Vec<String> = run.error.iter().cloned().collect();
    let mut repos = Vec::new();
    let mut claims = Vec::new();
    let mut timings = Vec::new();
    let mut suites = Vec::new();
    for task in &run.tasks {
        for r in &task.results {
            timings.push(Timing {
                step: format!("{} attempt {} agent", task.id, r.attempt),
                duration_ms: r.agent_ms,
            });
            timings.push(Timing {
                step: format!("{} attempt {} checks", task.id, r.attempt),
                duration_ms: r.checks_ms,
            });
            if let Some(e) = &r.error {
                errors.push(format!("{} attempt {}: {e}", task.id, r.attempt));
            }
        }
        let Some(last) = task.results.iter().rev().find(|r| r.branch.is_some()) else {
            continue;
        };
        let checks = checks_of(last, &task.repo, artifacts);
        for c in &checks {
            claims.push(Claim {
                statement: format!(
                    "{}: `{}` {} on {}",
                    task.repo,
                    c.name,
                    if c.passed { "passed" } else { "failed" },
                    short(last.head.as_deref())
                ),
                repo: Some(task.repo.clone()),
                command: c.command.clone(),
                exit_code: c.exit_code,
                log: c.log_path.display().to_string(),
                artifact_sha256: c.log_sha256.clone(),
            });
        }
        suites.push((task.repo.clone(), checks.clone()));
        repos.push(RepoDelivery {
            repo: task.repo.clone(),
            node: last.node.clone(),
            branch: last.branch.clone().unwrap_or_default(),
            base: last.base.clone().unwrap_or_default(),
            head: last.head.clone().unwrap_or_default(),
            diff: last.diff.clone(),
            agent_summary: last.summary.clone(),
            attempts: task.attempts,
            cost_usd: task.results.iter().map(|r| r.cost_usd).sum(),
            checks,
        });
    }
    let mut reports = Vec::new();
    if !suites.is_empty() {
        let dir = artifacts.join("reports");
        let junit = verify::junit_xml(&suites);
        let md = verify::markdown_report(&format!("Tests of run {}", run.id), &suites);
        for (name, text) in [("junit.xml", junit), ("tests.md", md)] {
            let path = dir.join(name);
            match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
                Ok(()) => reports.push(artifact(name, path)),
                Err(e) => errors.push(format!("report {name}: {e}")),
            }
        }
    }
    let findings = run
        .findings
        .iter()
        .map(|f| BundleFinding {
            rule: f.note.rule.clone(),
            severity: f.severity.clone(),
            message: f.note.message.clone(),
            writer: String::new(),
            reader: f
                .note
                .fix_repo
                .clone()
                .map(|r| format!("fix in {r}"))
                .unwrap_or_default(),
            fix: f.note.fix.clone(),
            caught_by: match f.caught_by.as_str() {
                "static" => CaughtBy::Static,
                "dynamic" => CaughtBy::Dynamic,
                _ => CaughtBy::Gate,
            },
            attempt: f.round,
        })
        .collect();
    let last_round = run.verify_rounds;
    let screenshots = files_under(&artifacts.join(format!("round-{last_round}/screenshots")));
    let mut logs = files_under(&artifacts.join(format!("round-{last_round}/sandbox")));
    logs.extend(files_under(
        &artifacts.join(format!("round-{last_round}/payloads")),
    ));
    Bundle {
        run_id: run.id.clone(),
        title: run.outcome.title.clone(),
        status: match run.status {
            RunStatus::Delivered | RunStatus::Verifying => BundleStatus::Delivered,
            _ if run.error.is_some() => BundleStatus::Failed,
            _ => BundleStatus::Blocked,
        },
        prd_md: plan.as_ref().map(|p| p.prd.clone()).unwrap_or_default(),
        architecture_md: plan.as_ref().map(|p| p.notes.clone()).unwrap_or_default(),
        repos,
        findings,
        claims,
        phases: plan
            .as_ref()
            .map(|p| {
                p.phases
                    .iter()
                    .map(|ph| Phase {
                        name: ph.phase.name().to_string(),
                        waves: ph.waves.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        rollback: plan
            .as_ref()
            .map(|p| {
                p.rollback
                    .iter()
                    .map(|s| RollbackStep {
                        phase: s.phase.name().to_string(),
                        wave: s.wave as u32,
                        repos: vec![s.repo.clone()],
                        action: format!(
                            "redeploy {} at its previous release (undo {})",
                            s.repo, s.task
                        ),
                        irreversible: s.irreversible,
                        why: s.why.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        screenshots,
        logs,
        reports,
        cost_usd: run.cost_usd,
        budget_usd: run.budget.max_cost_usd,
        learned: Vec::new(),
        errors,
        timings,
    }
}

/// The checks of a result, with log paths pointing at the coordinator's copies.
fn checks_of(r: &TaskResult, repo: &str, artifacts: &Path) -> Vec<CheckRecord> {
    let mut checks: Vec<CheckRecord> = serde_json::from_value(r.checks.clone()).unwrap_or_default();
    for c in &mut checks {
        c.log_path = artifacts.join(format!("{repo}/attempt-{}/check-{}.log", r.attempt, c.name));
    }
    checks
}

fn files_under(dir: &Path) -> Vec<Artifact> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            artifact(&name, p)
        })
        .collect()
}

fn artifact(name: &str, path: PathBuf) -> Artifact {
    let sha256 = verify::sha256_file(&path).unwrap_or_default();
    Artifact {
        name: name.to_string(),
        path,
        sha256,
    }
}

fn short(head: Option<&str>) -> String {
    head.map(|h| h.chars().take(10).collect())
        .unwrap_or_else(|| "-".into())
}
