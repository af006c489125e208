//! The coordinator actor: a thin shell around [`Membership`] that answers the cluster messages,
//! runs the clock and logs the effects.

use crate::ids::{Epoch, NodeId, RepoName};
use crate::membership::{
    Effect, Membership, MembershipConfig, MembershipError, NodeState, Registration,
};
use crate::shards::FenceError;
use crate::state;
use actors::remote::Inbound;
use protocol::{Body, ErrorCode, NodeStatus, ShardGrant, ShardStatus};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The registry name nodes address the coordinator by.
pub const TARGET: &str = "coordinator";

/// How often the coordinator checks for silent nodes; adds at most this to the failure bound.
pub const TICK: Duration = Duration::from_millis(100);

/// Messages to the coordinator actor.
pub enum CoordinatorMsg {
    /// A request from a node or a client (boxed: it is much larger than a tick).
    Remote(Box<Inbound>),
    /// The clock moved.
    Tick,
    /// Which live node owns a repo now, where it listens, and the shard's epoch.
    Owner(RepoName, RpcReplyPort<Option<Placement>>),
    /// Whether a result from `node` under `epoch` for a repo may still be accepted.
    Fence(
        RepoName,
        Epoch,
        NodeId,
        RpcReplyPort<Result<(), FenceError>>,
    ),
    /// Live nodes and their addresses, best ranked for a repo first.
    Ranked(RepoName, RpcReplyPort<Vec<Placement>>),
}

/// Where a repo's work goes: its owner node, the node's address and the shard epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The owning node.
    pub node: NodeId,
    /// The node's QUIC address.
    pub addr: String,
    /// The shard's epoch.
    pub epoch: Epoch,
}

impl From<Inbound> for CoordinatorMsg {
    fn from(inbound: Inbound) -> Self {
        CoordinatorMsg::Remote(Box::new(inbound))
    }
}

/// Start-up arguments.
pub struct CoordinatorArgs {
    /// The repos to shard.
    pub repos: Vec<RepoName>,
    /// Failure detection timing.
    pub membership: MembershipConfig,
    /// Where shard epochs are saved, if anywhere.
    pub state_dir: Option<PathBuf>,
}

/// The coordinator actor.
pub struct CoordinatorActor;

/// Its state.
pub struct CoordinatorState {
    membership: Membership,
    started: Instant,
    state_dir: Option<PathBuf>,
}

impl CoordinatorState {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Log effects and save epochs after moves.
    fn apply(&self, effects: &[Effect]) {
        let mut moved = false;
        for effect in effects {
            match effect {
                Effect::NodeUp(node) => tracing::info!(%node, "node up"),
                Effect::NodeDown(node) => tracing::warn!(%node, "node down"),
                Effect::Moved(m) => {
                    moved = true;
                    let show =
                        |n: &Option<NodeId>| n.as_ref().map_or("-".to_owned(), |n| n.to_string());
                    tracing::info!(repo = %m.repo, from = %show(&m.from), to = %show(&m.to), epoch = %m.epoch, "shard moved");
                }
            }
        }
        if let (true, Some(dir)) = (moved, &self.state_dir) {
            let epochs: BTreeMap<RepoName, Epoch> = self
                .membership
                .shards()
                .into_iter()
                .map(|s| (s.repo, s.epoch))
                .collect();
            if let Err(e) = state::save_epochs(dir, &epochs) {
                tracing::error!(error = %e, "could not save shard epochs");
            }
        }
    }

    fn answer(&mut self, inbound: &Inbound) -> Body {
        let from = &inbound.from;
        match &inbound.envelope.body {
            Body::Register {
                node,
                capacity,
                agents,
                labels,
                addr,
            } => {
                if node != from {
                    return not_you(from, node);
                }
                let registration = Registration {
                    name: node.clone(),
                    capacity: *capacity,
                    agents: agents.clone(),
                    labels: labels.clone(),
                    addr: addr.clone(),
                };
                match self.membership.register(self.now(), registration) {
                    Ok(effects) => {
                        self.apply(&effects);
                        let incarnation = self.membership.member(node).map_or(0, |m| m.incarnation);
                        let interval = self.membership.config().heartbeat_interval;
                        Body::RegisterAck {
                            heartbeat_interval_ms: interval.as_millis() as u64,
                            incarnation,
                        }
                    }
                    Err(e) => Body::error(ErrorCode::Malformed, e.to_string()),
                }
            }
            Body::Heartbeat { node } => {
                if node != from {
                    return not_you(from, node);
                }
                match self.membership.heartbeat(self.now(), node) {
                    Ok(()) => Body::HeartbeatAck {
                        shards: self.grants(node),
                    },
                    Err(e @ MembershipError::NotRegistered(_)) => {
                        Body::error(ErrorCode::NotFound, e.to_string())
                    }
                    Err(e) => Body::error(ErrorCode::Malformed, e.to_string()),
                }
            }
            Body::StatusRequest {} => self.status(),
            Body::RepoUpdate { repo, detail } => self.repo_update(inbound, repo, detail),
            other => Body::error(
                ErrorCode::NotFound,
                format!("the coordinator does not handle {}", other.kind()),
            ),
        }
    }

