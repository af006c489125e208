//! When to restart a failed child: exponential backoff under a restart budget. Pure; time is an
//! input.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How a supervisor treats failing children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Wait before the first restart in a window. Default 50 ms.
    pub initial_backoff: Duration,
    /// The wait doubles per restart in the window up to this. Default 5 s.
    pub max_backoff: Duration,
    /// Restarts allowed per window before the supervisor gives up and fails itself, so that its
    /// own supervisor sees a fault it cannot fix locally. Default 5.
    pub max_restarts: u32,
    /// The sliding window restarts are counted in. Default 30 s.
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            max_restarts: 5,
            window: Duration::from_secs(30),
        }
    }
}

/// What to do about one failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this wait; `attempt` counts restarts in the current window, from 1.
    Restart {
        /// How long to wait first.
        after: Duration,
        /// The restart's number within the window.
        attempt: u32,
    },
    /// The budget is spent.
    GiveUp,
}

/// One child's recent restarts.
#[derive(Clone, Debug, Default)]
pub struct RestartBudget {
    recent: VecDeque<Instant>,
}

impl RestartBudget {
    /// Record a failure at `now` and decide. A child that stayed up for a whole window starts
    /// again from the initial backoff.
    pub fn on_failure(&mut self, policy: &RestartPolicy, now: Instant) -> Decision {
        while let Some(&first) = self.recent.front() {
            if now.saturating_duration_since(first) >= policy.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= policy.max_restarts as usize {
            return Decision::GiveUp;
        }
        self.recent.push_back(now);
        let attempt = self.recent.len() as u32;
        // 2^(attempt-1), capped well before overflow; max_backoff caps the product.
        let factor = 1u32 << (attempt - 1).min(20);
        let after = policy
            .initial_backoff
            .saturating_mul(factor)
            .min(policy.max_backoff);
        Decision::Restart { after, attempt }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Failures at the given ms offsets; the decisions as "restart <ms>" or "give up".
    fn check(policy: RestartPolicy, failures_ms: &[u64], expected: &[&str]) {
        let start = Instant::now();
        let mut budget = RestartBudget::default();
        let got: Vec<String> = failures_ms
            .iter()
            .map(
                |ms| match budget.on_failure(&policy, start + Duration::from_millis(*ms)) {
                    Decision::Restart { after, .. } => format!("restart {}", after.as_millis()),
                    Decision::GiveUp => "give up".to_owned(),
                },
            )
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn backoff_doubles_then_caps_then_gives_up() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            max_restarts: 4,
            window: Duration::from_secs(10),
        };
        check(
            policy,
            &[0, 1, 2, 3, 4],
            &[
                "restart 100",
                "restart 200",
                "restart 300",
                "restart 300",
                "give up",
            ],
        );
    }

    #[test]
    fn a_quiet_window_resets_the_backoff() {
        let policy = RestartPolicy {
            max_restarts: 2,
            ..RestartPolicy::default()
        };
        check(
            policy,
            &[0, 10, 40_000, 40_001],
            &["restart 50", "restart 100", "restart 50", "restart 100"],
        );
    }
}
