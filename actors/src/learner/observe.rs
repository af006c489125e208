//! What a run showed, frozen as a replay case: per round, the commits under test, the field names
//! each writer really sent, the casing mismatches placed on their boundaries, and why a sandbox
//! did not start. Pure: reads a [`RunRecord`], nothing else.

use std::collections::BTreeMap;

use protocol::outcome::{ChangeSpec, TaskRole};
use protocol::run::{RunFinding, RunRecord, RunStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gates::payload_fields;
use super::setup::missing_step;

/// Rule id of a casing mismatch, as the contract checks raise it.
pub const CASING_MISMATCH: &str = "NAMING/casing-mismatch";

/// Rule id of a sandbox that could not start.
pub const START_FAILED: &str = "SANDBOX/start-failed";

/// Longest message kept from a finding; the rest is cut (a log tail can be long).
const MESSAGE_LIMIT: usize = 600;

/// A flow: one contract from its writer to one reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Boundary {
    /// Contract name.
    pub contract: String,
    /// Repo writing the payloads.
    pub writer: String,
    /// Repo reading them.
    pub reader: String,
}

impl Boundary {
    /// `writer->reader:contract`, as used in slot names.
    pub fn label(&self) -> String {
        format!("{}->{}:{}", self.writer, self.reader, self.contract)
    }
}

/// Field names of one payload a writer really sent in a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// Contract.
    pub contract: String,
    /// Writer repo.
    pub writer: String,
    /// Every object key of the sample, at any depth, first occurrence order.
    pub fields: Vec<String>,
}

/// A casing mismatch placed on its boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// Where.
    pub boundary: Boundary,
    /// The writer's spelling (a path, `items[].unit_price`).
    pub writer_field: String,
    /// The reader's spelling (a path).
    pub reader_field: String,
    /// `static` or `dynamic`.
    pub caught_by: String,
}

/// A finding that failed the round, kept short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Rule id.
    pub rule: String,
    /// Message, cut to a few hundred characters.
    pub message: String,
    /// The repo that must change, if the finding says.
    pub repo: Option<String>,
    /// Which check raised it.
    pub caught_by: String,
}

/// A sandbox that could not start, and the step its log names, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    /// The repo whose service did not start.
    pub repo: String,
    /// The command its log tail says to run (`python3 scripts/seed.py`).
    pub missing_step: Option<String>,
}

/// One verification round as a replay case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundCase {
    /// Round number, from 1.
    pub round: u32,
    /// Commit of each repo under test.
    pub heads: BTreeMap<String, String>,
    /// The system came up and no finding of severity `error` was raised.
    pub passed: bool,
    /// Payloads captured from running writers.
    pub captured: Vec<Captured>,
    /// Casing mismatches with their boundaries.
    pub mismatches: Vec<Mismatch>,
    /// Every error finding of the round.
    pub failures: Vec<Failure>,
    /// Sandboxes that did not start.
    pub start_failures: Vec<StartFailure>,
    /// Casing mismatches that could not be placed on one boundary.
    pub unplaced: usize,
}

impl RoundCase {
    /// Field names `writer` sent on `contract` in this round, if a payload was captured.
    pub fn fields_of(&self, contract: &str, writer: &str) -> Option<&[String]> {
        self.captured
            .iter()
            .find(|c| c.contract == contract && c.writer == writer)
            .map(|c| c.fields.as_slice())
    }

    /// Mismatches raised on `b` in this round.
    pub fn mismatches_on<'a>(&'a self, b: &'a Boundary) -> impl Iterator<Item = &'a Mismatch> {
        self.mismatches.iter().filter(move |m| &m.boundary == b)
    }
}

