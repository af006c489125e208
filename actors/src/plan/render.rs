//! The words of a plan: task instructions, the PRD, the architecture notes and the Markdown view.

use std::fmt::Write;

use super::analyse::{Analysis, ContractChange, ReaderChange, Strategy};
use super::build::about;
use super::{Check, Fact, Plan};
use crate::org::Medium;
use crate::outcome::{ChangeSpec, Outcome};

/// What a task does to its side of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The change itself.
    Change,
    /// Writer sends old and new forms.
    WriterSendsBoth,
    /// Writer stops sending the old form.
    WriterDropsOld,
    /// Reader moves to the new form (the writer sends both).
    ReaderSwitches,
    /// Reader accepts old and new forms.
    ReaderTakesBoth,
    /// Reader drops the old form.
    ReaderDropsOld,
}

fn describe(spec: &ChangeSpec) -> String {
    match spec {
        ChangeSpec::AddField {
            field,
            ty,
            format: Some(f),
            ..
        } => format!("add `{field}` ({ty}, format {f}), always sent"),
        ChangeSpec::AddField {
            field,
            ty,
            format: None,
            ..
        } => format!("add `{field}` ({ty}), always sent"),
        ChangeSpec::RenameField { from, to, .. } => format!("rename `{from}` to `{to}`"),
        ChangeSpec::RetypeField { field, ty, .. } => {
            format!("change the type of `{field}` to {ty}")
        }
        ChangeSpec::RemoveField { field, .. } => format!("remove `{field}`"),
    }
}

fn medium(m: &Medium) -> String {
    match m {
        Medium::Http { method, path } => format!("HTTP response of {method} {path}"),
        Medium::Event { channel, .. } => format!("events on channel `{channel}`"),
        Medium::Table { table } => format!("rows of table `{table}`"),
    }
}

