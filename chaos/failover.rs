//! `FailoverPolicy`: where each running task attempt was sent, and when to send it again.
//!
//! The run machine only says "dispatch attempt N of task T"; it does not know about nodes,
//! epochs or lost messages. This is the policy the simulated coordinator runs, written against
//! the coordinator's own types (`ShardMap`, `Move`, `TaskResult`) and nothing of the simulator.
//! The real driver's form of it is `coordinator::runs::failover` (see the Chaos section of ARCHITECTURE.md):
//!
//! - Send an attempt to the repo's current owner under the shard's current epoch; with no owner,
//!   park it until a move gives the repo one.
//! - On every shard move (owner lost, owner back, a node joining), re-send each attempt running
//!   on that repo to the new owner under the move's epoch, with the same attempt number: the
//!   old owner's result can no longer pass the fence, so without the re-send the run would hang.
//! - When a node registers (again), re-send what is assigned to it: a quick restart keeps its
//!   shards and epochs but has lost its work.
//! - With no admitted result after `result_timeout_ms`, send again to the current owner (a lost
//!   dispatch or result). Nodes answer a repeat of a finished (task, attempt, epoch) with the
//!   result they kept, and ignore a repeat of one still running.
//! - Admit a result only if `ShardMap::fence(repo, result.epoch, result.node)` passes; the run
//!   machine then drops results for an attempt it is no longer running.

use std::collections::BTreeMap;

use coordinator::ids::{Epoch, NodeId, RepoName};
use coordinator::runs::TaskResult;
use coordinator::shards::{FenceError, Move, ShardMap};

/// A running attempt: run id and task id.
pub type AttemptKey = (String, String);

/// Where one running attempt stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// The repo the task changes.
    pub repo: RepoName,
    /// The attempt the run machine is waiting for.
    pub attempt: u32,
    /// The node and epoch it was last sent under; none while parked.
    pub target: Option<(NodeId, Epoch)>,
    /// When it was last sent, in ms.
    pub sent_at_ms: u64,
}

/// An instruction for the transport: send this attempt to `node`, stamped with `epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    /// Run id.
    pub run: String,
    /// Task id.
    pub task: String,
    /// The task's repo.
    pub repo: RepoName,
    /// Attempt number, unchanged by re-sends.
    pub attempt: u32,
    /// The repo's owner.
    pub node: NodeId,
    /// The shard's epoch; the result must carry it back.
    pub epoch: Epoch,
}

/// The policy and its table of running attempts. Not persisted: after a restart `Input::Start`
/// re-dispatches every running attempt and the table fills again.
#[derive(Clone, Debug)]
pub struct FailoverPolicy {
    result_timeout_ms: u64,
    inflight: BTreeMap<AttemptKey, InFlight>,
}

impl FailoverPolicy {
    /// An empty table.
    pub fn new(result_timeout_ms: u64) -> Self {
        FailoverPolicy {
            result_timeout_ms,
            inflight: BTreeMap::new(),
        }
    }

    /// The run machine asked for an attempt (a first dispatch, a retry, or a resume).
    pub fn dispatch(
        &mut self,
        key: AttemptKey,
        repo: RepoName,
        attempt: u32,
        shards: &ShardMap,
        now_ms: u64,
    ) -> Option<Send> {
        let entry = InFlight {
            repo,
            attempt,
            target: None,
            sent_at_ms: now_ms,
        };
        self.inflight.insert(key.clone(), entry);
        self.send_to_owner(&key, shards, now_ms)
    }

    /// Shards moved: re-send every attempt on a moved repo to its new owner.
    pub fn moved(&mut self, moves: &[Move], now_ms: u64) -> Vec<Send> {
        let mut sends = Vec::new();
        for m in moves {
            for (key, f) in self.inflight.iter_mut().filter(|(_, f)| f.repo == m.repo) {
                f.target = m.to.clone().map(|n| (n, m.epoch));
                f.sent_at_ms = now_ms;
                if let Some((node, epoch)) = &f.target {
                    sends.push(send(key, f, node, *epoch));
                }
            }
        }
        sends
    }

    /// A node registered: re-send what is assigned to it, in case it restarted.
    pub fn registered(&mut self, node: &NodeId, now_ms: u64) -> Vec<Send> {
        let mut sends = Vec::new();
        for (key, f) in &mut self.inflight {
            if let Some((n, epoch)) = &f.target
                && n == node
            {
                f.sent_at_ms = now_ms;
                sends.push(send(key, f, n, *epoch));
            }
        }
        sends
    }

