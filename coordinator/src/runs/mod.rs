//! Outcome runs: the durable record of each run, the pure state machine that advances it, the
//! redb store that keeps it across restarts, and the service that drives runs on the cluster.
//!
//! The machine decides; the driver (in `crate::driver`) performs its effects through
//! [`steps::ClusterSteps`] and feeds results back. Every transition is written to the store before
//! its effects run, so a restarted coordinator resumes each run from the last step it recorded.

mod api;
pub mod bundle;
mod failover;
mod learning;
pub mod machine;
pub mod memory_rpc;
pub mod planner;
pub mod record;
pub mod rpc;
pub mod service;
mod steps;
pub mod store;

pub use machine::{Effect, Input, RunMachine};
pub use record::*;
pub use service::{RunConfig, RunError, RunService};
pub use store::{RunStore, StoreError};