    fn repo_update(&self, inbound: &Inbound, repo: &RepoName, detail: &str) -> Body {
        let from = &inbound.from;
        let Some(epoch) = inbound.envelope.epoch else {
            return Body::error(
                ErrorCode::Malformed,
                "a repo update must carry the shard epoch",
            );
        };
        match self.membership.shard_map().fence(repo, epoch, from) {
            Ok(()) => {
                tracing::info!(%repo, node = %from, %epoch, detail, "repo update");
                Body::Ack {}
            }
            Err(e @ FenceError::Stale { .. }) => {
                tracing::warn!(%repo, node = %from, %epoch, error = %e, "refused message with stale epoch");
                Body::error(ErrorCode::StaleEpoch, e.to_string())
            }
            Err(e @ FenceError::NotOwner { .. }) => {
                tracing::warn!(%repo, node = %from, %epoch, error = %e, "refused message from a non-owner");
                Body::error(ErrorCode::Unauthorized, e.to_string())
            }
            Err(e @ FenceError::UnknownRepo(_)) => Body::error(ErrorCode::NotFound, e.to_string()),
        }
    }

    fn placement(&self, repo: &RepoName) -> Option<Placement> {
        let shard = self.membership.shard_map().shard(repo)?;
        let node = shard.owner?;
        let member = self
            .membership
            .member(&node)
            .filter(|m| m.state == NodeState::Up)?;
        Some(Placement {
            addr: member.registration.addr.clone(),
            node,
            epoch: shard.epoch,
        })
    }

    fn ranked(&self, repo: &RepoName) -> Vec<Placement> {
        let epoch = self
            .membership
            .shard_map()
            .shard(repo)
            .map(|s| s.epoch)
            .unwrap_or(Epoch(0));
        self.membership
            .shard_map()
            .ranked(repo)
            .into_iter()
            .filter_map(|node| {
                let m = self
                    .membership
                    .member(&node)
                    .filter(|m| m.state == NodeState::Up)?;
                Some(Placement {
                    addr: m.registration.addr.clone(),
                    node,
                    epoch,
                })
            })
            .collect()
    }

    fn grants(&self, node: &NodeId) -> Vec<ShardGrant> {
        self.membership
            .shards()
            .into_iter()
            .filter(|s| s.owner.as_ref() == Some(node))
            .map(|s| ShardGrant {
                repo: s.repo,
                epoch: s.epoch,
            })
            .collect()
    }

    fn status(&self) -> Body {
        let now = self.now();
        let nodes = self
            .membership
            .members()
            .map(|m| NodeStatus {
                name: m.registration.name.clone(),
                up: m.state == NodeState::Up,
                capacity: m.registration.capacity,
                last_seen_ms_ago: now.saturating_sub(m.last_seen).as_millis() as u64,
                addr: m.registration.addr.clone(),
                agents: m.registration.agents.clone(),
                labels: m.registration.labels.clone(),
                shards: self.grants(&m.registration.name),
            })
            .collect();
        let shards = self
            .membership
            .shards()
            .into_iter()
            .map(|s| ShardStatus {
                repo: s.repo,
                owner: s.owner,
                epoch: s.epoch,
            })
            .collect();
        Body::StatusReply { nodes, shards }
    }
}

/// The caller asked about a node other than the one its certificate names.
fn not_you(from: &NodeId, node: &NodeId) -> Body {
    tracing::warn!(peer = %from, claimed = %node, "refused a node speaking for another");
    Body::error(
        ErrorCode::Unauthorized,
        format!("certificate names {from}, not {node}"),
    )
}

impl Actor for CoordinatorActor {
    type Msg = CoordinatorMsg;
    type State = CoordinatorState;
    type Arguments = CoordinatorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<CoordinatorMsg>,
        args: CoordinatorArgs,
    ) -> Result<CoordinatorState, ActorProcessingErr> {
        let mut membership = Membership::new(args.membership, args.repos);
        if let Some(dir) = &args.state_dir {
            for (repo, epoch) in state::load_epochs(dir)? {
                membership.shard_map_mut().restore_epoch(&repo, epoch);
            }
        }
        myself.send_interval(TICK, || CoordinatorMsg::Tick);
        Ok(CoordinatorState {
            membership,
            started: Instant::now(),
            state_dir: args.state_dir,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<CoordinatorMsg>,
        message: CoordinatorMsg,
        state: &mut CoordinatorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CoordinatorMsg::Remote(inbound) => {
                let body = state.answer(&inbound);
                let _ = inbound.reply.send(body);
            }
            CoordinatorMsg::Tick => {
                let effects = state.membership.tick(state.now());
                state.apply(&effects);
            }
            CoordinatorMsg::Owner(repo, reply) => {
                let _ = reply.send(state.placement(&repo));
            }
            CoordinatorMsg::Fence(repo, epoch, node, reply) => {
                let verdict = state.membership.shard_map().fence(&repo, epoch, &node);
                let _ = reply.send(verdict);
            }
            CoordinatorMsg::Ranked(repo, reply) => {
                let _ = reply.send(state.ranked(&repo));
            }
        }
        Ok(())
    }
}