/// A run frozen for replay: what later proposals are judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCase {
    /// Run id.
    pub run: String,
    /// The outcome's title.
    pub title: String,
    /// Whether the run delivered.
    pub delivered: bool,
    /// Flows the plan touched.
    pub flows: Vec<Boundary>,
    /// Rounds, in order.
    pub rounds: Vec<RoundCase>,
    /// Cost of the run, in US dollars.
    pub cost_usd: f64,
    /// Submission to final status, in milliseconds (0 while unfinished).
    pub wall_ms: u64,
    /// Time spent in the repos' own checks, over every attempt, in milliseconds.
    pub checks_ms: u64,
    /// The tasks as their first attempt saw them: what a skill replay runs again. Absent from
    /// cases recorded before skills were learned, hence the default.
    #[serde(default)]
    pub tasks: Vec<TaskCase>,
}

/// One task of a run as its first attempt got it, and the commit that attempt started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCase {
    /// Task id from the plan, e.g. `backend:expand`.
    pub id: String,
    /// Repo the task changes.
    pub repo: String,
    /// Role of the repo.
    pub role: TaskRole,
    /// Instructions for the agent.
    pub instructions: String,
    /// The changes that concern the repo.
    pub changes: Vec<ChangeSpec>,
    /// Facts about the repo, as lines.
    pub context: Vec<String>,
    /// Attempts the run made.
    pub attempts: u32,
    /// The commit the first attempt started from (its diff base), if it reported one.
    pub base: Option<String>,
}

/// What the plan's JSON holds for one task; other keys are ignored.
#[derive(Deserialize)]
struct PlannedTask {
    id: String,
    repo: String,
    role: TaskRole,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    changes: Vec<ChangeSpec>,
    #[serde(default)]
    context: Vec<String>,
}

/// The replay case of a run.
pub fn case_of(run: &RunRecord) -> RunCase {
    let flows = plan_flows(run.plan.as_ref());
    let rounds = run
        .verifications
        .iter()
        .enumerate()
        .map(|(i, report)| {
            let n = report
                .get("round")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(i as u32 + 1);
            round_case(n, report, &run.findings, &flows)
        })
        .collect();
    RunCase {
        run: run.id.clone(),
        title: run.outcome.title.clone(),
        delivered: run.status == RunStatus::Delivered,
        flows,
        rounds,
        cost_usd: run.cost_usd,
        wall_ms: run
            .finished_unix_ms
            .map_or(0, |f| f.saturating_sub(run.submitted_unix_ms)),
        checks_ms: run
            .tasks
            .iter()
            .flat_map(|t| &t.results)
            .map(|r| r.checks_ms)
            .sum(),
        tasks: task_cases(run),
    }
}

/// The plan's tasks with what the run recorded of their attempts. A task the plan JSON does not
/// describe in full is left out: it could not be replayed.
fn task_cases(run: &RunRecord) -> Vec<TaskCase> {
    let planned = run
        .plan
        .as_ref()
        .and_then(|p| p.get("tasks"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| serde_json::from_value::<PlannedTask>(t.clone()).ok());
    planned
        .map(|t| {
            let record = run.tasks.iter().find(|r| r.id == t.id);
            TaskCase {
                attempts: record.map_or(0, |r| r.attempts),
                base: record
                    .and_then(|r| r.results.first())
                    .and_then(|r| r.base.clone()),
                id: t.id,
                repo: t.repo,
                role: t.role,
                instructions: t.instructions,
                changes: t.changes,
                context: t.context,
            }
        })
        .collect()
}

fn round_case(n: u32, report: &Value, findings: &[RunFinding], flows: &[Boundary]) -> RoundCase {
    let heads = report
        .get("repos")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((str_at(r, "name")?, str_at(r, "head")?)))
        .collect();
    let captured: Vec<Captured> = report
        .pointer("/dynamic/captured")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Captured {
                contract: str_at(c, "contract")?,
                writer: str_at(c, "writer")?,
                fields: payload_fields(c.get("sample")?),
            })
        })
        .collect();
    let came_up = report
        .get("dynamic")
        .is_some_and(|d| d.get("error").is_none());
    let mut case = RoundCase {
        round: n,
        heads,
        passed: came_up,
        captured,
        mismatches: Vec::new(),
        failures: Vec::new(),
        start_failures: Vec::new(),
        unplaced: 0,
    };
    for f in findings.iter().filter(|f| f.round == n) {
        if f.note.rule == CASING_MISMATCH {
            match parse_mismatch(f, flows, &case.captured) {
                Some(m) => case.mismatches.push(m),
                None => case.unplaced += 1,
            }
        }
        if f.severity != "error" {
            continue;
        }
        case.passed = false;
        if f.note.rule == START_FAILED {
            let repo = f
                .note
                .fix_repo
                .clone()
                .or_else(|| service_named(&f.note.message));
            if let Some(repo) = repo {
                let missing_step = missing_step(&f.note.message);
                case.start_failures
                    .push(StartFailure { repo, missing_step });
            }
        }
        case.failures.push(Failure {
            rule: f.note.rule.clone(),
            message: cut(&f.note.message),
            repo: f.note.fix_repo.clone(),
            caught_by: f.caught_by.clone(),
        });
    }
    case
}

