//! The coordinator: cluster membership, the shard map of repos to nodes, and the coordinator's
//! RPC service.
//!
//! Owns: who is in the cluster, which node owns which repo at which epoch, and refusing messages
//! fenced by an old epoch. Does not own: the wire format (`protocol`), the QUIC transport
//! (`actors::net`), or what nodes do with their repos.

pub mod artifacts;
pub mod client;
pub mod driver;
pub mod http;
pub mod ids;
pub mod membership;
pub mod runs;
pub mod server;
pub mod service;
pub mod shards;
pub mod state;
pub mod tokens;

pub use server::{Coordinator, CoordinatorConfig, CoordinatorError};

#[cfg(test)]
mod service_tests;
