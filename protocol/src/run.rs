//! The durable shape of a run: what the store writes and what `factory runs` shows.

use crate::outcome::{FindingNote, Outcome, TaskRole};
use serde::{Deserialize, Serialize};

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Stored; nothing else happened yet.
    Submitted,
    /// The planner produced a plan.
    Planned,
    /// Agents are changing repos.
    Changing,
    /// The verifier is checking the changed system.
    Verifying,
    /// The bundle is written.
    Delivered,
    /// The run stopped on an error it records.
    Failed,
}

impl RunStatus {
    /// A finished run changes no more.
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Delivered | RunStatus::Failed)
    }
}

/// Limits a run must stay within.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunBudget {
    /// Attempts per task, the first one included.
    pub max_attempts_per_task: u32,
    /// Verification rounds for the whole run.
    pub max_verify_rounds: u32,
    /// Cost of all agents of the run together, in US dollars.
    pub max_cost_usd: f64,
    /// Time one agent invocation may take, in seconds.
    pub agent_timeout_secs: u64,
    /// Cost one agent invocation may report, in US dollars.
    pub agent_max_cost_usd: f64,
}

impl Default for RunBudget {
    fn default() -> Self {
        RunBudget {
            max_attempts_per_task: 3,
            max_verify_rounds: 6,
            max_cost_usd: 5.0,
            agent_timeout_secs: 600,
            agent_max_cost_usd: 2.0,
        }
    }
}

/// Where one task is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for the tasks it depends on to be verified.
    Waiting,
    /// Sent to a node.
    Running {
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// The agent finished and the repo's own checks passed; not yet verified across repos.
    Changed,
    /// Verified across repos.
    Verified,
    /// Gave up on it.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One task of a run, as the run machine tracks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task id from the plan, e.g. `backend:change`.
    pub id: String,
    /// Repo the task changes.
    pub repo: String,
    /// Role of the repo in the change.
    pub role: TaskRole,
    /// Tasks that must be verified before this one starts.
    pub depends_on: Vec<String>,
    /// Instructions for the agent.
    pub instructions: String,
    /// Current state.
    pub state: TaskState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Findings to hand the agent on its next attempt.
    pub findings: Vec<FindingNote>,
    /// Results of every attempt, oldest first.
    pub results: Vec<TaskResult>,
}

/// What a node reports for one attempt of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Attempt number.
    pub attempt: u32,
    /// Node that ran it.
    pub node: String,
    /// Shard epoch it ran under.
    pub epoch: u64,
    /// Whether the agent delivered and the repo's own checks passed.
    pub ok: bool,
    /// Error text when not ok.
    pub error: Option<String>,
    /// Branch pushed to origin.
    pub branch: Option<String>,
    /// Commit the branch points at.
    pub head: Option<String>,
    /// Commit the branch started from.
    pub base: Option<String>,
    /// Unified diff base..head.
    pub diff: String,
    /// The agent's summary.
    pub summary: String,
    /// Cost the agent reported, in US dollars.
    pub cost_usd: f64,
    /// Milliseconds inside the agent process.
    pub agent_ms: u64,
    /// Milliseconds inside check processes.
    pub checks_ms: u64,
    /// Milliseconds from dispatch to result, as the coordinator measured.
    pub wall_ms: u64,
    /// Unix ms when the node started it.
    pub started_unix_ms: u64,
    /// Unix ms when the node finished it.
    pub finished_unix_ms: u64,
    /// The repo's own checks (serialized `verify::CheckRecord`s).
    pub checks: serde_json::Value,
    /// Where the coordinator re-placed this attempt because its node was lost or its repo moved,
    /// in order; empty when it ran where it was first sent. Set by the coordinator, not the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<TaskMove>,
}

