//! A build-farm node: joins the cluster, heartbeats, learns which repos it owns, and serves
//! requests for its local actors.
//!
//! Owns: the node's QUIC endpoint, its registry of addressable actors, registration and the
//! heartbeat loop. Does not own: membership decisions (the coordinator) or the wire format.

mod agent;
pub mod attempts;
mod contract_checks;
pub mod link;
pub mod memory_link;
pub mod task;
pub mod verify_round;
pub mod workers;

pub use agent::{NODE_TARGET, NodeActor, NodeMsg};
pub use task::WorkConfig;
pub use workers::{REPO_AGENT_TARGET, Role, VERIFIER_TARGET, WorkerActor, WorkerArgs};

use actors::net::{Endpoint, EndpointConfig, Identity, NetError};
use actors::remote::{Quic, Registry, RegistryHandler, RemoteActor, RemoteError};
use actors::supervise::{ChildSpec, RestartPolicy, Supervisor, SupervisorArgs, SupervisorMsg};
use attempts::Grants;
use protocol::{Body, ErrorCode, NodeId, ShardGrant};
use ractor::{Actor, ActorRef};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The coordinator's registry name.
const COORDINATOR: &str = "coordinator";

/// How long registration may take, connecting included.
const REGISTER_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Certificates or the endpoint failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The coordinator refused the connection, most likely our certificate.
    #[error("the coordinator at {addr} refused this node: {detail}")]
    Refused {
        /// The coordinator's address.
        addr: SocketAddr,
        /// Why.
        detail: String,
    },
    /// The node's supervisor did not start.
    #[error("supervisor: {0}")]
    Supervisor(String),
    /// Registration failed.
    #[error("registration with {addr} failed: {source}")]
    Register {
        /// The coordinator's address.
        addr: SocketAddr,
        /// Why.
        source: RemoteError,
    },
}

/// How to run a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Its name: the name of its certificate.
    pub name: String,
    /// Relative capacity, at least 1. Default 1.
    pub capacity: u32,
    /// The coordinator's address.
    pub join: SocketAddr,
    /// The certificate directory.
    pub certs: PathBuf,
    /// UDP address to serve on. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The address it tells the coordinator to reach it on, when not the one it listens on
    /// (a proxy or NAT in between). Default: its listening address.
    pub advertise: Option<SocketAddr>,
    /// The agents it can run. Default `repo-agent`, `verifier`.
    pub agents: Vec<String>,
    /// Placement labels.
    pub labels: BTreeMap<String, String>,
    /// Where repo caches, sandboxes and verification checkouts live.
    pub work_dir: PathBuf,
    /// Command line of the deterministic agent, for tasks whose agent selector is `sim`.
    pub sim_argv: Vec<String>,
    /// Time limit of each repo check (setup, build, test).
    pub check_timeout: Duration,
}

impl NodeConfig {
    /// Defaults for everything but the name, the coordinator and the certificates.
    pub fn new(name: impl Into<String>, join: SocketAddr, certs: PathBuf) -> Self {
        NodeConfig {
            name: name.into(),
            capacity: 1,
            join,
            certs,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            agents: vec!["repo-agent".to_owned(), "verifier".to_owned()],
            labels: BTreeMap::new(),
            work_dir: std::env::temp_dir().join("factory-node"),
            sim_argv: Vec::new(),
            check_timeout: Duration::from_secs(600),
        }
    }
}

/// A running node. Stops heartbeating and serving when dropped.
pub struct Node {
    endpoint: Endpoint,
    registry: Registry,
    shards: watch::Receiver<attempts::Grants>,
    heartbeat: tokio::task::JoinHandle<()>,
    supervisor: ActorRef<SupervisorMsg>,
}

impl Node {
    /// Serve, connect to the coordinator (a refused certificate fails here) and register.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let identity = Identity::load(&config.certs, &config.name)?;
        let registry = Registry::new();
        let (tx, shards) = watch::channel(attempts::Grants::default());
        let work = Arc::new(WorkConfig {
            node: config.name.clone(),
            work_dir: config.work_dir.join(&config.name),
            sim_argv: config.sim_argv.clone(),
            check_timeout: config.check_timeout,
            coordinator: link::CoordinatorLink::default(),
        });
        let link = work.coordinator.clone();
        let supervisor = supervise_node_actors(&registry, shards.clone(), work).await?;
        let joined = Node::join(
            config,
            identity,
            registry,
            (tx, shards),
            supervisor.clone(),
            link,
        )
        .await;
        if joined.is_err() {
            supervisor.stop(None);
        }
        joined
    }

    /// Everything after the supervisor is up: serve, connect, register, heartbeat.
    async fn join(
        config: NodeConfig,
        identity: Identity,
        registry: Registry,
        (tx, shards): (
            watch::Sender<attempts::Grants>,
            watch::Receiver<attempts::Grants>,
        ),
        supervisor: ActorRef<SupervisorMsg>,
        link: link::CoordinatorLink,
    ) -> Result<Node, NodeError> {
        let endpoint = Endpoint::bind(
            EndpointConfig::bind(config.listen),
            identity,
            RegistryHandler(registry.clone()),
        )?;
        let addr = config.join;
        // Before registering: the first task may arrive as soon as the node is granted a repo.
        link.connect(endpoint.clone(), addr);
        match tokio::time::timeout(REGISTER_TIMEOUT, endpoint.peer(addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(NetError::Refused { detail, .. })) => {
                return Err(NodeError::Refused { addr, detail });
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                let detail = "no answer before the deadline".to_owned();
                return Err(NodeError::Register {
                    addr,
                    source: RemoteError::Transport(detail),
                });
            }
        }
        let coordinator = RemoteActor::new(
            Arc::new(Quic {
                endpoint: endpoint.clone(),
                addr,
            }),
            COORDINATOR,
        );
        let register = Body::Register {
            node: NodeId::new(config.name.clone()),
            capacity: config.capacity,
            agents: config.agents.clone(),
            labels: config.labels.clone(),
            addr: match config.advertise {
                Some(addr) => addr,
                None => endpoint.local_addr()?,
            }
            .to_string(),
        };
        let interval = register_once(&coordinator, &register)
            .await
            .map_err(|source| NodeError::Register { addr, source })?;
        let node = NodeId::new(config.name.clone());
        let heartbeat = tokio::spawn(heartbeat_loop(coordinator, node, register, interval, tx));
        Ok(Node {
            endpoint,
            registry,
            shards,
            heartbeat,
            supervisor,
        })
    }

    /// The address it serves on.
    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.endpoint.local_addr()
    }

    /// The registry of this node's addressable actors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The repos it owns, as of the last heartbeat.
    pub fn shards(&self) -> Vec<ShardGrant> {
        self.shards.borrow().shards.clone()
    }

    /// Its endpoint, for calls from this process.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.heartbeat.abort();
        self.endpoint.close();
        self.supervisor.stop(None);
    }
}

