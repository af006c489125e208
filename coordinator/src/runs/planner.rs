//! The Planner actor: the pure planner (`actors::plan`) behind a supervised ractor actor, so a
//! panic while planning one outcome restarts the planner with backoff instead of taking the
//! coordinator down; the run whose plan crashed gets an error and fails cleanly.

use std::sync::{Arc, Mutex};

use actors::org::Org;
use actors::plan::{self, Fact, Plan};
use actors::supervise::{ChildSpec, RestartPolicy, Supervisor, SupervisorArgs};
use protocol::outcome::Outcome;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

/// Messages to the planner.
pub enum PlannerMsg {
    /// Plan an outcome against the org with what Memory knows.
    Plan(Box<Outcome>, Vec<Fact>, RpcReplyPort<Result<Plan, String>>),
}

/// The planner actor; its state is the org it plans against.
#[derive(Clone)]
pub struct PlannerActor;

impl Actor for PlannerActor {
    type Msg = PlannerMsg;
    type State = Arc<Org>;
    type Arguments = Arc<Org>;

    async fn pre_start(
        &self,
        _myself: ActorRef<PlannerMsg>,
        org: Arc<Org>,
    ) -> Result<Arc<Org>, ActorProcessingErr> {
        Ok(org)
    }

    async fn handle(
        &self,
        _myself: ActorRef<PlannerMsg>,
        msg: PlannerMsg,
        org: &mut Arc<Org>,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            PlannerMsg::Plan(outcome, facts, reply) => {
                let planned = plan::plan(org, &outcome, &facts).map_err(|e| e.to_string());
                let _ = reply.send(planned);
            }
        }
        Ok(())
    }
}

/// The current planner incarnation (it changes when the supervisor restarts it).
#[derive(Clone, Default)]
pub struct PlannerHandle(Arc<Mutex<Option<ActorRef<PlannerMsg>>>>);

impl PlannerHandle {
    /// Start the planner under its own supervisor.
    pub async fn start(org: Org) -> Result<PlannerHandle, String> {
        let handle = PlannerHandle::default();
        let slot = handle.0.clone();
        let on_start = move |actor: ActorRef<PlannerMsg>| {
            if let Ok(mut s) = slot.lock() {
                *s = Some(actor);
            }
        };
        let args = SupervisorArgs {
            children: vec![ChildSpec::actor(
                "planner",
                PlannerActor,
                Arc::new(org),
                on_start,
            )],
            policy: RestartPolicy::default(),
            events: None,
        };
        Actor::spawn(None, Supervisor, args)
            .await
            .map_err(|e| e.to_string())?;
        Ok(handle)
    }

    /// Plan an outcome; an error if the planner is restarting or crashed on this outcome.
    pub async fn plan(&self, outcome: Outcome, facts: Vec<Fact>) -> Result<Plan, String> {
        let actor = self
            .0
            .lock()
            .map_err(|_| "planner handle poisoned".to_string())?
            .clone();
        let actor = actor.ok_or("the planner is restarting")?;
        match ractor::call_t!(actor, PlannerMsg::Plan, 30_000, Box::new(outcome), facts) {
            Ok(result) => result,
            Err(e) => Err(format!("the planner failed on this outcome: {e}")),
        }
    }
}
