//! The node's line to the coordinator for work in progress: Memory (context before an agent
//! runs, check facts after) and the confirmation an attempt needs before it pushes.
//!
//! Memory is advice, not a step: when it cannot be reached the task goes on without it and the
//! node logs why. A record is sent under the shard epoch of the attempt, so the coordinator drops
//! what a node says about a repo it no longer owns. Ownership is not advice: an attempt that
//! cannot confirm it still owns its repo does not push (see [`CoordinatorLink::confirm_owner`]).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actors::net::Endpoint;
use actors::remote::{Quic, RemoteActor, RemoteError};
use protocol::memory::{FactView, MemoryQuery, MemoryRecord, MemoryRecorded};
use protocol::targets::{COORDINATOR, MEMORY};
use protocol::{Body, Epoch, NodeId};

/// How long a Memory call may take before the task goes on without it.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How many facts a task's prompt gets at most.
pub const CONTEXT_FACTS: u32 = 20;
/// How long one ownership question may wait for its answer before it is asked again.
const CONFIRM_CALL_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause between ownership questions the coordinator could not answer.
const CONFIRM_RETRY: Duration = Duration::from_millis(200);

/// A handle to the coordinator for work in progress; cheap to clone, connected once the node has
/// joined.
#[derive(Clone, Default)]
pub struct CoordinatorLink(Arc<OnceLock<(Endpoint, SocketAddr)>>);

impl std::fmt::Debug for CoordinatorLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.get() {
            Some((_, addr)) => write!(f, "CoordinatorLink({addr})"),
            None => f.write_str("CoordinatorLink(not connected)"),
        }
    }
}

impl CoordinatorLink {
    /// A link that calls the coordinator at `addr` through `endpoint`.
    pub fn connected(endpoint: Endpoint, addr: SocketAddr) -> Self {
        let link = CoordinatorLink::default();
        link.connect(endpoint, addr);
        link
    }

    /// Connect it; later calls are ignored (a node joins one coordinator).
    pub fn connect(&self, endpoint: Endpoint, addr: SocketAddr) {
        let _ = self.0.set((endpoint, addr));
    }

    fn actor(&self, target: &str, epoch: Option<u64>) -> Result<RemoteActor, String> {
        let (endpoint, addr) = self
            .0
            .get()
            .ok_or("the node has not joined a coordinator")?;
        let actor = RemoteActor::new(
            Arc::new(Quic {
                endpoint: endpoint.clone(),
                addr: *addr,
            }),
            target,
        );
        Ok(match epoch {
            Some(e) => actor.with_epoch(Epoch(e)),
            None => actor,
        })
    }

    /// Open facts about `repo` and these contracts, most confident first.
    pub async fn context(
        &self,
        repo: &str,
        contracts: Vec<String>,
    ) -> Result<Vec<FactView>, String> {
        let query = MemoryQuery {
            repos: vec![repo.to_owned()],
            contracts,
            limit: CONTEXT_FACTS,
        };
        match self
            .actor(MEMORY, None)?
            .call(Body::MemoryQuery { query }, CALL_TIMEOUT)
            .await
        {
            Ok(Body::MemoryFacts { facts }) => Ok(facts),
            Ok(other) => Err(format!("memory answered {}", other.kind())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Record observations about a repo this node holds at `epoch`.
    pub async fn record(&self, epoch: u64, record: MemoryRecord) -> Result<MemoryRecorded, String> {
        let body = Body::MemoryRecord {
            record: Box::new(record),
        };
        match self
            .actor(MEMORY, Some(epoch))?
            .call(body, CALL_TIMEOUT)
            .await
        {
            Ok(Body::MemoryRecorded { summary }) => Ok(summary),
            Ok(other) => Err(format!("memory answered {}", other.kind())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Wait until the coordinator confirms that `node` still owns `repo` at `epoch`: `Ok` when a
    /// heartbeat answered now lists it at that epoch, `Err` with the reason when it lists another
    /// epoch or not at all, or when no answer came before `deadline`.
    ///
    /// The heartbeat loop's grants may be old: a node cut off from the coordinator keeps the last
    /// grants it heard while the repo moves on without it. Asking afresh before a push is what
    /// keeps a partitioned node from pushing over its successor; while the coordinator cannot be
    /// reached (a partition, a restart) the attempt waits rather than guessing.
    pub async fn confirm_owner(
        &self,
        node: &NodeId,
        repo: &str,
        epoch: u64,
        deadline: Instant,
    ) -> Result<(), String> {
        let coordinator = self.actor(COORDINATOR, None)?;
        let mut last = String::from("no answer yet");
        let mut logged = false;
        while Instant::now() < deadline {
            let ask = Body::Heartbeat { node: node.clone() };
            match coordinator.call(ask, CONFIRM_CALL_TIMEOUT).await {
                Ok(Body::HeartbeatAck { shards }) => {
                    return match shards.iter().find(|g| g.repo.as_str() == repo) {
                        Some(g) if g.epoch.0 == epoch => Ok(()),
                        Some(g) => Err(format!(
                            "{repo} is at epoch {} now, this attempt ran under {epoch}",
                            g.epoch.0
                        )),
                        None => Err(format!(
                            "{repo} is no longer granted to this node (attempt ran under epoch {epoch})"
                        )),
                    };
                }
                Ok(other) => last = format!("the coordinator answered {}", other.kind()),
                // Not known (restarted, or it marked this node down): the heartbeat loop
                // registers again, then the question has an answer.
                Err(RemoteError::Refused { detail, .. }) => last = detail,
                Err(e) => last = e.to_string(),
            }
            if !logged {
                tracing::warn!(%repo, epoch, reason = %last, "cannot confirm the repo is still ours; holding the push");
                logged = true;
            }
            tokio::time::sleep(CONFIRM_RETRY).await;
        }
        Err(format!(
            "could not confirm with the coordinator that {repo} is still ours at epoch {epoch}: {last}"
        ))
    }
}
