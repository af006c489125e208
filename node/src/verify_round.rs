//! One verification round on this node: the Verifier's work across repos.
//!
//! Check out every repo of the system under test (changed ones at `factory/<run>`, the others at
//! their default branch), read their manifests from those checkouts (a reader's `reads` may have
//! changed on its branch), then:
//! - static: each provider's declared schema against what each consumer reads;
//! - dynamic: bring the system up from those checkouts, capture real payloads (HTTP responses,
//!   emitted events) and check them against what each consumer reads;
//! - screenshots of every UI page, logs of every process.
//!
//! A blocking finding names the repo that must change: the side whose spelling differs from the
//! outcome's change spec, else the side that changed in this run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actors::org::{Manifest, Medium};
use actors::verify::{self, Sandbox, ServiceSpec};
use protocol::outcome::ChangeSpec;
use protocol::run::{Blob, RepoRef, RunFinding, VerifyDone, VerifyRequest};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::task::{TaskError, WorkConfig, read_manifest};

/// Time one screenshot may take.
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(60);

/// A repo checked out for the round.
pub(crate) struct Checkout {
    pub(crate) repo: RepoRef,
    pub(crate) dir: PathBuf,
    pub(crate) head: String,
    pub(crate) manifest: Manifest,
}

/// Run one round; never fails as a call: a round that cannot run is reported as an error finding.
/// Traced as `verify.round`, a child of the span current when it is called (the request's
/// `rpc.server` span on a node).
pub async fn verify_round(cfg: &WorkConfig, req: &VerifyRequest) -> VerifyDone {
    let span = tracing::info_span!(
        "verify.round",
        run = %req.run_id,
        round = req.round,
        node = %cfg.node,
        findings = tracing::field::Empty,
    );
    let done = round(cfg, req).instrument(span.clone()).await;
    span.record("findings", done.findings.len());
    done
}

async fn round(cfg: &WorkConfig, req: &VerifyRequest) -> VerifyDone {
    let started = std::time::Instant::now();
    let dir = cfg
        .work_dir
        .join("verify")
        .join(&req.run_id)
        .join(format!("round-{}", req.round));
    let mut artifacts = Vec::new();
    let mut findings = Vec::new();
    let mut report = json!({ "round": req.round, "node": cfg.node });
    let checkouts = match checkout_all(&dir, &req.repos).await {
        Ok(c) => c,
        Err(e) => {
            findings.push(finding(
                req.round,
                "infra",
                "VERIFY/checkout-failed",
                &e.to_string(),
                None,
            ));
            return VerifyDone {
                report,
                findings,
                artifacts,
            };
        }
    };
    report["repos"] = json!(
        checkouts
            .iter()
            .map(|c| json!({"name": c.repo.name, "branch": c.repo.branch, "head": c.head}))
            .collect::<Vec<_>>()
    );
    let changed: Vec<&str> = checkouts
        .iter()
        .filter(|c| c.repo.branch.is_some())
        .map(|c| c.repo.name.as_str())
        .collect();
    let setup = setup_all(
        cfg,
        &dir,
        &checkouts,
        &req.setup_steps,
        req.round,
        &mut artifacts,
    )
    .await;
    report["setup"] = json!(
        setup
            .iter()
            .map(|(repo, ok)| json!({"repo": repo, "passed": ok}))
            .collect::<Vec<_>>()
    );
    for (repo, ok) in &setup {
        if !ok {
            let msg = format!(
                "setup of {repo} failed in a fresh checkout; see round-{}/setup/{repo}.log",
                req.round
            );
            findings.push(finding(
                req.round,
                "dynamic",
                "SANDBOX/setup-failed",
                &msg,
                Some(repo.clone()),
            ));
        }
    }

    let static_findings = tracing::info_span!("verify.static")
        .in_scope(|| crate::contract_checks::static_checks(&checkouts, &req.changes, &changed));
    report["static"] = json!({ "flows_checked": crate::contract_checks::flows(&checkouts).len(), "findings": static_findings.len() });
    findings.extend(static_findings.into_iter().map(|mut f| {
        f.round = req.round;
        f
    }));

    let gate_findings = tracing::info_span!("verify.gates")
        .in_scope(|| crate::contract_checks::gate_checks(&checkouts, &req.gates));
    report["gates"] = json!({ "evaluated": req.gates.len(), "findings": gate_findings.len() });
    findings.extend(gate_findings.into_iter().map(|mut f| {
        f.round = req.round;
        f
    }));

    let sandbox = tracing::info_span!("verify.sandbox");
    match dynamic(cfg, &dir, &checkouts, req, &changed, &mut artifacts)
        .instrument(sandbox)
        .await
    {
        Ok((dyn_report, dyn_findings)) => {
            report["dynamic"] = dyn_report;
            findings.extend(dyn_findings);
        }
        Err(e) => {
            report["dynamic"] = json!({ "error": e.to_string() });
            findings.push(finding(
                req.round,
                "dynamic",
                "SANDBOX/start-failed",
                &e.to_string(),
                sandbox_culprit(&e.to_string(), &checkouts),
            ));
        }
    }
    report["findings"] = json!(findings.len());
    report["node_ms"] = json!(started.elapsed().as_millis() as u64);
    VerifyDone {
        report,
        findings,
        artifacts,
    }
}

