//! The two timing invariants: failover within its bound, and every run final within the
//! liveness bound once faults stop.

use std::collections::BTreeMap;

use super::{Invariant, Violation};
use crate::config::Ms;
use crate::failover::AttemptKey;

/// An attempt whose node was lost, waiting to be sent elsewhere.
#[derive(Clone, Debug)]
struct Pending {
    node: String,
    lost_at: Ms,
}

/// Times each failover: from the loss of the node an attempt was on to the attempt being sent to
/// another node.
#[derive(Default, Debug)]
pub struct FailoverClock {
    pending: BTreeMap<AttemptKey, Pending>,
    /// The longest failover measured, in ms, and the bound it had.
    pub longest_ms: (Ms, Ms),
    /// The longest among failovers with the base bound (no coordinator restart in the window).
    pub longest_plain_ms: Ms,
    base_bound_ms: Ms,
    /// Failovers measured.
    pub measured: u64,
}

impl FailoverClock {
    /// A clock whose plain (restart-free) bound is `base_bound_ms`.
    pub fn new(base_bound_ms: Ms) -> Self {
        FailoverClock {
            base_bound_ms,
            ..FailoverClock::default()
        }
    }

    /// `node` was lost at `now` while running `key`.
    pub fn lost(&mut self, key: AttemptKey, node: &str, now: Ms) {
        self.pending.entry(key).or_insert(Pending {
            node: node.to_owned(),
            lost_at: now,
        });
    }

    /// `key` was sent to `node` at `now`; `bound` is the bound for a loss at `lost_at`.
    pub fn sent(
        &mut self,
        key: &AttemptKey,
        node: &str,
        now: Ms,
        bound: impl Fn(Ms) -> Ms,
    ) -> Result<(), Violation> {
        let Some(p) = self.pending.get(key) else {
            return Ok(());
        };
        if p.node == node {
            // Sent again to the lost node itself: it may be back; keep waiting.
            return Ok(());
        }
        let took = now - p.lost_at;
        let limit = bound(p.lost_at);
        self.pending.remove(key);
        self.measured += 1;
        self.longest_ms = self.longest_ms.max((took, limit));
        if limit <= self.base_bound_ms {
            self.longest_plain_ms = self.longest_plain_ms.max(took);
        }
        if took > limit {
            return Err(Violation::new(
                Invariant::FailoverBound,
                format!(
                    "{key:?} lost at {}ms, sent to {node} {took}ms later (bound {limit}ms)",
                    now - took
                ),
            ));
        }
        Ok(())
    }

    /// Stop timing `key`: it finished, or its node came back before anyone noticed, or no
    /// other node was live to take it (the bound assumes one is).
    pub fn cancel(&mut self, key: &AttemptKey) {
        self.pending.remove(key);
    }

    /// The nodes that are healthy right now (another node was just lost). The bound assumes a
    /// live node to fail over to, so a loss with no other healthy node is not timed.
    pub fn healthy(&mut self, healthy: &[String]) {
        self.pending
            .retain(|_, p| healthy.iter().any(|n| *n != p.node));
    }

    /// Stop timing everything lost on `node` (it came back).
    pub fn recovered(&mut self, node: &str) {
        self.pending.retain(|_, p| p.node != node);
    }
}

/// Liveness: once faults stop at `faults_stop`, every run is final and bundled by
/// `faults_stop + bound`.
#[derive(Clone, Copy, Debug)]
pub struct Liveness {
    /// When faults stopped.
    pub faults_stop: Ms,
    /// The bound, in ms.
    pub bound: Ms,
}

impl Liveness {
    /// Check one run: `finished` is when it became final and bundled, if it did.
    pub fn check(&self, run: &str, finished: Option<Ms>) -> Result<(), Violation> {
        let deadline = self.faults_stop + self.bound;
        match finished {
            Some(t) if t <= deadline => Ok(()),
            Some(t) => Err(Violation::new(
                Invariant::Liveness,
                format!("{run} finished at {t}ms, after the deadline {deadline}ms"),
            )),
            None => Err(Violation::new(
                Invariant::Liveness,
                format!("{run} never finished (deadline {deadline}ms)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AttemptKey {
        ("run-0".into(), "w".into())
    }

    /// Loss at 1000 ms on n1, then sends as (node, at); bound is 500 ms.
    fn check(sends: &[(&str, Ms)], expected: Option<Invariant>) {
        let mut clock = FailoverClock::default();
        clock.lost(key(), "n1", 1000);
        let got = sends
            .iter()
            .try_for_each(|(n, at)| clock.sent(&key(), n, *at, |_| 500))
            .err();
        assert_eq!(got.map(|v| v.invariant), expected);
    }

    #[test]
    fn failover_good_and_bad_histories() {
        check(&[("n2", 1400)], None);
        check(&[("n1", 1200), ("n2", 1500)], None);
        check(&[("n2", 1501)], Some(Invariant::FailoverBound));
        check(
            &[("n1", 1100), ("n3", 9000)],
            Some(Invariant::FailoverBound),
        );
    }

    #[test]
    fn cancelled_and_recovered_losses_are_not_timed() {
        let mut clock = FailoverClock::default();
        clock.lost(key(), "n1", 0);
        clock.recovered("n1");
        assert!(clock.sent(&key(), "n2", 99_999, |_| 1).is_ok());
        clock.lost(key(), "n1", 0);
        clock.healthy(&["n1".to_owned()]);
        assert!(clock.sent(&key(), "n2", 99_999, |_| 1).is_ok());
        assert_eq!(clock.measured, 0);
    }

    #[test]
    fn liveness_good_and_bad() {
        let l = Liveness {
            faults_stop: 1000,
            bound: 100,
        };
        assert!(l.check("r", Some(1100)).is_ok());
        assert_eq!(
            l.check("r", Some(1101)).err().map(|v| v.invariant),
            Some(Invariant::Liveness)
        );
        assert!(l.check("r", None).is_err());
    }
}
