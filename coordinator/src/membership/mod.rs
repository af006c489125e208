//! Cluster membership as a pure state machine.
//!
//! Inputs are registrations, heartbeats and clock ticks, each with the time it happened (`now`,
//! a monotonic reading taken by the caller); outputs are [`Effect`]s: nodes going up or down and
//! the shard moves that follow. The actor around it owns the clock and the sockets.
//!
//! Failure bound: nodes heartbeat every [`MembershipConfig::heartbeat_interval`] (500 ms by
//! default); a node silent for longer than [`MembershipConfig::down_after`] (2 s) is marked down
//! at the next tick, so with ticks every 100 ms a dead node is down within 2.1 s of its last
//! heartbeat. Its repos move at once to the next nodes in rendezvous rank, with higher epochs.

#[cfg(test)]
mod tests;

use crate::ids::{NodeId, RepoName};
use crate::shards::{Move, Shard, ShardMap, Weighted};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Timing of failure detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipConfig {
    /// How often nodes are asked to heartbeat. Default 500 ms.
    pub heartbeat_interval: Duration,
    /// Silence after which a node is marked down. Default 2 s: four missed heartbeats, so one
    /// lost datagram or a slow scheduler does not flap a node.
    pub down_after: Duration,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        MembershipConfig {
            heartbeat_interval: Duration::from_millis(500),
            down_after: Duration::from_secs(2),
        }
    }
}

/// What a node tells the coordinator when it joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Its name; the transport has already checked it against the certificate.
    pub name: NodeId,
    /// Relative capacity, at least 1: its share of repos is capacity over the total.
    pub capacity: u32,
    /// The kinds of agents it can run.
    pub agents: Vec<String>,
    /// Free-form placement labels.
    pub labels: BTreeMap<String, String>,
    /// The address other nodes reach it on.
    pub addr: String,
}

/// Whether a node counts as live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Heartbeating; owns shards.
    Up,
    /// Silent past the bound; owns nothing until it registers again.
    Down,
}

/// One node as membership knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// What it registered with.
    pub registration: Registration,
    /// Up or down.
    pub state: NodeState,
    /// When it was last heard from.
    pub last_seen: Duration,
    /// Rises on every registration, so a restarted node is told apart from its former self.
    pub incarnation: u64,
}

/// What the shell must do after an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A node became live.
    NodeUp(NodeId),
    /// A node was marked down.
    NodeDown(NodeId),
    /// A repo changed owner.
    Moved(Move),
}

/// Why an input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// Capacity must be at least 1.
    #[error("node {0} registered with capacity 0")]
    ZeroCapacity(NodeId),
    /// A heartbeat from a node that never registered, or was marked down since: it must
    /// register again (its shards may have moved).
    #[error("node {0} is not registered")]
    NotRegistered(NodeId),
}

/// The membership state machine; it owns the shard map because every change of the live set
/// must be followed by a placement.
pub struct Membership {
    config: MembershipConfig,
    members: BTreeMap<NodeId, Member>,
    shards: ShardMap,
}

impl Membership {
    /// Membership over these repos with no nodes yet.
    pub fn new<I: IntoIterator<Item = RepoName>>(config: MembershipConfig, repos: I) -> Self {
        Membership {
            config,
            members: BTreeMap::new(),
            shards: ShardMap::new(repos),
        }
    }

    /// The timing this machine runs with.
    pub fn config(&self) -> MembershipConfig {
        self.config
    }

    /// A node joins or rejoins. Returns the node-up effect (if it was not up) and the moves.
    pub fn register(
        &mut self,
        now: Duration,
        registration: Registration,
    ) -> Result<Vec<Effect>, MembershipError> {
        let name = registration.name.clone();
        if registration.capacity == 0 {
            return Err(MembershipError::ZeroCapacity(name));
        }
        let mut effects = Vec::new();
        let incarnation = self.members.get(&name).map_or(1, |m| m.incarnation + 1);
        let was_up = self
            .members
            .get(&name)
            .is_some_and(|m| m.state == NodeState::Up);
        if !was_up {
            effects.push(Effect::NodeUp(name.clone()));
        }
        self.members.insert(
            name,
            Member {
                registration,
                state: NodeState::Up,
                last_seen: now,
                incarnation,
            },
        );
        effects.extend(self.place());
        Ok(effects)
    }

    /// A heartbeat from a node. Only an up node may heartbeat; others must register again.
    pub fn heartbeat(&mut self, now: Duration, name: &NodeId) -> Result<(), MembershipError> {
        match self.members.get_mut(name) {
            Some(m) if m.state == NodeState::Up => {
                m.last_seen = m.last_seen.max(now);
                Ok(())
            }
            _ => Err(MembershipError::NotRegistered(name.clone())),
        }
    }

    /// The clock moved: mark silent nodes down and move their repos.
    pub fn tick(&mut self, now: Duration) -> Vec<Effect> {
        let mut effects = Vec::new();
        for (name, m) in &mut self.members {
            if m.state == NodeState::Up && now.saturating_sub(m.last_seen) > self.config.down_after
            {
                m.state = NodeState::Down;
                effects.push(Effect::NodeDown(name.clone()));
            }
        }
        if !effects.is_empty() {
            effects.extend(self.place());
        }
        effects
    }

    /// Every node ever registered, by name.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// One node.
    pub fn member(&self, name: &NodeId) -> Option<&Member> {
        self.members.get(name)
    }

    /// The shard map.
    pub fn shard_map(&self) -> &ShardMap {
        &self.shards
    }

    /// The shard map, for restoring saved epochs before any node registers.
    pub fn shard_map_mut(&mut self) -> &mut ShardMap {
        &mut self.shards
    }

    /// Every shard.
    pub fn shards(&self) -> Vec<Shard> {
        self.shards.shards()
    }

    fn place(&mut self) -> Vec<Effect> {
        let live: Vec<Weighted> = self
            .members
            .values()
            .filter(|m| m.state == NodeState::Up)
            .map(|m| Weighted {
                name: m.registration.name.clone(),
                capacity: m.registration.capacity,
            })
            .collect();
        self.shards
            .assign(&live)
            .into_iter()
            .map(Effect::Moved)
            .collect()
    }
}
