//! Memory over the wire: nodes ask the coordinator's Memory what is known about the repos they
//! work on, and record what they observed. A record is fenced like every other write a node makes
//! about a repo: the envelope carries the shard epoch, and only the repo's owner at that epoch is
//! heard.

use serde::{Deserialize, Serialize};

/// Node -> coordinator: open facts about these repos and contracts, and what is one hop from
/// them in the graph. Reply: [`crate::Body::MemoryFacts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryQuery {
    /// Repo names.
    pub repos: Vec<String>,
    /// Contract names.
    pub contracts: Vec<String>,
    /// At most this many facts, most confident first; the coordinator caps it too.
    pub limit: u32,
}

/// One fact as it crosses the wire, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactView {
    /// The fact's id.
    pub id: String,
    /// The entity it is about, e.g. `repo:backend`.
    pub subject: String,
    /// What is said, e.g. `check.test.status`.
    pub predicate: String,
    /// The value.
    pub object: String,
    /// Current belief in [0, 1].
    pub confidence: f64,
    /// The run that learned it, if any.
    pub run: Option<String>,
    /// Who recorded it: an actor, a node, a person.
    pub agent: String,
    /// What it was read from: `repo@commit:path`.
    pub source: String,
    /// How it was learned (`declared`, `observed`, ...).
    pub method: String,
    /// When Memory learned it (unix ms).
    pub recorded_at_ms: u64,
    /// When it was last confirmed (unix ms).
    pub last_verified_ms: u64,
}

/// Node -> coordinator: facts observed while working on `repo`, under the shard epoch the
/// envelope carries. All of them land in one transaction or none do. Reply:
/// [`crate::Body::MemoryRecorded`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRecord {
    /// The repo the node owns.
    pub repo: String,
    /// The run and step the observations come from.
    pub run_id: String,
    /// The step, e.g. a task id.
    pub step: String,
    /// The commit observed.
    pub commit: String,
    /// The observations.
    pub facts: Vec<ObservedFact>,
}

/// One observation. Its subject must be the repo itself or a contract the repo provides: a node
/// speaks only for what it owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedFact {
    /// The entity, e.g. `repo:backend`.
    pub subject: String,
    /// What is said.
    pub predicate: String,
    /// The value.
    pub object: String,
    /// The file in the repo it was read from (`factory.toml`, a log name).
    pub path: String,
}

/// What a [`MemoryRecord`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRecorded {
    /// Facts new to Memory.
    pub recorded: u32,
    /// Open facts the record confirmed.
    pub confirmed: u32,
    /// Open facts it contradicted (closed, kept).
    pub closed: u32,
}
