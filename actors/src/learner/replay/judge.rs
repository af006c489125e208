//! The judge of one replayed task: what an agent left in a checkout passes when the schema of
//! every contract the repo provides spells each new field as the change asked, and the repo's own
//! setup and test commands pass. The commands come from the manifest as it was before the agent
//! ran, so an agent cannot soften its own test.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::LearnerError;
use super::super::gates::schema_fields;
use super::super::observe::leaf;
use super::setup::log_tail;
use crate::contracts::naming::key;
use crate::org::{Manifest, schema_from_bytes};
use crate::outcome::ChangeSpec;
use crate::verify::{CheckSpec, run_check};

/// How one replayed task came out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    /// Names as asked and the repo's tests green.
    pub passed: bool,
    /// Why it failed, or what passed.
    pub why: String,
}

impl Judgement {
    /// A failed judgement.
    pub fn fail(why: impl Into<String>) -> Self {
        Judgement {
            passed: false,
            why: why.into(),
        }
    }
}

/// The new names a change asks for, by contract: added fields and rename targets, as leaves.
pub fn asked_names(changes: &[ChangeSpec]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter_map(|c| match c {
            ChangeSpec::AddField {
                contract, field, ..
            } => Some((contract.clone(), leaf(field))),
            ChangeSpec::RenameField { contract, to, .. } => Some((contract.clone(), leaf(to))),
            _ => None,
        })
        .collect()
}

/// Whether `fields` spell `wanted` as asked: `Err` names the spelling found instead, if any.
pub fn spelled_as_asked(fields: &[String], wanted: &str) -> Result<(), String> {
    if fields.iter().any(|f| f == wanted) {
        return Ok(());
    }
    match fields.iter().find(|f| key(f) == key(wanted)) {
        Some(f) => Err(format!("spells `{wanted}` as `{f}`")),
        None => Err(format!("lacks `{wanted}`")),
    }
}

/// Judge the checkout at `root` after an agent ran there. `manifest` is the checkout's manifest
/// from before the agent; logs of the commands go to `logs`.
pub async fn judge(
    root: &Path,
    manifest: &Manifest,
    changes: &[ChangeSpec],
    logs: &Path,
    timeout: Duration,
) -> Result<Judgement, LearnerError> {
    for (contract, wanted) in asked_names(changes) {
        let Some(p) = manifest.provides.iter().find(|p| p.contract == contract) else {
            continue;
        };
        let schema = match std::fs::read(root.join(&p.schema_path)) {
            Ok(bytes) => match schema_from_bytes(&bytes) {
                Ok(s) => s,
                Err(e) => return Ok(Judgement::fail(format!("the {contract} schema: {e}"))),
            },
            Err(e) => return Ok(Judgement::fail(format!("the {contract} schema: {e}"))),
        };
        if let Err(why) = spelled_as_asked(&schema_fields(&schema), &wanted) {
            return Ok(Judgement::fail(format!("the {contract} schema {why}")));
        }
    }
    let mut steps = Vec::new();
    if let Some(setup) = manifest
        .commands
        .setup
        .clone()
        .filter(|s| !s.trim().is_empty())
    {
        steps.push(("setup", setup));
    }
    steps.push(("test", manifest.commands.test.clone()));
    for (name, command) in steps {
        let spec = CheckSpec {
            name: name.into(),
            command: command.clone(),
            cwd: root.to_path_buf(),
            env: BTreeMap::new(),
            timeout,
        };
        let record = run_check(&spec, logs)
            .await
            .map_err(|e| LearnerError::Replay(e.to_string()))?;
        if !record.passed {
            let tail = log_tail(&record.log_path);
            return Ok(Judgement::fail(format!("`{command}` failed: {tail}")));
        }
    }
    Ok(Judgement {
        passed: true,
        why: "names as asked and the tests pass".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(fields: &[&str], wanted: &str, expected: Result<(), &str>) {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            spelled_as_asked(&fields, wanted),
            expected.map_err(String::from),
            "{fields:?} {wanted}"
        );
    }

    #[test]
    fn names_are_judged_by_exact_spelling() {
        check(&["id", "createdAt"], "createdAt", Ok(()));
        check(
            &["id", "created_at"],
            "createdAt",
            Err("spells `createdAt` as `created_at`"),
        );
        check(&["id"], "createdAt", Err("lacks `createdAt`"));
    }
}