async fn checkout_all(dir: &Path, repos: &[RepoRef]) -> Result<Vec<Checkout>, TaskError> {
    let _ = tokio::fs::remove_dir_all(dir).await;
    let mut out = Vec::new();
    for r in repos {
        let target = dir.join("repos").join(&r.name);
        let mut args = vec!["clone", "--quiet"];
        if let Some(b) = &r.branch {
            args.extend(["--branch", b.as_str()]);
        }
        let target_s = target.display().to_string();
        args.extend([r.origin.as_str(), target_s.as_str()]);
        git(None, &args)
            .await
            .map_err(|e| TaskError::Manifest(format!("checkout of {} failed: {e}", r.name)))?;
        let head = git(Some(&target), &["rev-parse", "HEAD"])
            .await
            .map_err(TaskError::Manifest)?;
        let manifest = read_manifest(&target)?;
        out.push(Checkout {
            repo: r.clone(),
            dir: target,
            head: head.trim().to_string(),
            manifest,
        });
    }
    Ok(out)
}

/// Run each checkout's setup command (seed data, dependencies) before anything starts.
///
/// Learned setup steps for a repo run first, in one shell with the repo's own setup, so a step the
/// repo's workflow forgot (seed data) is in place before anything starts.
async fn setup_all(
    cfg: &WorkConfig,
    dir: &Path,
    checkouts: &[Checkout],
    learned: &[protocol::run::SetupStep],
    round: u32,
    artifacts: &mut Vec<Blob>,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for c in checkouts {
        let mut steps: Vec<String> = learned
            .iter()
            .filter(|s| s.repo == c.repo.name)
            .map(|s| s.command.clone())
            .collect();
        steps.extend(
            c.manifest
                .commands
                .setup
                .clone()
                .filter(|s| !s.trim().is_empty()),
        );
        if steps.is_empty() {
            continue;
        }
        let command = steps.join(" && ");
        let spec = verify::CheckSpec {
            name: c.repo.name.clone(),
            command,
            cwd: c.dir.clone(),
            env: BTreeMap::new(),
            timeout: cfg.check_timeout,
        };
        let log_dir = dir.join("setup");
        let span = tracing::info_span!("check.run", name = "setup", repo = %c.repo.name);
        let ok = match verify::run_check(&spec, &log_dir).instrument(span).await {
            Ok(record) => {
                if let Ok(bytes) = std::fs::read(&record.log_path) {
                    artifacts.push(Blob {
                        name: format!("round-{round}/setup/{}.log", c.repo.name),
                        bytes,
                    });
                }
                record.passed
            }
            Err(e) => {
                tracing::warn!(repo = %c.repo.name, error = %e, "setup could not run");
                false
            }
        };
        out.push((c.repo.name.clone(), ok));
    }
    out
}

