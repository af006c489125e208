//! Payload types of the cluster messages: registration, heartbeats, status.

use crate::ids::{Epoch, NodeId, RepoName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A repo a node owns, at the shard's epoch. Messages about the repo carry this epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardGrant {
    /// The repo.
    pub repo: RepoName,
    /// The shard's current epoch.
    pub epoch: Epoch,
}

/// One node in a [`Body::StatusReply`](crate::Body::StatusReply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's name.
    pub name: NodeId,
    /// `true` while it heartbeats within the bound.
    pub up: bool,
    /// Its registered capacity.
    pub capacity: u32,
    /// Milliseconds since the coordinator last heard from it.
    pub last_seen_ms_ago: u64,
    /// The address it registered.
    pub addr: String,
    /// The agents it can run.
    pub agents: Vec<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The repos it owns now.
    pub shards: Vec<ShardGrant>,
}

/// One repo in a [`Body::StatusReply`](crate::Body::StatusReply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStatus {
    /// The repo.
    pub repo: RepoName,
    /// Its owner, if any node is up.
    pub owner: Option<NodeId>,
    /// The shard's epoch.
    pub epoch: Epoch,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Body, DEFAULT_MAX_FRAME, Envelope, decode_frame, encode_frame};

    fn check(body: Body) {
        let env = Envelope::request("coordinator", 1, body).with_epoch(Epoch(3));
        let bytes = encode_frame(&env, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(decode_frame(&bytes, DEFAULT_MAX_FRAME).unwrap(), env);
    }

    #[test]
    fn cluster_messages_round_trip() {
        let grant = ShardGrant {
            repo: RepoName::new("api"),
            epoch: Epoch(2),
        };
        check(Body::Register {
            node: NodeId::new("n1"),
            capacity: 4,
            agents: vec!["repo-agent".into()],
            labels: BTreeMap::from([("zone".into(), "a".into())]),
            addr: "127.0.0.1:9".into(),
        });
        check(Body::HeartbeatAck {
            shards: vec![grant.clone()],
        });
        check(Body::StatusRequest {});
        check(Body::StatusReply {
            nodes: vec![NodeStatus {
                name: NodeId::new("n1"),
                up: true,
                capacity: 1,
                last_seen_ms_ago: 5,
                addr: String::new(),
                agents: vec![],
                labels: BTreeMap::new(),
                shards: vec![grant],
            }],
            shards: vec![ShardStatus {
                repo: RepoName::new("api"),
                owner: None,
                epoch: Epoch(1),
            }],
        });
        check(Body::RepoUpdate {
            repo: RepoName::new("api"),
            detail: "built".into(),
        });
        check(Body::Ack {});
    }
}