/// Start the node's supervision tree; each child registers its current incarnation.
async fn supervise_node_actors(
    registry: &Registry,
    shards: watch::Receiver<attempts::Grants>,
    work: Arc<WorkConfig>,
) -> Result<ActorRef<SupervisorMsg>, NodeError> {
    let on_start = {
        let registry = registry.clone();
        move |actor| registry.register(NODE_TARGET, actor)
    };
    let args = workers::WorkerArgs {
        cfg: work,
        shards: shards.clone(),
        attempts: Arc::new(attempts::Attempts::new()),
    };
    let worker_start = |name: &'static str| {
        let registry = registry.clone();
        move |actor: ActorRef<workers::WorkerMsg>| registry.register(name, actor)
    };
    let args = SupervisorArgs {
        children: vec![
            ChildSpec::actor(NODE_TARGET, NodeActor, shards, on_start),
            ChildSpec::actor(
                REPO_AGENT_TARGET,
                WorkerActor(Role::RepoAgent),
                args.clone(),
                worker_start(REPO_AGENT_TARGET),
            ),
            ChildSpec::actor(
                VERIFIER_TARGET,
                WorkerActor(Role::Verifier),
                args,
                worker_start(VERIFIER_TARGET),
            ),
        ],
        policy: RestartPolicy::default(),
        events: None,
    };
    let (supervisor, _) = Actor::spawn(None, Supervisor, args)
        .await
        .map_err(|e| NodeError::Supervisor(e.to_string()))?;
    Ok(supervisor)
}

/// Register and return the heartbeat interval the coordinator asks for.
async fn register_once(
    coordinator: &RemoteActor,
    register: &Body,
) -> Result<Duration, RemoteError> {
    match coordinator.call(register.clone(), REGISTER_TIMEOUT).await? {
        Body::RegisterAck {
            heartbeat_interval_ms,
            incarnation,
        } => {
            tracing::info!(incarnation, heartbeat_interval_ms, "registered");
            // Never spin: a coordinator asking for 0 ms still gets 50 ms.
            Ok(Duration::from_millis(heartbeat_interval_ms.max(50)))
        }
        other => Err(RemoteError::Refused {
            code: ErrorCode::Malformed,
            detail: format!("expected a register ack, got {}", other.kind()),
        }),
    }
}

/// Heartbeat until dropped. A coordinator that no longer knows us (it restarted, or marked us
/// down) gets a new registration; other failures are logged and retried at the next beat.
async fn heartbeat_loop(
    coordinator: RemoteActor,
    node: NodeId,
    register: Body,
    mut interval: Duration,
    shards: watch::Sender<attempts::Grants>,
) {
    loop {
        tokio::time::sleep(interval).await;
        let asked_at = std::time::Instant::now();
        match coordinator
            .call(Body::Heartbeat { node: node.clone() }, interval)
            .await
        {
            Ok(Body::HeartbeatAck { shards: grants }) => {
                shards.send_modify(
                    |Grants {
                         shards: current,
                         asked_at: asked,
                     }| {
                        *asked = Some(asked_at);
                        for g in grants.iter().filter(|g| !current.contains(g)) {
                            tracing::info!(repo = %g.repo, epoch = %g.epoch, "shard granted");
                        }
                        // Running attempts on these repos step down before they push.
                        for g in current
                            .iter()
                            .filter(|c| !grants.iter().any(|g| g.repo == c.repo))
                        {
                            tracing::info!(repo = %g.repo, epoch = %g.epoch, "shard revoked");
                        }
                        *current = grants;
                    },
                );
            }
            Ok(other) => tracing::warn!(reply = other.kind(), "unexpected heartbeat reply"),
            Err(RemoteError::Refused {
                code: ErrorCode::NotFound,
                ..
            }) => {
                tracing::warn!("coordinator no longer knows this node; registering again");
                match register_once(&coordinator, &register).await {
                    Ok(i) => interval = i,
                    Err(e) => tracing::warn!(error = %e, "registration failed"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}
