//! Per changed contract: the writer and readers from the contract graph, the shapes before and
//! after, and the mixed-version cells of every flow.

use std::collections::BTreeMap;

use super::change::{apply_reader, apply_writer, merge_reader, merge_writer};
use super::{FlowCell, FlowOrder, PlanError};
use crate::contracts::naming::{Casing, dominant_casing};
use crate::contracts::{Ctx, Expectation, Severity, Shape, accepts, check_reads};
use crate::org::{Flow, Medium, Org};
use crate::outcome::{ChangeSpec, Outcome};

/// How a split flow goes through expand, migrate, contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// The writer sends both forms (expand), readers switch (migrate), the writer drops the old (contract).
    WriterSendsBoth,
    /// Readers take both forms (expand), the writer switches (migrate), readers drop the old (contract).
    ReaderTakesBoth,
    /// A removal of a field someone reads: readers stop reading it (migrate), then the writer
    /// drops it (contract). Reader-first by the cells, but dropping data a reader used is a
    /// contract step: it waits for evidence and a person's approval.
    ReadersLeaveFirst,
}

/// One reader of a changed contract.
#[derive(Debug, Clone)]
pub(crate) struct ReaderChange {
    /// Reader repo.
    pub repo: String,
    /// The cells of its flow.
    pub cell: FlowCell,
    /// Dominant casing of what it reads.
    pub casing: Option<Casing>,
}

/// One changed contract.
#[derive(Debug, Clone)]
pub(crate) struct ContractChange {
    /// Contract name.
    pub contract: String,
    /// Writer repo.
    pub writer: String,
    /// Medium of the contract.
    pub medium: Medium,
    /// Schema path in the writer's repo.
    pub schema_path: String,
    /// The outcome's changes to it.
    pub changes: Vec<ChangeSpec>,
    /// Dominant casing of the writer's fields.
    pub casing: Option<Casing>,
    /// Every reader.
    pub readers: Vec<ReaderChange>,
    /// How split flows go, if any flow is split.
    pub strategy: Option<Strategy>,
}

/// Everything the build step needs.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    /// Changed contracts, by name.
    pub contracts: Vec<ContractChange>,
}

pub(crate) fn analyse(org: &Org, outcome: &Outcome) -> Result<Analysis, PlanError> {
    if outcome.changes.is_empty() {
        return Err(PlanError::NoChanges);
    }
    let mut by_contract: BTreeMap<&str, Vec<ChangeSpec>> = BTreeMap::new();
    for c in &outcome.changes {
        by_contract.entry(c.contract()).or_default().push(c.clone());
    }
    let flows = org.flows();
    let contracts = by_contract
        .into_iter()
        .map(|(contract, changes)| contract_change(org, &flows, contract, changes))
        .collect::<Result<_, _>>()?;
    Ok(Analysis { contracts })
}

