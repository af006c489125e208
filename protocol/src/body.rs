//! Message bodies: one typed enum for everything that crosses the wire.
//!
//! Variants use named fields so the MessagePack encoding is a map and new optional fields can be
//! added without breaking older readers. Add new messages as new variants at the end.

use crate::cluster::{NodeStatus, ShardGrant, ShardStatus};
use crate::ids::{NodeId, RepoName};
use crate::memory::{FactView, MemoryQuery, MemoryRecord, MemoryRecorded};
use crate::outcome::Outcome;
use crate::run::{RunRecord, TaskAssignment, TaskDone, VerifyDone, VerifyRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of an [`Envelope`](crate::Envelope).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// The first request on every connection: who is calling and which protocol versions it speaks.
    Hello {
        /// The caller's node name; must match the name in its certificate.
        node: NodeId,
        /// Protocol versions the caller can speak.
        protocol_versions: Vec<u16>,
    },
    /// The reply to [`Body::Hello`].
    HelloAck {
        /// The answering node's name.
        node: NodeId,
    },
    /// A failure reply.
    Error {
        /// What went wrong, as a code the caller can act on.
        code: ErrorCode,
        /// Human-readable detail for logs; callers must not parse it.
        detail: String,
    },
    /// Liveness probe; the answer echoes the payload.
    Ping {
        /// Opaque bytes to echo.
        payload: Vec<u8>,
    },
    /// The reply to [`Body::Ping`].
    Pong {
        /// The bytes from the ping.
        payload: Vec<u8>,
    },
    /// A node joins the cluster (node -> coordinator). The node name must match the caller's
    /// certificate.
    Register {
        /// The node's name.
        node: NodeId,
        /// Relative capacity, at least 1.
        capacity: u32,
        /// The kinds of agents it can run.
        agents: Vec<String>,
        /// Placement labels.
        labels: BTreeMap<String, String>,
        /// The address it serves on.
        addr: String,
    },
    /// The reply to [`Body::Register`].
    RegisterAck {
        /// How often the node must heartbeat.
        heartbeat_interval_ms: u64,
        /// The registration's number; rises with each registration of the same name.
        incarnation: u64,
    },
    /// A node is alive (node -> coordinator).
    Heartbeat {
        /// The node's name.
        node: NodeId,
    },
    /// The reply to [`Body::Heartbeat`]: the repos the node owns now, with their epochs.
    HeartbeatAck {
        /// The node's shards.
        shards: Vec<ShardGrant>,
    },
    /// Ask the coordinator for the cluster's state.
    StatusRequest {},
    /// The reply to [`Body::StatusRequest`].
    StatusReply {
        /// Every node ever registered.
        nodes: Vec<NodeStatus>,
        /// Every repo.
        shards: Vec<ShardStatus>,
    },
    /// A node reports on a repo it owns (node -> coordinator). The envelope must carry the
    /// shard's epoch; an older one is refused with [`ErrorCode::StaleEpoch`].
    RepoUpdate {
        /// The repo.
        repo: RepoName,
        /// What happened, for the coordinator's log.
        detail: String,
    },
    /// A bare acknowledgement.
    Ack {},
    /// Coordinator -> node: run one attempt of a task. Reply: [`Body::TaskDone`].
    RunTask {
        /// The task and where to run it.
        assignment: Box<TaskAssignment>,
    },
    /// The result of a task attempt.
    TaskDone {
        /// Result and artifacts.
        done: Box<TaskDone>,
    },
    /// Coordinator -> node: verify repos together. Reply: [`Body::VerifyDone`].
    Verify {
        /// What to verify.
        request: Box<VerifyRequest>,
    },
    /// What a verification round found.
    VerifyDone {
        /// Findings, report and artifacts.
        done: Box<VerifyDone>,
    },
    /// Client -> coordinator: submit an outcome. Reply: [`Body::Submitted`].
    Submit {
        /// What is asked.
        outcome: Outcome,
    },
    /// The run id of a submitted outcome; the outcome is stored durably before this is sent.
    Submitted {
        /// Run id.
        run_id: String,
    },
    /// Client -> coordinator: one run's record. Reply: [`Body::Run`].
    GetRun {
        /// Run id.
        run_id: String,
    },
    /// A run's record.
    Run {
        /// The record.
        run: Box<RunRecord>,
    },
    /// Client -> coordinator: every run, oldest first. Reply: [`Body::Runs`].
    ListRuns,
    /// Every run.
    Runs {
        /// The records.
        runs: Vec<RunRecord>,
    },
    /// Node -> coordinator: what Memory knows. Reply: [`Body::MemoryFacts`].
    MemoryQuery {
        /// The question.
        query: MemoryQuery,
    },
    /// Facts, most confident first.
    MemoryFacts {
        /// The facts.
        facts: Vec<FactView>,
    },
    /// Node -> coordinator: record observations about a repo it owns. The envelope must carry
    /// the shard epoch; a stale one is refused with [`ErrorCode::StaleEpoch`], a node that does
    /// not own the repo with [`ErrorCode::Unauthorized`]. Reply: [`Body::MemoryRecorded`].
    MemoryRecord {
        /// The observations.
        record: Box<MemoryRecord>,
    },
    /// What a record did.
    MemoryRecorded {
        /// Counts.
        summary: MemoryRecorded,
    },
}

/// Error codes that cross the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The frame could not be decoded.
    Malformed,
    /// The frame was larger than the receiver accepts.
    TooLarge,
    /// The envelope's protocol version is not spoken here.
    UnsupportedVersion,
    /// The request's deadline had passed before it could be answered.
    DeadlineExceeded,
    /// The caller is not allowed to do this.
    Unauthorized,
    /// The request carried an epoch older than the receiver's.
    StaleEpoch,
    /// No actor at the target address, or no such object.
    NotFound,
    /// The receiver failed while handling the request.
    Internal,
    /// The receiver is overloaded; retry later.
    Busy,
}

impl Body {
    /// A short, low-cardinality name of the variant, for logs and span fields.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Hello { .. } => "hello",
            Body::HelloAck { .. } => "hello_ack",
            Body::Error { .. } => "error",
            Body::Ping { .. } => "ping",
            Body::Pong { .. } => "pong",
            Body::Register { .. } => "register",
            Body::RegisterAck { .. } => "register_ack",
            Body::Heartbeat { .. } => "heartbeat",
            Body::HeartbeatAck { .. } => "heartbeat_ack",
            Body::StatusRequest { .. } => "status_request",
            Body::StatusReply { .. } => "status_reply",
            Body::RepoUpdate { .. } => "repo_update",
            Body::Ack { .. } => "ack",
            Body::RunTask { .. } => "run_task",
            Body::TaskDone { .. } => "task_done",
            Body::Verify { .. } => "verify",
            Body::VerifyDone { .. } => "verify_done",
            Body::Submit { .. } => "submit",
            Body::Submitted { .. } => "submitted",
            Body::GetRun { .. } => "get_run",
            Body::Run { .. } => "run",
            Body::ListRuns => "list_runs",
            Body::Runs { .. } => "runs",
            Body::MemoryQuery { .. } => "memory_query",
            Body::MemoryFacts { .. } => "memory_facts",
            Body::MemoryRecord { .. } => "memory_record",
            Body::MemoryRecorded { .. } => "memory_recorded",
        }
    }

    /// Shorthand for an error body.
    pub fn error(code: ErrorCode, detail: impl Into<String>) -> Self {
        Body::Error {
            code,
            detail: detail.into(),
        }
    }
}
