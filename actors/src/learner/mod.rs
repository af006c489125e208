//! The learning loop: after each run, record what it showed, propose gates, setup steps and
//! skills (prompt templates) from its failures, judge each proposal by replaying recorded runs,
//! and move champion pointers.
//!
//! - [`observe`] turns a [`RunRecord`] into a frozen replay case ([`RunCase`]): per round, the
//!   heads, the field names of captured payloads, the casing mismatches placed on their
//!   boundaries, and why a sandbox did not start.
//! - [`learn()`] records facts with provenance and the run as an entity, proposes, replays gates
//!   and promotes them — all in one memory transaction.
//! - [`gates`], [`setup`] and [`skills`] are the proposals' own logic: what a gate finds, what a
//!   setup step is, what rule line a skill gains, how each is stored as an artifact.
//! - [`replay`] is the evaluator. It takes proposals as data and never reads or writes their
//!   slots, so nothing a proposal can change can change how it is judged. Gates replay recorded
//!   rounds; setup steps and skills replay for real (processes), skills judged by
//!   [`replay::judge`]: the repo's own tests and the names the change asked for.
//! - [`champions`] reads what runs now and moves pointers: promote, roll back, lineage.
//!
//! Owns: deciding what to learn and what to promote. Does not own: storage (`memory`), running
//! gates during a round (the verifier calls [`gates::evaluate`]), or when to learn (the
//! coordinator calls [`learn()`] after each run, from a blocking thread: redb is blocking).

pub mod champions;
pub mod gates;
pub mod learn;
pub mod observe;
pub mod record;
pub mod replay;
pub mod setup;
pub mod skills;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "testkit"))]
pub mod fixtures;

pub use champions::{
    LineageEntry, PromotedBy, champion_skill, champions, lineage, promote, rollback, slot_summaries,
};
pub use gates::{GateFinding, evaluate, payload_fields, schema_fields};
pub use learn::{GateOutcome, LearnReport, learn, load_corpus};
pub use observe::{Boundary, RunCase, case_of};
pub use replay::judge::Judgement;
pub use replay::setup::{SetupReplayEnv, SetupVerdict, evaluate_setup};
pub use replay::skill::{SkillCase, SkillReplayEnv, SkillVerdict, evaluate_skill};
pub use replay::{Decision, GateReplay, replay_gate};
pub use setup::SetupCandidate;
pub use skills::{SkillCandidate, unjudged};

use crate::memory::MemoryError;
use protocol::run::RunRecord;

/// How the learner decides.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerConfig {
    /// Let evidence move a gate from shadow to blocking without a person: the gate caught at
    /// least one known-bad round that was later fixed, missed none, and flagged no known-good
    /// round on replay. Default `true`: a caught and fixed defect plus a clean replay is the
    /// approval. Set `false` to require `factory learner promote SLOT --blocking`.
    pub auto_block: bool,
    /// Who promotions made by the learner are attributed to in the promotion log.
    pub agent: String,
    /// Let a skill whose replay was accepted become its repo's champion without a person.
    /// Default `false`: a template changes what every later agent on that repo is told, on
    /// every task, so a person reads it and promotes it with
    /// `factory learner promote skill:<repo>`. Absent from older configs, hence the default.
    #[serde(default)]
    pub auto_promote_skills: bool,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig {
            auto_block: true,
            agent: "learner".into(),
            auto_promote_skills: false,
        }
    }
}

/// Errors of the learner.
#[derive(Debug, thiserror::Error)]
pub enum LearnerError {
    /// The memory store failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// A stored artifact or run case does not decode.
    #[error("learner: {what} {id} is unreadable: {detail}")]
    Corrupt {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: String,
        /// Why.
        detail: String,
    },
    /// The slot has no champion or no artifact to act on.
    #[error("learner: slot {slot}: {detail}")]
    Slot {
        /// The slot.
        slot: String,
        /// What is missing.
        detail: String,
    },
    /// Evidence does not allow the requested promotion.
    #[error("learner: slot {slot}: not promoted: {reason}")]
    Refused {
        /// The slot.
        slot: String,
        /// Why.
        reason: String,
    },
    /// A replay could not run (git, files, processes).
    #[error("learner: replay: {0}")]
    Replay(String),
}

/// The id of a run's memory entity, `run:<id>`.
pub fn run_entity_id(run: &RunRecord) -> String {
    crate::memory::EntityKind::Run.id(&run.id)
}