/// One re-placement of a running attempt: the node it was on was lost or no longer owns the
/// repo, so the same attempt was sent to the repo's new owner under a newer epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMove {
    /// The node it was sent to before.
    pub from: String,
    /// The epoch it was sent under before.
    pub from_epoch: u64,
    /// The node it was sent to now.
    pub to: String,
    /// The epoch it was sent under now.
    pub epoch: u64,
    /// Why it moved (the transport error, or the fence's refusal).
    pub reason: String,
    /// Unix ms of the move.
    pub at_unix_ms: u64,
}

impl TaskResult {
    /// An attempt's result before anything happened: not ok, empty, started at `started_unix_ms`.
    /// Callers fill in what the attempt produced.
    pub fn empty(attempt: u32, node: impl Into<String>, epoch: u64, started_unix_ms: u64) -> Self {
        TaskResult {
            attempt,
            node: node.into(),
            epoch,
            ok: false,
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
            started_unix_ms,
            finished_unix_ms: started_unix_ms,
            checks: serde_json::Value::Null,
            moves: Vec::new(),
        }
    }
}

/// One finding the verifier raised, as the run keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFinding {
    /// Verification round it came from, from 1.
    pub round: u32,
    /// `static`, `dynamic` or `gate:<id>`.
    pub caught_by: String,
    /// The finding as the agent sees it.
    pub note: FindingNote,
    /// Severity: `error`, `warning` or `info`.
    pub severity: String,
}

/// Something that happened in a run, for the event stream and the trace of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// Unix ms.
    pub at_unix_ms: u64,
    /// Short machine-readable kind, e.g. `task.dispatched`.
    pub kind: String,
    /// Human-readable text.
    pub message: String,
}

/// Everything the factory knows about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id (UUID v7, time ordered).
    pub id: String,
    /// What was asked.
    pub outcome: Outcome,
    /// Where the run is.
    pub status: RunStatus,
    /// The plan as JSON (`actors::plan::Plan`), once planned.
    pub plan: Option<serde_json::Value>,
    /// Tasks from the plan.
    pub tasks: Vec<TaskRecord>,
    /// Verification rounds done.
    pub verify_rounds: u32,
    /// Findings from every round.
    pub findings: Vec<RunFinding>,
    /// Verification reports, one per round (JSON).
    pub verifications: Vec<serde_json::Value>,
    /// Limits.
    pub budget: RunBudget,
    /// Cost so far, in US dollars.
    pub cost_usd: f64,
    /// Why the run failed, if it did.
    pub error: Option<String>,
    /// Where the bundle was written, once delivered.
    pub bundle_dir: Option<String>,
    /// What happened, in order.
    pub events: Vec<RunEvent>,
    /// Unix ms when submitted.
    pub submitted_unix_ms: u64,
    /// Unix ms when it reached a final status.
    pub finished_unix_ms: Option<u64>,
    /// A person's decision on the rollout, once made.
    #[serde(default)]
    pub approval: Option<Approval>,
    /// W3C `traceparent` of the run's first `run` span, so a coordinator that resumes the run
    /// after a restart keeps its work in the same trace; `None` when telemetry is off.
    #[serde(default)]
    pub traceparent: Option<String>,
}

/// A person's decision on a delivered run's rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// Approved (true) or rejected (false).
    pub approved: bool,
    /// Who decided (token name, Slack user, CLI user).
    pub by: String,
    /// Unix ms.
    pub at_unix_ms: u64,
    /// Why, if they said.
    pub note: Option<String>,
}