/// Place a casing-mismatch finding on its boundary. Its message names the reader and both
/// spellings (`frontend reads `createdAt` but backend sends `created_at`...` or `... but the
/// payload has `created_at`...`); the contract comes from the plan's flows into that reader,
/// narrowed by which captured payload carried the writer's spelling.
fn parse_mismatch(f: &RunFinding, flows: &[Boundary], captured: &[Captured]) -> Option<Mismatch> {
    let msg = &f.note.message;
    let (reader, rest) = msg.split_once(" reads `")?;
    let (reader_field, rest) = rest.split_once('`')?;
    let (between, rest) = rest.split_once('`')?;
    let writer_field = rest.split_once('`')?.0;
    let writer = between
        .trim()
        .strip_prefix("but ")
        .and_then(|s| s.strip_suffix(" sends"))
        .map(str::trim)
        .filter(|w| !w.is_empty() && !w.contains(' '));
    let leaf = leaf(writer_field);
    let sent_it = |b: &Boundary| {
        captured
            .iter()
            .any(|c| c.contract == b.contract && c.writer == b.writer && c.fields.contains(&leaf))
    };
    let mut candidates: Vec<Boundary> = flows
        .iter()
        .filter(|b| b.reader == reader && writer.is_none_or(|w| b.writer == w))
        .cloned()
        .collect();
    if candidates.is_empty() {
        // No plan: any captured payload carrying the field could be it.
        candidates = captured
            .iter()
            .filter(|c| writer.is_none_or(|w| c.writer == w) && c.fields.contains(&leaf))
            .map(|c| Boundary {
                contract: c.contract.clone(),
                writer: c.writer.clone(),
                reader: reader.to_string(),
            })
            .collect();
    }
    if candidates.len() > 1 {
        candidates.retain(|b| sent_it(b));
    }
    let [boundary] = <[Boundary; 1]>::try_from(candidates).ok()?;
    Some(Mismatch {
        boundary,
        writer_field: writer_field.to_string(),
        reader_field: reader_field.to_string(),
        caught_by: f.caught_by.clone(),
    })
}

/// The last name of a field path: `items[].unit_price` -> `unit_price`.
pub fn leaf(path: &str) -> String {
    path.rsplit(['.', ']']).next().unwrap_or(path).to_string()
}

/// Flows of the plan (`plan.flows[].flow`), if the run was planned.
fn plan_flows(plan: Option<&Value>) -> Vec<Boundary> {
    let mut out: Vec<Boundary> = plan
        .and_then(|p| p.get("flows"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let f = f.get("flow")?;
            Some(Boundary {
                contract: str_at(f, "contract")?,
                writer: str_at(f, "writer")?,
                reader: str_at(f, "reader")?,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `service backend exited early ...` -> `backend`.
fn service_named(message: &str) -> Option<String> {
    let rest = message.strip_prefix("service ")?;
    let name = rest.split_whitespace().next()?;
    Some(name.to_string())
}

fn str_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MESSAGE_LIMIT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MESSAGE_LIMIT).collect();
    out.push('…');
    out
}
