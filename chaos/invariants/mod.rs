//! The invariants, each a small checker fed the history as it happens. A checker returns a
//! [`Violation`] the first time the history breaks its rule; the simulator stops the seed there.

mod acks;
mod ledger;
mod shards;
mod timing;

pub use acks::AckLog;
pub use ledger::CompletionLedger;
pub use shards::ShardHistory;
pub use timing::{FailoverClock, Liveness};

use std::fmt;

/// Which rule was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invariant {
    /// At most one owner per repo per epoch.
    OneOwnerPerEpoch,
    /// A shard's epoch never decreases.
    EpochsRise,
    /// A result was admitted from other than the repo's owner under its latest epoch.
    AdmittedFromOwner,
    /// A persisted (acknowledged) step survives a coordinator restart, and no later write
    /// removes what an earlier one recorded.
    NoAckedStepLost,
    /// No task attempt is counted as completed twice.
    CompletedOnce,
    /// Every run is final and bundled within the liveness bound after faults stop.
    Liveness,
    /// A lost node's attempt is running elsewhere within the failover bound.
    FailoverBound,
}

/// A broken invariant and what broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub invariant: Invariant,
    /// The evidence, for the person replaying the seed.
    pub detail: String,
}

impl Violation {
    /// A violation of `invariant`.
    pub fn new(invariant: Invariant, detail: impl Into<String>) -> Self {
        Violation {
            invariant,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.invariant, self.detail)
    }
}