fn contract_change(
    org: &Org,
    flows: &[Flow],
    contract: &str,
    changes: Vec<ChangeSpec>,
) -> Result<ContractChange, PlanError> {
    let schema_err = |e: String| PlanError::Schema {
        contract: contract.to_string(),
        error: e,
    };
    let provider = org.repos.iter().find_map(|r| {
        r.manifest
            .provides
            .iter()
            .find(|p| p.contract == contract)
            .map(|p| (r, p))
    });
    let Some((writer, provided)) = provider else {
        let readers: Vec<String> = org
            .repos
            .iter()
            .filter(|r| r.manifest.consumes.iter().any(|c| c.contract == contract))
            .map(|r| r.name.clone())
            .collect();
        return Err(if readers.is_empty() {
            PlanError::UnknownContract {
                contract: contract.to_string(),
            }
        } else {
            PlanError::NoWriter {
                contract: contract.to_string(),
                readers,
            }
        });
    };
    let w_old = Shape::from_schema(&provided.schema).map_err(|e| schema_err(e.to_string()))?;
    let mut w_new = w_old.clone();
    for c in &changes {
        w_new = apply_writer(&w_new, c).map_err(|reason| PlanError::BadChange {
            change: c.to_string(),
            reason,
        })?;
    }
    let casing = w_old
        .object()
        .and_then(|o| dominant_casing(o.fields.keys().map(String::as_str)));
    let mut readers = Vec::new();
    let mut expectations = Vec::new();
    for flow in flows.iter().filter(|f| f.contract == contract) {
        let Some(consumed) = org
            .repo(&flow.reader)
            .and_then(|r| r.manifest.consumes.iter().find(|c| c.contract == contract))
        else {
            continue;
        };
        let r_old = Expectation::parse(&consumed.reads)
            .map_err(|e| schema_err(e.to_string()))?
            .pin(&w_old);
        let mut r_new = r_old.clone();
        for c in &changes {
            r_new = apply_reader(&r_new, c).map_err(|reason| PlanError::BadChange {
                change: c.to_string(),
                reason,
            })?;
        }
        let cell = cell(flow, &provided.medium, &r_old, &r_new, &w_old, &w_new)?;
        let casing = dominant_casing(r_old.names());
        readers.push(ReaderChange {
            repo: flow.reader.clone(),
            cell,
            casing,
        });
        expectations.push((r_old, r_new));
    }
    let split: Vec<usize> = (0..readers.len())
        .filter(|i| readers[*i].cell.order == FlowOrder::Split)
        .collect();
    let removes = changes
        .iter()
        .any(|c| matches!(c, ChangeSpec::RemoveField { .. }));
    let strategy = if split.is_empty() {
        let reader_first = readers
            .iter()
            .any(|r| r.cell.order == FlowOrder::ReaderFirst);
        (removes && reader_first).then_some(Strategy::ReadersLeaveFirst)
    } else {
        let w_both = merge_writer(&w_old, &w_new);
        let writer_both = split
            .iter()
            .all(|&i| accepts(&expectations[i].0, &w_both) && accepts(&expectations[i].1, &w_both));
        let reader_both = || {
            split.iter().all(|&i| {
                let r_both = merge_reader(&expectations[i].0, &expectations[i].1);
                accepts(&r_both, &w_old) && accepts(&r_both, &w_new)
            })
        };
        if writer_both {
            Some(Strategy::WriterSendsBoth)
        } else if reader_both() {
            Some(Strategy::ReaderTakesBoth)
        } else {
            let r = &readers[split[0]];
            return Err(PlanError::NoSafeOrder {
                contract: contract.into(),
                writer: writer.name.clone(),
                reader: r.repo.clone(),
            });
        }
    };
    Ok(ContractChange {
        contract: contract.to_string(),
        writer: writer.name.clone(),
        medium: provided.medium.clone(),
        schema_path: provided.schema_path.display().to_string(),
        changes,
        casing,
        readers,
        strategy,
    })
}

fn cell(
    flow: &Flow,
    medium: &Medium,
    r_old: &Expectation,
    r_new: &Expectation,
    w_old: &Shape,
    w_new: &Shape,
) -> Result<FlowCell, PlanError> {
    let ctx = Ctx::flow(&flow.contract, &flow.writer, &flow.reader);
    let errors: Vec<String> = check_reads(w_new, r_new, &ctx)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.rule.id(), f.message))
        .collect();
    if !errors.is_empty() {
        return Err(PlanError::ChangeBreaksReader {
            contract: flow.contract.clone(),
            writer: flow.writer.clone(),
            reader: flow.reader.clone(),
            findings: errors,
        });
    }
    let a = accepts(r_old, w_new);
    let b = accepts(r_new, w_old);
    let order = match (a, b) {
        (true, true) => FlowOrder::Any,
        (false, true) => FlowOrder::ReaderFirst,
        (true, false) => FlowOrder::WriterFirst,
        (false, false) => FlowOrder::Split,
    };
    Ok(FlowCell {
        flow: flow.clone(),
        durable: medium.is_durable(),
        a,
        b,
        c: true,
        order,
        reader_changes: r_old != r_new,
    })
}