pub(crate) fn writer_text(cc: &ContractChange, step: Step) -> String {
    let c = &cc.contract;
    let changes = cc
        .changes
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join("; ");
    let both = cc
        .changes
        .iter()
        .map(|s| match s {
            ChangeSpec::RenameField { from, to, .. } => {
                format!("send both `{from}` and `{to}` with the same value")
            }
            other => describe(other),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let drop = cc
        .changes
        .iter()
        .filter_map(|s| match s {
            ChangeSpec::RenameField { from, to, .. } => {
                Some(format!("stop sending `{from}`, keep `{to}`"))
            }
            // Additions and retypes shipped in the expand step; only drops remain.
            remove @ ChangeSpec::RemoveField { .. } => Some(describe(remove)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("; ");
    let target = format!(
        "contract `{c}` (schema `{}`, {})",
        cc.schema_path,
        medium(&cc.medium)
    );
    match step {
        Step::WriterSendsBoth => format!(
            "Expand {target} so that old and new readers both keep working: {both}. List both in the JSON Schema; \
             leave every other field as it is."
        ),
        Step::WriterDropsOld => format!(
            "Contract phase for {target}: {drop}. Ship only after evidence that no reader still reads the old form; \
             a person approves this step."
        ),
        _ => format!(
            "Change {target}: {changes}. Update the JSON Schema and the code that writes the payload; \
             leave every other field as it is."
        ),
    }
}

pub(crate) fn reader_text(cc: &ContractChange, r: &ReaderChange, step: Step) -> String {
    let (c, w) = (&cc.contract, &cc.writer);
    let reads = format!("the `reads` list of the `[[consumes]]` entry for `{c}` in factory.toml");
    let per: Vec<String> = cc
        .changes
        .iter()
        .map(|s| match (s, step) {
            (ChangeSpec::AddField { field, ty, format, .. }, _) => {
                let f = format.as_deref().map(|f| format!(", format {f}")).unwrap_or_default();
                format!("read `{field}` ({ty}{f}) and add it to {reads}")
            }
            (ChangeSpec::RenameField { from, to, .. }, Step::ReaderSwitches) => {
                format!("read `{to}` instead of `{from}`, falling back to `{from}` when it is absent; update {reads}")
            }
            (ChangeSpec::RenameField { from, to, .. }, Step::ReaderTakesBoth) => format!("accept either `{from}` or `{to}`"),
            (ChangeSpec::RenameField { from, to, .. }, Step::ReaderDropsOld) => format!("read only `{to}`, drop `{from}`"),
            (ChangeSpec::RenameField { from, to, .. }, _) => format!("read `{to}` instead of `{from}`; update {reads}"),
            (ChangeSpec::RetypeField { field, ty, .. }, Step::ReaderTakesBoth) => {
                format!("accept `{field}` both in its current type and as {ty}")
            }
            (ChangeSpec::RetypeField { field, ty, .. }, Step::ReaderDropsOld) => format!("read `{field}` only as {ty}"),
            (ChangeSpec::RetypeField { field, ty, .. }, _) => format!("read `{field}` as {ty}"),
            (ChangeSpec::RemoveField { field, .. }, _) => format!("stop reading `{field}` and remove it from {reads}"),
        })
        .collect();
    let mut text = match step {
        Step::ReaderTakesBoth => format!(
            "Expand your reading of contract `{c}` from {w}: {}.",
            per.join("; ")
        ),
        Step::ReaderDropsOld => format!(
            "Contract `{c}`: {w} now sends only the new form; {}.",
            per.join("; ")
        ),
        _ => format!("Contract `{c}` from {w}: {}.", per.join("; ")),
    };
    if r.cell.durable && !r.cell.b && step != Step::ReaderDropsOld {
        let _ = write!(
            text,
            " Retained payloads ({}) written before {w} ships lack this change: treat the new form as optional for them.",
            medium(&cc.medium)
        );
    }
    if let (Some(wc), Some(rc)) = (cc.casing, r.casing)
        && wc != rc
    {
        let _ = write!(
            text,
            " Note: {w} names fields in {wc} and this repo in {rc}; use the wire names exactly as written here."
        );
    }
    text
}

pub(crate) fn prd(outcome: &Outcome, plan: &Plan) -> String {
    let mut s = format!("# {}\n\n## Problem\n\n", plan.title);
    let problem = if outcome.description.trim().is_empty() {
        &outcome.title
    } else {
        &outcome.description
    };
    let _ = writeln!(
        s,
        "{}\n\n## Goal\n\n{}.\n\n## Scope\n",
        problem.trim(),
        outcome.title
    );
    for c in &outcome.changes {
        let _ = writeln!(s, "- `{c}`");
    }
    let _ = writeln!(s, "\n## Affected repos and contracts\n");
    for t in &plan.tasks {
        let _ = writeln!(s, "- {} ({:?}, {} phase)", t.repo, t.role, t.phase.name());
    }
    let _ = writeln!(
        s,
        "- contracts: {}\n\n## Acceptance criteria\n",
        plan.affected_contracts.join(", ")
    );
    for t in &plan.tasks {
        for c in &t.checks {
            let line = match c {
                Check::Tests { command } => format!("`{}`: `{command}` passes", t.repo),
                Check::Contract {
                    contract,
                    writer,
                    reader,
                } => {
                    format!(
                        "`{contract}`: {reader} accepts what {writer} sends (static contract check)"
                    )
                }
                Check::Capture { contract, .. } => {
                    format!(
                        "`{contract}`: a payload captured from the running {} satisfies every reader's reads",
                        t.repo
                    )
                }
            };
            let _ = writeln!(s, "- [{}] {line}", t.id);
        }
    }
    s
}

fn strategy_text(s: Option<Strategy>) -> &'static str {
    match s {
        Some(Strategy::WriterSendsBoth) => {
            "neither A nor B holds for some reader; the writer sends both forms (expand), readers switch (migrate), the writer drops the old form (contract)"
        }
        Some(Strategy::ReaderTakesBoth) => {
            "neither A nor B holds for some reader and one wire name cannot carry both forms; readers take both forms (expand), the writer switches (migrate), readers drop the old form (contract)"
        }
        Some(Strategy::ReadersLeaveFirst) => {
            "a removed field is still read (B holds, A fails); readers stop reading the removed field (migrate), then the writer drops it (contract, with approval)"
        }
        None => "not split",
    }
}

pub(crate) fn notes(
    plan: &Plan,
    analysis: &Analysis,
    reasons: &[String],
    facts: &[Fact],
) -> String {
    let mut s = String::from("# Architecture notes\n\n## Flows touched\n\n");
    s.push_str("| contract | writer -> reader | medium | A old reader, new writer | B new reader, old writer | C | order |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    let yn = |b: bool| if b { "yes" } else { "no" };
    for f in &plan.flows {
        let _ = writeln!(
            s,
            "| {} | {} -> {} | {} | {} | {} | {} | {:?} |",
            f.flow.contract,
            f.flow.writer,
            f.flow.reader,
            if f.durable { "durable" } else { "sync" },
            yn(f.a),
            yn(f.b),
            yn(f.c),
            f.order
        );
    }
    let durable: Vec<_> = plan.flows.iter().filter(|f| f.durable && !f.b).collect();
    if !durable.is_empty() {
        s.push_str("\nDurable flows keep old payloads: B must hold for retained data too. Where it does not, the reader's instructions say to treat the new form as optional for retained data:\n");
        for f in durable {
            let _ = writeln!(
                s,
                "- {} {} -> {}",
                f.flow.contract, f.flow.writer, f.flow.reader
            );
        }
    }
    s.push_str("\n## Ordering\n\n");
    if reasons.is_empty() {
        s.push_str("- no ordering constraint: every mixed version is accepted\n");
    }
    for r in reasons {
        let _ = writeln!(s, "- {r}");
    }
    for cc in analysis.contracts.iter().filter(|c| c.strategy.is_some()) {
        let _ = writeln!(s, "- {}: {}", cc.contract, strategy_text(cc.strategy));
    }
    for cc in &analysis.contracts {
        for r in &cc.readers {
            if let (Some(wc), Some(rc)) = (cc.casing, r.casing)
                && wc != rc
            {
                let _ = writeln!(
                    s,
                    "- risk: {} writes {wc}, {} reads {rc} on {}",
                    cc.writer, r.repo, cc.contract
                );
            }
        }
    }
    s.push_str("\n## Facts cited\n\n");
    let cited: Vec<&Fact> = facts
        .iter()
        .filter(|f| {
            plan.affected_repos
                .iter()
                .chain(&plan.affected_contracts)
                .any(|n| about(f, n))
        })
        .collect();
    if cited.is_empty() {
        s.push_str("- none\n");
    }
    for f in cited {
        let _ = writeln!(s, "- {}: {} ({})", f.subject, f.statement, f.provenance);
    }
    s
}

impl Plan {
    /// The whole plan as Markdown: PRD, architecture notes, tasks, waves and rollback.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("{}\n{}\n# Tasks\n", self.prd, self.notes);
        for t in &self.tasks {
            let deps = if t.depends_on.is_empty() {
                "nothing".to_string()
            } else {
                t.depends_on.join(", ")
            };
            let _ = writeln!(
                s,
                "\n## {} ({:?})\n\nAfter: {deps}\n\n{}",
                t.id, t.role, t.instructions
            );
            for c in &t.context {
                let _ = writeln!(s, "\n> {c}");
            }
        }
        s.push_str("\n# Waves\n\n");
        for p in &self.phases {
            for (i, w) in p.waves.iter().enumerate() {
                let _ = writeln!(s, "- {} wave {}: {}", p.phase.name(), i + 1, w.join(", "));
            }
        }
        s.push_str("\n# Rollback\n\n");
        for r in &self.rollback {
            let flag = if r.irreversible {
                "IRREVERSIBLE, needs approval"
            } else {
                "reversible"
            };
            let _ = writeln!(
                s,
                "- {} wave {}: revert {} ({flag}): {}",
                r.phase.name(),
                r.wave + 1,
                r.task,
                r.why
            );
        }
        s
    }
}
