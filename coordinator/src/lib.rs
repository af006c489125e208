//! The coordinator: membership, the shard map, the durable run store, scheduling of runs, and the
//! RPC API.
//!
//! Owns: which node owns which repo, every run's durable record and the decisions that advance it.
//! Does not own: how a repo is changed or verified (that runs on nodes, in `actors`).
pub mod artifacts;
pub mod driver;
pub mod http;
pub mod runs;
pub mod tokens;
