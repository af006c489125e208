//! Counters of notable endpoint events, observable without parsing logs.

use tokio::sync::watch;

/// A copy of an endpoint's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Incoming connections that passed TLS and hello.
    pub connections_accepted: u64,
    /// Incoming handshakes that failed (e.g. a certificate not from the cluster CA, or expired).
    pub handshakes_refused: u64,
    /// Incoming connections whose hello was refused.
    pub hellos_refused: u64,
    /// Frames refused as malformed, oversized or of the wrong version.
    pub frames_rejected: u64,
}

/// Live counters; waiters can subscribe for changes instead of polling.
#[derive(Debug)]
pub struct Stats {
    tx: watch::Sender<StatsSnapshot>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            tx: watch::Sender::new(StatsSnapshot::default()),
        }
    }
}

impl Stats {
    /// Applies `f` to the counters and wakes subscribers.
    pub(crate) fn update(&self, f: impl FnOnce(&mut StatsSnapshot)) {
        self.tx.send_modify(f);
    }

    /// The current counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        *self.tx.borrow()
    }

    /// Waits until `pred` holds for the counters.
    pub async fn wait_for(&self, pred: impl FnMut(&StatsSnapshot) -> bool) -> StatsSnapshot {
        let mut rx = self.tx.subscribe();
        match rx.wait_for(pred).await {
            Ok(s) => *s,
            // The sender lives in `self`, so it cannot have been dropped while we borrow it.
            Err(_) => self.snapshot(),
        }
    }
}