async fn git(cwd: Option<&Path>, args: &[&str]) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("git");
    if let Some(c) = cwd {
        cmd.current_dir(c);
    }
    let out = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Bring the system up, capture payloads, check them, take screenshots.
async fn dynamic(
    cfg: &WorkConfig,
    dir: &Path,
    checkouts: &[Checkout],
    req: &VerifyRequest,
    changed: &[&str],
    artifacts: &mut Vec<Blob>,
) -> Result<(Value, Vec<RunFinding>), verify::VerifyError> {
    let _ = cfg;
    let services = services(checkouts);
    let sandbox_dir = dir.join("sandbox");
    let sandbox = Sandbox::start(services, &sandbox_dir).await;
    let sandbox = match sandbox {
        Ok(s) => s,
        Err(e) => {
            collect_logs(&sandbox_dir, artifacts, req.round);
            return Err(e);
        }
    };
    let mut findings = Vec::new();
    let mut captured = Vec::new();
    for c in checkouts {
        let Some(port) = sandbox.port(&c.repo.name) else {
            continue;
        };
        for p in &c.manifest.provides {
            let payloads = match &p.medium {
                Medium::Http { method, path } => {
                    match verify::capture_http(port, method, path).await {
                        Ok(o) if o.status < 400 => vec![o.body],
                        Ok(o) => {
                            let msg = format!(
                                "{} {method} {path} answered {}: {}",
                                c.repo.name,
                                o.status,
                                o.raw.chars().take(200).collect::<String>()
                            );
                            findings.push(finding(
                                req.round,
                                "dynamic",
                                "DYNAMIC/bad-status",
                                &msg,
                                Some(c.repo.name.clone()),
                            ));
                            continue;
                        }
                        Err(e) => {
                            findings.push(finding(
                                req.round,
                                "dynamic",
                                "DYNAMIC/capture-failed",
                                &e.to_string(),
                                Some(c.repo.name.clone()),
                            ));
                            continue;
                        }
                    }
                }
                Medium::Event { channel, trigger } => {
                    match verify::capture_events(
                        &sandbox,
                        channel,
                        trigger.as_deref(),
                        &c.repo.name,
                    )
                    .await
                    {
                        Ok(v) => v,
                        Err(e) => {
                            findings.push(finding(
                                req.round,
                                "dynamic",
                                "DYNAMIC/capture-failed",
                                &e.to_string(),
                                Some(c.repo.name.clone()),
                            ));
                            continue;
                        }
                    }
                }
                Medium::Table { .. } => continue,
            };
            for (i, payload) in payloads.iter().enumerate() {
                let name = format!(
                    "round-{}/payloads/{}-{}-{i}.json",
                    req.round, p.contract, c.repo.name
                );
                artifacts.push(Blob {
                    name,
                    bytes: serde_json::to_vec_pretty(payload).unwrap_or_default(),
                });
                let mut fs = crate::contract_checks::payload_checks(
                    checkouts,
                    &c.repo.name,
                    &p.contract,
                    payload,
                    &req.changes,
                    changed,
                );
                for f in &mut fs {
                    f.round = req.round;
                }
                findings.extend(fs);
            }
            captured.push(json!({"contract": p.contract, "writer": c.repo.name, "payloads": payloads.len(), "sample": payloads.first()}));
        }
    }
    let mut shots = Vec::new();
    for c in checkouts {
        let Some(url) = sandbox.url(&c.repo.name) else {
            continue;
        };
        for page in &c.manifest.ui_pages {
            let file = format!("{}{}.png", c.repo.name, page.replace('/', "_"));
            let out = dir.join("screenshots").join(&file);
            let span = tracing::info_span!("verify.screenshot", repo = %c.repo.name, page = %page);
            match verify::screenshot(&format!("{url}{page}"), &out, SCREENSHOT_TIMEOUT)
                .instrument(span)
                .await
            {
                Ok(a) => {
                    if let Ok(bytes) = std::fs::read(&a.path) {
                        artifacts.push(Blob {
                            name: format!("round-{}/screenshots/{file}", req.round),
                            bytes,
                        });
                    }
                    shots.push(json!({"repo": c.repo.name, "page": page, "sha256": a.sha256, "file": file}));
                }
                Err(e) => findings.push(finding(
                    req.round,
                    "dynamic",
                    "UI/screenshot-failed",
                    &e.to_string(),
                    None,
                )),
            }
        }
    }
    collect_logs(&sandbox_dir, artifacts, req.round);
    sandbox.stop().await;
    collect_logs(&sandbox_dir, artifacts, req.round);
    Ok((
        json!({"captured": captured, "screenshots": shots}),
        findings,
    ))
}

