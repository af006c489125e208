//! From the analysis to tasks, waves and rollback.

use std::collections::{BTreeMap, BTreeSet};

use super::analyse::{Analysis, ContractChange, Strategy};
use super::render::{self, Step};
use super::{
    Check, Fact, FlowOrder, Phase, PhaseWaves, Plan, PlanError, RollbackStep, Task, order,
};
use crate::org::Org;
use crate::outcome::{Outcome, TaskRole};

/// A task being assembled: one repo in one phase.
#[derive(Debug, Default)]
struct Draft {
    role: Option<TaskRole>,
    lines: Vec<String>,
    changes: Vec<crate::outcome::ChangeSpec>,
    checks: Vec<Check>,
    /// Durable flows whose old reader cannot read what the new writer sends.
    unreadable_old_data: Vec<String>,
}

struct Builder {
    drafts: BTreeMap<(Phase, String), Draft>,
    edges: BTreeMap<Phase, BTreeSet<(String, String)>>,
    reasons: Vec<String>,
}

impl Builder {
    fn add(
        &mut self,
        phase: Phase,
        repo: &str,
        role: TaskRole,
        cc: &ContractChange,
        step: Step,
        text: String,
    ) {
        let d = self.drafts.entry((phase, repo.to_string())).or_default();
        // A repo that writes one changed contract and reads another is a writer first of all.
        d.role = Some(match (d.role, role) {
            (Some(TaskRole::Writer), _) | (_, TaskRole::Writer) => TaskRole::Writer,
            _ => role,
        });
        d.lines.push(text);
        for c in &cc.changes {
            if !d.changes.contains(c) {
                d.changes.push(c.clone());
            }
        }
        for r in cc
            .readers
            .iter()
            .filter(|r| r.repo == repo || cc.writer == repo)
        {
            let check = Check::Contract {
                contract: cc.contract.clone(),
                writer: cc.writer.clone(),
                reader: r.repo.clone(),
            };
            if !d.checks.contains(&check) {
                d.checks.push(check);
            }
            if r.repo == repo && r.cell.durable && !r.cell.a && step != Step::ReaderTakesBoth {
                d.unreadable_old_data.push(cc.contract.clone());
            }
        }
        if repo == cc.writer {
            d.checks.push(Check::Capture {
                contract: cc.contract.clone(),
                medium: cc.medium.clone(),
            });
        }
    }

    fn edge(&mut self, phase: Phase, before: &str, after: &str, why: String) {
        if self
            .edges
            .entry(phase)
            .or_default()
            .insert((task_id(before, phase), task_id(after, phase)))
        {
            self.reasons.push(why);
        }
    }
}

fn task_id(repo: &str, phase: Phase) -> String {
    format!("{repo}:{}", phase.name())
}

