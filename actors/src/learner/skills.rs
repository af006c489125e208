//! Learned skills: a repo's prompt template, grown by one rule line each time a casing mismatch
//! sent that repo's writer back, and stored as a versioned artifact per repo (`skill:<repo>`).
//!
//! A proposal is only data: [`super::evaluate_skill`] replays it, and a person promotes it
//! (unless [`super::LearnerConfig::auto_promote_skills`]). The first version of a slot gets the
//! default template as its stored parent, so a rollback always has somewhere to go.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::LearnerError;
use super::champions::decision_of;
use super::gates::CASING_RULE;
use super::observe::{CASING_MISMATCH, RunCase};
use super::setup::is_setup_slot;
use crate::agent::DEFAULT_TEMPLATE;
use crate::memory::{Artifact, ArtifactKind, MemoryStore, Time};
use crate::outcome::TaskRole;
use crate::simagent::EXACT_NAMES_RULE;

/// The slot of a repo's learned skill: `skill:backend`.
pub fn slot_for(repo: &str) -> String {
    format!("skill:{repo}")
}

/// Whether a slot holds a prompt template (a `skill:` slot that is not a setup workflow).
pub fn is_skill_slot(slot: &str) -> bool {
    slot.starts_with("skill:") && !is_setup_slot(slot)
}

/// The repo of a skill slot.
pub fn repo_of(slot: &str) -> Option<&str> {
    slot.strip_prefix("skill:").filter(|_| is_skill_slot(slot))
}

/// A proposed skill waiting for its replay ([`super::evaluate_skill`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillCandidate {
    /// The artifact holding the new template.
    pub id: String,
    /// The slot, `skill:<repo>`.
    pub slot: String,
    /// The repo whose agents it would instruct.
    pub repo: String,
    /// The version it grows from (the champion, or the stored default template).
    pub parent: String,
    /// The slot's champion when proposed (`None`: agents get the configured template).
    pub champion: Option<String>,
    /// The parent's template.
    pub parent_template: String,
    /// The new template.
    pub template: String,
    /// The run that taught it.
    pub run: String,
    /// The rule line added.
    pub rule: String,
}

/// What a skill artifact's body holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillBody {
    repo: String,
    template: String,
    /// Empty for the stored default template.
    learned_from_run: String,
}

/// The template a skill artifact holds.
pub fn template_of(a: &Artifact) -> Result<String, LearnerError> {
    let body: SkillBody = serde_json::from_str(&a.body).map_err(|e| LearnerError::Corrupt {
        what: "skill artifact",
        id: a.id.clone(),
        detail: e.to_string(),
    })?;
    Ok(body.template)
}

/// A skill as an artifact of `slot_for(repo)`.
pub fn skill_artifact(
    repo: &str,
    template: &str,
    run: &str,
    parent: Option<&str>,
    now: Time,
) -> Result<Artifact, LearnerError> {
    let slot = slot_for(repo);
    let body = SkillBody {
        repo: repo.into(),
        template: template.into(),
        learned_from_run: run.into(),
    };
    let text = serde_json::to_string(&body).map_err(|e| LearnerError::Corrupt {
        what: "skill",
        id: slot.clone(),
        detail: e.to_string(),
    })?;
    Ok(Artifact::new(
        ArtifactKind::Skill,
        &slot,
        parent,
        &text,
        now,
    ))
}

/// The rule line a run teaches: where the slip happened, which run showed it, and the rule.
pub fn rule_line(boundaries: &[String], run: &str) -> String {
    format!(
        "- On {} (learned from run {run}): {EXACT_NAMES_RULE}",
        boundaries.join(", ")
    )
}

/// `parent` with `line` appended to its end (its rules list, in the default template).
pub fn with_rule(parent: &str, line: &str) -> String {
    let sep = if parent.is_empty() || parent.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    format!("{parent}{sep}{line}\n")
}

/// Writer repos a casing finding sent back in this run, each with the boundaries it was raised
/// on (from placed mismatches, or the slot of the gate that raised it).
pub fn sent_back(case: &RunCase) -> Vec<(String, Vec<String>)> {
    let writers: BTreeSet<&str> = case
        .tasks
        .iter()
        .filter(|t| t.role == TaskRole::Writer)
        .map(|t| t.repo.as_str())
        .collect();
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for r in &case.rounds {
        for f in &r.failures {
            let Some(repo) = f.repo.as_deref() else {
                continue;
            };
            if !(f.rule == CASING_MISMATCH || f.rule == CASING_RULE) || !writers.contains(repo) {
                continue;
            }
            let mut labels: BTreeSet<String> = r
                .mismatches
                .iter()
                .filter(|m| m.boundary.writer == repo)
                .map(|m| m.boundary.label())
                .collect();
            if let Some(b) = f.caught_by.strip_prefix("gate:contract/casing@") {
                labels.insert(b.to_string());
            }
            match out.iter_mut().find(|(r, _)| r == repo) {
                Some((_, l)) => l.extend(labels),
                None => out.push((repo.to_string(), labels)),
            }
        }
    }
    out.into_iter()
        .map(|(r, l)| {
            let mut l: Vec<String> = l.into_iter().collect();
            if l.is_empty() {
                l.push(format!("{r}'s contracts"));
            }
            (r, l)
        })
        .collect()
}