/// Services to start: every repo with a start command, providers before their consumers.
fn services(checkouts: &[Checkout]) -> Vec<ServiceSpec> {
    let providers: BTreeMap<&str, &str> = checkouts
        .iter()
        .flat_map(|c| {
            c.manifest
                .provides
                .iter()
                .map(move |p| (p.contract.as_str(), c.repo.name.as_str()))
        })
        .collect();
    let mut order: Vec<&Checkout> = checkouts
        .iter()
        .filter(|c| c.manifest.commands.start.is_some())
        .collect();
    // Providers first: a repo that provides anything sorts before one that only consumes.
    order.sort_by_key(|c| (c.manifest.provides.is_empty(), c.repo.name.clone()));
    order
        .into_iter()
        .map(|c| {
            let mut env = BTreeMap::new();
            for consumed in &c.manifest.consumes {
                if let Some(writer) = providers.get(consumed.contract.as_str()) {
                    env.insert(
                        actors::example::contract_url_env(&consumed.contract),
                        format!("{{url:{writer}}}"),
                    );
                }
            }
            ServiceSpec {
                name: c.repo.name.clone(),
                cwd: c.dir.clone(),
                command: c.manifest.commands.start.clone().unwrap_or_default(),
                health_path: c.manifest.commands.health.clone(),
                env,
            }
        })
        .collect()
}

fn collect_logs(sandbox_dir: &Path, artifacts: &mut Vec<Blob>, round: u32) {
    let Ok(entries) = std::fs::read_dir(sandbox_dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) == Some("log") {
            let name = format!("round-{round}/sandbox/{}", e.file_name().to_string_lossy());
            artifacts.retain(|a| a.name != name);
            if let Ok(bytes) = std::fs::read(&path) {
                artifacts.push(Blob { name, bytes });
            }
        }
    }
}

/// The repo a sandbox error names, if any (its service name appears in the message).
fn sandbox_culprit(message: &str, checkouts: &[Checkout]) -> Option<String> {
    checkouts
        .iter()
        .map(|c| c.repo.name.clone())
        .find(|n| message.contains(n.as_str()))
}

pub(crate) fn finding(
    round: u32,
    caught_by: &str,
    rule: &str,
    message: &str,
    fix_repo: Option<String>,
) -> RunFinding {
    RunFinding {
        round,
        caught_by: caught_by.into(),
        severity: "error".into(),
        note: protocol::outcome::FindingNote {
            rule: rule.into(),
            message: message.into(),
            fix_repo,
            fix: None,
        },
    }
}

/// The field name the outcome intends, for a contract and a casing-neutral key.
pub(crate) fn intended_name(changes: &[ChangeSpec], contract: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.contract() == contract)
        .filter_map(|c| match c {
            ChangeSpec::AddField { field, .. } => Some(field.clone()),
            ChangeSpec::RenameField { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}
