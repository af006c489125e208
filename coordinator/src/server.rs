//! Running a coordinator: the actor, a registry that exposes it, and a QUIC endpoint.

use crate::ids::RepoName;
use crate::membership::MembershipConfig;
use crate::runs::RunConfig;
use crate::runs::RunService;
use crate::runs::memory_rpc::Memory;
use crate::runs::rpc::{Face, FaceMsg, Runs};
use crate::service::{CoordinatorActor, CoordinatorArgs, CoordinatorMsg, TARGET};
use actors::net::{Endpoint, EndpointConfig, Identity, NetError};
use actors::remote::{Registry, RegistryHandler};
use ractor::{Actor, ActorRef};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors starting a coordinator.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// Certificates or the endpoint failed.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The actor did not start (e.g. its state directory is unreadable).
    #[error("coordinator actor: {0}")]
    Spawn(String),
}

/// How to run a coordinator.
#[derive(Clone, Debug)]
pub struct CoordinatorConfig {
    /// UDP address to serve on; port 0 picks one.
    pub listen: SocketAddr,
    /// The certificate directory (`ca.pem`, `<name>.pem`, `<name>.key`).
    pub certs: PathBuf,
    /// The name of its certificate. Default `coordinator`.
    pub name: String,
    /// The repos to shard.
    pub repos: Vec<RepoName>,
    /// Where to keep shard epochs across restarts.
    pub state_dir: Option<PathBuf>,
    /// Failure detection timing.
    pub membership: MembershipConfig,
    /// The run service, when this coordinator runs outcomes (its org's repos are sharded too).
    pub runs: Option<RunConfig>,
}

impl CoordinatorConfig {
    /// Defaults for everything but the address and the certificates.
    pub fn new(listen: SocketAddr, certs: PathBuf) -> Self {
        CoordinatorConfig {
            listen,
            certs,
            name: "coordinator".to_owned(),
            repos: Vec::new(),
            state_dir: None,
            membership: MembershipConfig::default(),
            runs: None,
        }
    }
}

/// A running coordinator. Stops when dropped.
pub struct Coordinator {
    endpoint: Endpoint,
    actor: ActorRef<CoordinatorMsg>,
    runs: Option<RunService>,
    runs_actor: Option<ActorRef<FaceMsg>>,
    memory_actor: Option<ActorRef<FaceMsg>>,
}

impl Coordinator {
    /// Load the certificate, start the actor and serve.
    pub async fn start(config: CoordinatorConfig) -> Result<Coordinator, CoordinatorError> {
        let identity = Identity::load(&config.certs, &config.name)?;
        let mut repos = config.repos;
        if let Some(runs) = &config.runs {
            for r in &runs.org.repos {
                let name = RepoName::new(r.name.clone());
                if !repos.contains(&name) {
                    repos.push(name);
                }
            }
        }
        let args = CoordinatorArgs {
            repos,
            membership: config.membership,
            state_dir: config.state_dir,
        };
        let (actor, _) = Actor::spawn(None, CoordinatorActor, args)
            .await
            .map_err(|e| CoordinatorError::Spawn(e.to_string()))?;
        let registry = Registry::new();
        registry.register(TARGET, actor.clone());
        let endpoint = match Endpoint::bind(
            EndpointConfig::bind(config.listen),
            identity,
            RegistryHandler(registry.clone()),
        ) {
            Ok(endpoint) => endpoint,
            Err(e) => {
                actor.stop(None);
                return Err(e.into());
            }
        };
        let mut coordinator = Coordinator {
            endpoint,
            actor,
            runs: None,
            runs_actor: None,
            memory_actor: None,
        };
        if let Some(cfg) = config.runs {
            let service =
                RunService::start(cfg, coordinator.endpoint.clone(), coordinator.actor.clone())
                    .await
                    .map_err(|e| CoordinatorError::Spawn(format!("run service: {e}")))?;
            let (runs_actor, _) = Actor::spawn(None, Face::<Runs>::new(), service.clone())
                .await
                .map_err(|e| CoordinatorError::Spawn(e.to_string()))?;
            registry.register(protocol::targets::RUNS, runs_actor.clone());
            let (memory_actor, _) = Actor::spawn(None, Face::<Memory>::new(), service.clone())
                .await
                .map_err(|e| CoordinatorError::Spawn(e.to_string()))?;
            registry.register(protocol::targets::MEMORY, memory_actor.clone());
            coordinator.memory_actor = Some(memory_actor);
            coordinator.runs = Some(service);
            coordinator.runs_actor = Some(runs_actor);
        }
        Ok(coordinator)
    }

    /// The address it serves on.
    pub fn local_addr(&self) -> Result<SocketAddr, CoordinatorError> {
        Ok(self.endpoint.local_addr()?)
    }

    /// The run service, if this coordinator runs outcomes.
    pub fn runs(&self) -> Option<&RunService> {
        self.runs.as_ref()
    }

    /// Its endpoint, to make calls from the same process.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.endpoint.close();
        self.actor.stop(None);
        if let Some(a) = &self.runs_actor {
            a.stop(None);
        }
        if let Some(a) = &self.memory_actor {
            a.stop(None);
        }
    }
}
