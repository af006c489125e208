//! Outcome runs: the durable record of each run, the pure state machine that advances it, and the
//! redb store that keeps it across restarts.
//!
//! The machine decides; the driver (in `crate::driver`) performs its effects over the network and
//! feeds results back. Every transition is written to the store before its effects run, so a
//! restarted coordinator resumes each run from the last step it recorded.

pub mod machine;
pub mod record;
pub mod store;

pub use machine::{Effect, Input, RunMachine};
pub use record::*;
pub use store::{RunStore, StoreError};
