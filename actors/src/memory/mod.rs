//! The factory's organizational memory: a typed entity/relation graph with facts that carry
//! provenance and two time axes, stored in redb.
//!
//! Owns: the graph model (`model`), the store and its queries (`store`, `query`), seeding from the
//! org model (`seed`), JSON export/import (`json`), the learner's tables (`learner`) and a thin
//! actor shell (`actor`) that keeps redb's blocking calls off async threads.
//! Does not own: deciding what to learn or promote (the learner) or what to ask (the planner).

pub mod actor;
pub mod json;
pub mod learner;
pub mod model;
pub mod query;
pub mod seed;
pub mod store;
pub mod write;

#[cfg(test)]
mod tests;

pub use actor::{MemoryActor, MemoryMsg};
pub use learner::{Artifact, ArtifactKind, Evaluation, Promotion, PromotionKind};
pub use model::{
    Direction, Edge, Entity, EntityKind, Fact, Method, Provenance, Relation, Time, new_fact_id,
};
pub use seed::seed_from_org;
pub use store::MemoryStore;
pub use write::{ApplySummary, Write};

/// Errors of the memory store and its actor.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The database file could not be opened: missing rights, damaged or not a redb file.
    #[error("memory store {path}: cannot open: {detail}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// A redb operation failed.
    #[error("memory store: {0}")]
    Db(String),
    /// A stored value does not decode.
    #[error("memory store: {table} entry {key} is unreadable: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The key.
        key: String,
        /// Why.
        detail: String,
    },
    /// A value could not be encoded.
    #[error("memory store: cannot encode: {0}")]
    Encode(String),
    /// A write refers to something that is not there.
    #[error("memory store: no {what} {id}")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A write conflicts with the stored state.
    #[error("memory store: {0}")]
    Conflict(String),
    /// An export document does not parse.
    #[error("memory import: {0}")]
    Json(String),
    /// The memory actor is gone or did not answer.
    #[error("memory actor: {0}")]
    Actor(String),
}

/// Map any redb error to [`MemoryError::Db`]; redb's many error types carry no detail we act on.
pub(crate) fn db_err(e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Db(e.to_string())
}