    /// The clock moved: re-send attempts silent past the timeout, and parked ones that now have
    /// an owner.
    pub fn tick(&mut self, shards: &ShardMap, now_ms: u64) -> Vec<Send> {
        let due: Vec<AttemptKey> = self
            .inflight
            .iter()
            .filter(|(_, f)| {
                f.target.is_none() || now_ms.saturating_sub(f.sent_at_ms) >= self.result_timeout_ms
            })
            .map(|(k, _)| k.clone())
            .collect();
        due.iter()
            .filter_map(|k| self.send_to_owner(k, shards, now_ms))
            .collect()
    }

    /// Whether a result may reach the run machine: only from the repo's owner under its current
    /// epoch. Anything else is a former owner's late answer, or a forgery.
    pub fn admit(
        repo: &RepoName,
        result: &TaskResult,
        shards: &ShardMap,
    ) -> Result<(), FenceError> {
        shards.fence(repo, Epoch(result.epoch), &NodeId::new(result.node.clone()))
    }

    /// The machine no longer runs this attempt (it finished, was superseded, or the run ended).
    pub fn settle(&mut self, key: &AttemptKey) {
        self.inflight.remove(key);
    }

    /// Everything in flight, by key.
    pub fn inflight(&self) -> &BTreeMap<AttemptKey, InFlight> {
        &self.inflight
    }

    fn send_to_owner(&mut self, key: &AttemptKey, shards: &ShardMap, now_ms: u64) -> Option<Send> {
        let f = self.inflight.get_mut(key)?;
        let shard = shards.shard(&f.repo)?;
        let Some(node) = shard.owner else {
            f.target = None;
            return None;
        };
        f.target = Some((node.clone(), shard.epoch));
        f.sent_at_ms = now_ms;
        Some(send(key, f, &node, shard.epoch))
    }
}

fn send(key: &AttemptKey, f: &InFlight, node: &NodeId, epoch: Epoch) -> Send {
    Send {
        run: key.0.clone(),
        task: key.1.clone(),
        repo: f.repo.clone(),
        attempt: f.attempt,
        node: node.clone(),
        epoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coordinator::shards::Weighted;

    fn key(t: &str) -> AttemptKey {
        ("run-0".into(), t.into())
    }

    #[test]
    fn parked_until_an_owner_then_follows_every_move() {
        let repo = RepoName::new("api");
        let mut shards = ShardMap::new([repo.clone()]);
        let mut p = FailoverPolicy::new(1000);
        assert_eq!(p.dispatch(key("w"), repo.clone(), 1, &shards, 0), None);
        let moves = shards.assign(&[Weighted::new("a", 1), Weighted::new("b", 1)]);
        let first = p.moved(&moves, 10);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].epoch, Epoch(1));
        let owner = first[0].node.clone();
        let other = if owner.as_str() == "a" { "b" } else { "a" };
        let moves = shards.assign(&[Weighted::new(other, 1)]);
        let second = p.moved(&moves, 20);
        assert_eq!(
            (second[0].node.as_str(), second[0].epoch, second[0].attempt),
            (other, Epoch(2), 1)
        );
        assert!(p.tick(&shards, 500).is_empty(), "not due yet");
        assert_eq!(p.tick(&shards, 1020).len(), 1, "due after the timeout");
        assert_eq!(p.registered(&NodeId::new(other), 1030).len(), 1);
        p.settle(&key("w"));
        assert!(p.inflight().is_empty());
    }

    #[test]
    fn only_the_current_owner_at_the_current_epoch_is_admitted() {
        let repo = RepoName::new("api");
        let mut shards = ShardMap::new([repo.clone()]);
        shards.assign(&[Weighted::new("a", 1)]);
        shards.assign(&[Weighted::new("b", 1)]);
        let result = |node: &str, epoch| TaskResult {
            attempt: 1,
            node: node.into(),
            epoch,
            ok: true,
            error: None,
            branch: None,
            head: None,
            base: None,
            diff: String::new(),
            summary: String::new(),
            cost_usd: 0.0,
            agent_ms: 0,
            checks_ms: 0,
            wall_ms: 0,
            started_unix_ms: 0,
            finished_unix_ms: 0,
            checks: serde_json::Value::Null,
            moves: Vec::new(),
        };
        assert!(FailoverPolicy::admit(&repo, &result("b", 2), &shards).is_ok());
        assert!(FailoverPolicy::admit(&repo, &result("a", 1), &shards).is_err());
        assert!(FailoverPolicy::admit(&repo, &result("a", 2), &shards).is_err());
        assert!(FailoverPolicy::admit(&repo, &result("b", 3), &shards).is_err());
    }
}