impl RunRecord {
    /// A freshly submitted run.
    pub fn new(id: String, outcome: Outcome, budget: RunBudget, now_unix_ms: u64) -> Self {
        RunRecord {
            id,
            outcome,
            status: RunStatus::Submitted,
            plan: None,
            tasks: Vec::new(),
            verify_rounds: 0,
            findings: Vec::new(),
            verifications: Vec::new(),
            budget,
            cost_usd: 0.0,
            error: None,
            bundle_dir: None,
            events: Vec::new(),
            submitted_unix_ms: now_unix_ms,
            finished_unix_ms: None,
            approval: None,
            traceparent: None,
        }
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&TaskRecord> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

/// An artifact shipped over the wire with a result: a log, a report, a screenshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob {
    /// File name inside the bundle's artifact folder, e.g. `backend/test.log`.
    pub name: String,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Coordinator -> node: run one attempt of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskAssignment {
    /// The task as the agent will see it.
    pub task: crate::outcome::TaskSpec,
    /// The repo's origin (path or URL).
    pub origin: String,
    /// Shard epoch of the repo when the task was sent; the result must carry it back.
    pub epoch: u64,
    /// Agent selector: `sim`, `claude-code`, `codex`, `aider` or `custom:<argv>`.
    pub agent: String,
    /// Prompt template (the skill) to render for the agent.
    pub skill: String,
    /// Time one agent invocation may take, in seconds.
    pub agent_timeout_secs: u64,
    /// Cost one agent invocation may report, in US dollars.
    pub agent_max_cost_usd: f64,
}

/// Node -> coordinator: the result of a task attempt, with its artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDone {
    /// The result.
    pub result: TaskResult,
    /// Logs and reports of the attempt.
    pub artifacts: Vec<Blob>,
}

/// A repo taking part in a verification round, at a branch (or its default branch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoRef {
    /// Repo name.
    pub name: String,
    /// Origin path or URL.
    pub origin: String,
    /// Branch to verify; `None` means the origin's default branch (the repo did not change).
    pub branch: Option<String>,
}

/// Coordinator -> node: verify these repos together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// Run id.
    pub run_id: String,
    /// Round number, from 1.
    pub round: u32,
    /// Every repo of the system under test.
    pub repos: Vec<RepoRef>,
    /// The outcome's structured changes (they say which spelling of a field is intended).
    pub changes: Vec<crate::outcome::ChangeSpec>,
    /// Learned gates on the boundaries of these repos.
    #[serde(default)]
    pub gates: Vec<GateSpec>,
    /// Learned setup steps, run before each repo's own setup.
    #[serde(default)]
    pub setup_steps: Vec<SetupStep>,
}

/// Node -> coordinator: what a verification round found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyDone {
    /// The round's report (JSON of the verifier's report).
    pub report: serde_json::Value,
    /// Findings; those with severity `error` block delivery.
    pub findings: Vec<RunFinding>,
    /// Logs, screenshots and reports of the round.
    pub artifacts: Vec<Blob>,
}

/// Whether a learned gate blocks delivery or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateMode {
    /// Reported in the bundle, never blocks (new gates start here).
    Shadow,
    /// A finding blocks delivery like any contract error.
    Blocking,
}

/// A learned check pinned to one boundary (a flow: contract, writer, reader).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateSpec {
    /// Content-addressed id of this gate version.
    pub id: String,
    /// The slot it fills, e.g. `gate:contract/casing@backend->worker:order-events.v1`.
    pub slot: String,
    /// What it checks, e.g. `NAMING/casing`.
    pub rule: String,
    /// Contract of the boundary.
    pub contract: String,
    /// Writer repo of the boundary.
    pub writer: String,
    /// Reader repo of the boundary.
    pub reader: String,
    /// Rule parameter, e.g. the boundary's casing convention (`camel`).
    pub param: String,
    /// Shadow or blocking.
    pub mode: GateMode,
    /// The run whose failure taught it.
    pub learned_from_run: String,
}

/// A learned step of a repo's setup workflow, run in every fresh checkout before the repo's own
/// setup (e.g. creating seed data the repo's setup forgot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupStep {
    /// Content-addressed id of this workflow version.
    pub id: String,
    /// Repo it applies to.
    pub repo: String,
    /// Shell command, run in the repo's checkout.
    pub command: String,
    /// The run whose failure taught it.
    pub learned_from_run: String,
}