pub(crate) fn build(
    org: &Org,
    outcome: &Outcome,
    facts: &[Fact],
    analysis: &Analysis,
) -> Result<Plan, PlanError> {
    let any_split = analysis.contracts.iter().any(|c| c.strategy.is_some());
    let first = if any_split {
        Phase::Expand
    } else {
        Phase::Change
    };
    let mut b = Builder {
        drafts: BTreeMap::new(),
        edges: BTreeMap::new(),
        reasons: Vec::new(),
    };
    for cc in &analysis.contracts {
        let w = cc.writer.as_str();
        let writer_phase = match cc.strategy {
            Some(Strategy::WriterSendsBoth) => {
                b.add(
                    Phase::Expand,
                    w,
                    TaskRole::Writer,
                    cc,
                    Step::WriterSendsBoth,
                    render::writer_text(cc, Step::WriterSendsBoth),
                );
                b.add(
                    Phase::Contract,
                    w,
                    TaskRole::Writer,
                    cc,
                    Step::WriterDropsOld,
                    render::writer_text(cc, Step::WriterDropsOld),
                );
                Phase::Expand
            }
            Some(Strategy::ReadersLeaveFirst) => {
                b.add(
                    Phase::Contract,
                    w,
                    TaskRole::Writer,
                    cc,
                    Step::WriterDropsOld,
                    render::writer_text(cc, Step::WriterDropsOld),
                );
                Phase::Contract
            }
            Some(Strategy::ReaderTakesBoth) => {
                b.add(
                    Phase::Migrate,
                    w,
                    TaskRole::Writer,
                    cc,
                    Step::Change,
                    render::writer_text(cc, Step::Change),
                );
                Phase::Migrate
            }
            None => {
                b.add(
                    first,
                    w,
                    TaskRole::Writer,
                    cc,
                    Step::Change,
                    render::writer_text(cc, Step::Change),
                );
                first
            }
        };
        for r in cc.readers.iter().filter(|r| r.cell.reader_changes) {
            let name = r.repo.as_str();
            let flow = format!("{} {w} -> {name}", cc.contract);
            match (r.cell.order, cc.strategy) {
                (FlowOrder::Split, Some(Strategy::WriterSendsBoth)) => {
                    b.add(
                        Phase::Migrate,
                        name,
                        TaskRole::Reader,
                        cc,
                        Step::ReaderSwitches,
                        render::reader_text(cc, r, Step::ReaderSwitches),
                    );
                }
                (FlowOrder::ReaderFirst, Some(Strategy::ReadersLeaveFirst)) => {
                    b.add(
                        Phase::Migrate,
                        name,
                        TaskRole::Reader,
                        cc,
                        Step::Change,
                        render::reader_text(cc, r, Step::Change),
                    );
                }
                (FlowOrder::Split, _) => {
                    b.add(
                        Phase::Expand,
                        name,
                        TaskRole::Reader,
                        cc,
                        Step::ReaderTakesBoth,
                        render::reader_text(cc, r, Step::ReaderTakesBoth),
                    );
                    b.add(
                        Phase::Contract,
                        name,
                        TaskRole::Reader,
                        cc,
                        Step::ReaderDropsOld,
                        render::reader_text(cc, r, Step::ReaderDropsOld),
                    );
                }
                (order, _) => {
                    b.add(
                        writer_phase,
                        name,
                        TaskRole::Reader,
                        cc,
                        Step::Change,
                        render::reader_text(cc, r, Step::Change),
                    );
                    match order {
                        FlowOrder::WriterFirst => b.edge(writer_phase, w, name, format!("{flow}: writer first (A holds, B fails: the new reader needs the new field)")),
                        FlowOrder::ReaderFirst => b.edge(writer_phase, name, w, format!("{flow}: reader first (B holds, A fails: the old reader breaks on the new writer)")),
                        _ => {}
                    }
                }
            }
        }
    }
    let phases: BTreeSet<Phase> = b.drafts.keys().map(|(p, _)| *p).collect();
    for &phase in &phases {
        let repos: Vec<String> = b
            .drafts
            .keys()
            .filter(|(p, _)| *p == phase)
            .map(|(_, r)| r.clone())
            .collect();
        for x in &repos {
            for y in org
                .repo(x)
                .map(|r| r.manifest.deploy_after.as_slice())
                .unwrap_or_default()
            {
                if repos.contains(y) {
                    b.edge(
                        phase,
                        y,
                        x,
                        format!("{x} deploys after {y} (deploy_after hint)"),
                    );
                }
            }
        }
    }
    let mut waves_by_phase = Vec::new();
    for &phase in &phases {
        let nodes: BTreeSet<String> = b
            .drafts
            .keys()
            .filter(|(p, _)| *p == phase)
            .map(|(_, r)| task_id(r, phase))
            .collect();
        let edges = b.edges.get(&phase).cloned().unwrap_or_default();
        let waves = order::waves(&nodes, &edges).map_err(|ids| PlanError::Cycle {
            phase: phase.name().to_string(),
            repos: ids
                .iter()
                .map(|i| i.split(':').next().unwrap_or(i).to_string())
                .collect(),
        })?;
        waves_by_phase.push(PhaseWaves { phase, waves });
    }
    let tasks = tasks(org, facts, &b, &waves_by_phase, analysis);
    let rollback = rollback(&b, &waves_by_phase);
    let mut plan = Plan {
        title: outcome.title.clone(),
        affected_repos: tasks
            .iter()
            .map(|t| t.repo.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        affected_contracts: analysis
            .contracts
            .iter()
            .map(|c| c.contract.clone())
            .collect(),
        flows: analysis
            .contracts
            .iter()
            .flat_map(|c| c.readers.iter().map(|r| r.cell.clone()))
            .collect(),
        tasks,
        phases: waves_by_phase,
        rollback,
        prd: String::new(),
        notes: String::new(),
    };
    plan.prd = render::prd(outcome, &plan);
    plan.notes = render::notes(&plan, analysis, &b.reasons, facts);
    Ok(plan)
}

fn tasks(
    org: &Org,
    facts: &[Fact],
    b: &Builder,
    waves: &[PhaseWaves],
    analysis: &Analysis,
) -> Vec<Task> {
    let mut out = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for pw in waves {
        let mut this_phase = Vec::new();
        for id in pw.waves.iter().flatten() {
            let repo = id.split(':').next().unwrap_or(id).to_string();
            let Some(d) = b.drafts.get(&(pw.phase, repo.clone())) else {
                continue;
            };
            let mut depends_on = previous.clone();
            depends_on.extend(
                b.edges
                    .get(&pw.phase)
                    .into_iter()
                    .flatten()
                    .filter(|(_, a)| a == id)
                    .map(|(x, _)| x.clone()),
            );
            let mut checks = Vec::new();
            if let Some(r) = org.repo(&repo) {
                checks.push(Check::Tests {
                    command: r.manifest.commands.test.clone(),
                });
            }
            checks.extend(d.checks.iter().cloned());
            let contracts: Vec<&str> = analysis
                .contracts
                .iter()
                .map(|c| c.contract.as_str())
                .collect();
            let context = facts
                .iter()
                .filter(|f| about(f, &repo) || contracts.iter().any(|c| about(f, c)))
                .map(|f| format!("{} ({})", f.statement, f.provenance))
                .collect();
            out.push(Task {
                id: id.clone(),
                repo,
                role: d.role.unwrap_or(TaskRole::Other),
                phase: pw.phase,
                depends_on,
                instructions: d.lines.join("\n\n"),
                changes: d.changes.clone(),
                checks,
                context,
            });
            this_phase.push(id.clone());
        }
        previous = this_phase;
    }
    out
}

/// Whether a fact is about a subject: the name itself or `name/...`.
pub(crate) fn about(fact: &Fact, name: &str) -> bool {
    fact.subject == name
        || fact
            .subject
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn rollback(b: &Builder, waves: &[PhaseWaves]) -> Vec<RollbackStep> {
    let mut out = Vec::new();
    for pw in waves.iter().rev() {
        for (wave, ids) in pw.waves.iter().enumerate().rev() {
            for id in ids {
                let repo = id.split(':').next().unwrap_or(id).to_string();
                let d = b.drafts.get(&(pw.phase, repo.clone()));
                let unreadable = d.map(|d| d.unreadable_old_data.clone()).unwrap_or_default();
                let (irreversible, why) = if pw.phase == Phase::Contract {
                    (true, "the old form is gone once this ships; restoring it means redeploying the expand release, and a person must approve".to_string())
                } else if !unreadable.is_empty() {
                    (
                        true,
                        format!(
                            "new-format data on {} is retained and the old {repo} cannot read it; a person must approve",
                            unreadable.join(", ")
                        ),
                    )
                } else {
                    (false, "redeploy the previous release; every mixed version in this phase was checked".to_string())
                };
                out.push(RollbackStep {
                    phase: pw.phase,
                    wave,
                    task: id.clone(),
                    repo,
                    irreversible,
                    why,
                });
            }
        }
    }
    out
}