/// Propose the skill `case` teaches for `repo`: the artifacts to store (the default template as
/// the first version's parent, then the child) and the candidate, or why nothing is proposed.
pub fn propose(
    store: &MemoryStore,
    case: &RunCase,
    repo: &str,
    boundaries: &[String],
    now: Time,
) -> Result<Result<(Vec<Artifact>, SkillCandidate), String>, LearnerError> {
    let slot = slot_for(repo);
    let champion = match store.champion(&slot)? {
        Some(id) => store.artifact(&id)?,
        None => None,
    };
    let mut artifacts = Vec::new();
    let parent = match &champion {
        Some(c) => c.clone(),
        None => {
            // Stored a moment earlier, so the child is the slot's newest version.
            let root = skill_artifact(
                repo,
                DEFAULT_TEMPLATE,
                "",
                None,
                Time(now.0.saturating_sub(1)),
            )?;
            artifacts.push(root.clone());
            root
        }
    };
    let parent_template = template_of(&parent)?;
    if parent_template.contains(EXACT_NAMES_RULE) {
        return Ok(Err(format!(
            "{slot}: the champion already has the exact-names rule"
        )));
    }
    // A proposal waiting for its replay or for a person is not made twice; one that was
    // rejected is, since the corpus may have grown since its replay.
    if let Some(newest) = store.artifacts_in_slot(&slot)?.pop()
        && champion.as_ref().is_none_or(|c| c.id != newest.id)
        && newest.parent.as_deref() == Some(parent.id.as_str())
        && template_of(&newest)?.contains(EXACT_NAMES_RULE)
        && !decision_of(store, &newest.id)?.is_some_and(|d| d.starts_with("reject"))
    {
        return Ok(Err(format!(
            "{slot}: {} already proposes the exact-names rule and awaits promotion",
            newest.id
        )));
    }
    if !case.tasks.iter().any(|t| t.repo == repo) {
        return Ok(Err(format!(
            "{slot}: run {} recorded no task for {repo}",
            case.run
        )));
    }
    let rule = rule_line(boundaries, &case.run);
    let template = with_rule(&parent_template, &rule);
    let child = skill_artifact(repo, &template, &case.run, Some(&parent.id), now)?;
    artifacts.push(child.clone());
    Ok(Ok((
        artifacts,
        SkillCandidate {
            id: child.id,
            slot,
            repo: repo.into(),
            parent: parent.id,
            champion: champion.map(|c| c.id),
            parent_template,
            template,
            run: case.run.clone(),
            rule,
        },
    )))
}

/// Proposals whose replay never reached a verdict (the coordinator stopped while it ran): the
/// newest version of each skill slot, when it is not the champion, grows from a parent and has
/// no recorded decision. A restarted coordinator replays them again.
pub fn unjudged(store: &MemoryStore) -> Result<Vec<SkillCandidate>, LearnerError> {
    let mut out = Vec::new();
    for (slot, champion) in super::champions::slot_summaries(store)? {
        let Some(repo) = repo_of(&slot) else {
            continue;
        };
        let Some(newest) = store.artifacts_in_slot(&slot)?.pop() else {
            continue;
        };
        let Some(parent_id) = newest.parent.clone() else {
            continue;
        };
        if champion.as_deref() == Some(newest.id.as_str())
            || decision_of(store, &newest.id)?.is_some()
        {
            continue;
        }
        let Some(parent) = store.artifact(&parent_id)? else {
            continue;
        };
        let body: SkillBody =
            serde_json::from_str(&newest.body).map_err(|e| LearnerError::Corrupt {
                what: "skill artifact",
                id: newest.id.clone(),
                detail: e.to_string(),
            })?;
        let parent_template = template_of(&parent)?;
        let rule = body
            .template
            .strip_prefix(parent_template.as_str())
            .unwrap_or_default()
            .trim()
            .to_string();
        out.push(SkillCandidate {
            id: newest.id,
            slot: slot.clone(),
            repo: repo.to_string(),
            parent: parent_id,
            champion,
            parent_template,
            template: body.template,
            run: body.learned_from_run,
            rule,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests {
    use super::*;

    fn check(slot: &str, expected: Option<&str>) {
        assert_eq!(repo_of(slot), expected, "{slot}");
    }

    #[test]
    fn skill_slots_are_not_setup_slots() {
        check("skill:backend", Some("backend"));
        check("skill:setup@backend", None);
        check("gate:contract/casing@a->b:c", None);
    }

    #[test]
    fn the_rule_is_appended_as_one_line() {
        let line = rule_line(&["backend->worker:order-events.v1".into()], "run-1");
        assert!(line.contains("run-1") && line.contains(EXACT_NAMES_RULE));
        assert_eq!(with_rule("a\n", &line), format!("a\n{line}\n"));
        assert_eq!(with_rule("a", &line), format!("a\n{line}\n"));
        let a = skill_artifact("backend", "t", "run-1", None, Time(1)).unwrap();
        assert_eq!(template_of(&a).unwrap(), "t");
        assert_eq!(a.slot, "skill:backend");
    }
}
