//! The durable shape of a run lives in `protocol::run`, because it also crosses the wire (status
//! replies, task results); this module re-exports it for the coordinator's own code.
pub use protocol::run::*;
