//! What travels between the simulated processes, and what the event queue holds.

use coordinator::ids::Epoch;
use coordinator::runs::TaskResult;

/// Who a message is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The coordinator.
    Coordinator,
    /// A node, by index.
    Node(usize),
}

/// What travels between the coordinator and the nodes.
#[derive(Clone, Debug)]
pub enum Msg {
    /// Run one attempt of a task under a shard epoch.
    Dispatch {
        /// Run id.
        run: String,
        /// Task id.
        task: String,
        /// Attempt number.
        attempt: u32,
        /// Shard epoch it was sent under.
        epoch: Epoch,
    },
    /// An attempt's result.
    Result {
        /// Run id.
        run: String,
        /// Task id.
        task: String,
        /// The result, carrying its node, attempt and epoch.
        result: Box<TaskResult>,
    },
    /// Node -> coordinator liveness.
    Heartbeat(usize),
    /// Coordinator -> node: whether the heartbeat was from a registered, up node.
    HeartbeatReply {
        /// False means "register again".
        registered: bool,
    },
    /// Node -> coordinator: join or rejoin.
    Register(usize),
}

/// An attempt as a node knows it: run, task, attempt, epoch.
pub type ExecKey = (String, String, u32, Epoch);

/// Something due at a virtual time.
#[derive(Clone, Debug)]
pub enum Event {
    /// A message arrives.
    Deliver {
        /// Recipient.
        to: Endpoint,
        /// The message.
        msg: Msg,
    },
    /// The coordinator's clock tick.
    Tick,
    /// A node's heartbeat timer.
    HeartbeatTimer(usize),
    /// A node finished an attempt (unless it crashed since: `incarnation`).
    TaskDone {
        /// Node index.
        node: usize,
        /// The node's incarnation when it started.
        incarnation: u64,
        /// The attempt.
        key: ExecKey,
    },
    /// A client submits run `i` (retried while the coordinator is down).
    Submit(usize),
    /// The planner answered (lost if the coordinator restarted since).
    PlanDone(usize, u64),
    /// The verifier answered.
    VerifyDone(usize, u64),
    /// The bundle is written.
    BundleDone(usize, u64),
    /// Scheduled fault `i` begins.
    FaultStart(usize),
    /// Scheduled fault `i` ends.
    FaultEnd(usize),
    /// Every fault heals; from now on the liveness clock runs.
    FaultsStop,
}
