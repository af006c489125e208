//! `/v1/runs`: submit, list, read, follow, approve and reject runs.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use protocol::run::{Approval, RunRecord, RunStatus};
use serde::Serialize;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::AppState;
use super::api::RunApi;
use super::auth::{Approve, Caller, Read, Submit};
use super::body::JsonBody;
use super::body::PathParams;
use super::changes::{DecideRequest, SubmitRequest};
use super::error::HttpError;

/// Longest approval note accepted, in characters.
const MAX_NOTE_CHARS: usize = 2000;

/// One run in a list: enough to pick one, without its diffs and reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// The outcome's title.
    pub title: String,
    /// Where the run is.
    pub status: RunStatus,
    /// Unix ms when submitted.
    pub submitted_unix_ms: u64,
    /// Unix ms when final.
    pub finished_unix_ms: Option<u64>,
    /// Cost so far, in US dollars.
    pub cost_usd: f64,
    /// The rollout decision, once made.
    pub approval: Option<Approval>,
}

impl From<&RunRecord> for RunSummary {
    fn from(r: &RunRecord) -> Self {
        RunSummary {
            id: r.id.clone(),
            title: r.outcome.title.clone(),
            status: r.status,
            submitted_unix_ms: r.submitted_unix_ms,
            finished_unix_ms: r.finished_unix_ms,
            cost_usd: r.cost_usd,
            approval: r.approval.clone(),
        }
    }
}

pub(crate) async fn submit(
    caller: Caller<Submit>,
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SubmitRequest>,
) -> Result<Response, HttpError> {
    let outcome = req.into_outcome().map_err(HttpError::BadRequest)?;
    let id = state.api.submit(outcome).await?;
    tracing::info!(run = %id, by = %caller.name, "http.submit");
    let location = format!("/v1/runs/{id}");
    let body = Json(serde_json::json!({ "run_id": id }));
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], body).into_response())
}

pub(crate) async fn list(
    _: Caller<Read>,
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, HttpError> {
    let runs = state.api.runs().await?;
    let summaries: Vec<RunSummary> = runs.iter().map(RunSummary::from).collect();
    Ok(Json(serde_json::json!({ "runs": summaries })))
}

pub(crate) async fn one(
    _: Caller<Read>,
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Json<RunRecord>, HttpError> {
    Ok(Json(find(&*state.api, &id).await?))
}

pub(crate) async fn approve(
    caller: Caller<Approve>,
    state: State<AppState>,
    id: PathParams<String>,
    body: JsonBody<DecideRequest>,
) -> Result<Json<RunRecord>, HttpError> {
    decide(true, caller.name, state, id, body).await
}

pub(crate) async fn reject(
    caller: Caller<Approve>,
    state: State<AppState>,
    id: PathParams<String>,
    body: JsonBody<DecideRequest>,
) -> Result<Json<RunRecord>, HttpError> {
    decide(false, caller.name, state, id, body).await
}

async fn decide(
    approved: bool,
    by: String,
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    JsonBody(req): JsonBody<DecideRequest>,
) -> Result<Json<RunRecord>, HttpError> {
    if req
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(HttpError::BadRequest(format!(
            "`note` is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    let approval = Approval {
        approved,
        by: by.clone(),
        at_unix_ms: now_unix_ms(),
        note: req.note,
    };
    let record = state.api.decide(id.clone(), approval).await?;
    tracing::info!(run = %id, approved, by = %by, "http.decide");
    Ok(Json(record))
}

/// `GET /v1/runs/{id}/events`: the current record first, then one `run` event per update, ending
/// after the run is final.
pub(crate) async fn events(
    _: Caller<Read>,
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    // Subscribe before reading the current state, so no update can fall between the two.
    let updates = state.api.watch(id.clone());
    let current = find(&*state.api, &id).await?;
    let follow = Follow {
        api: state.api.clone(),
        id,
        updates,
        last: None,
        pending: Some(current),
    };
    let stream = futures_util::stream::unfold(follow, |mut f| async move {
        let record = f.next().await?;
        let event = Event::default().event("run").json_data(&record).ok()?;
        Some((Ok(event), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The state of one event stream.
struct Follow {
    api: Arc<dyn RunApi>,
    id: String,
    updates: Option<Receiver<RunRecord>>,
    last: Option<RunRecord>,
    pending: Option<RunRecord>,
}

impl Follow {
    /// The next record to send, or `None` when the stream is over.
    async fn next(&mut self) -> Option<RunRecord> {
        loop {
            if self.last.as_ref().is_some_and(|r| r.status.is_final()) {
                return None;
            }
            let record = match self.pending.take() {
                Some(r) => r,
                None => self.receive().await?,
            };
            if self.last.as_ref() != Some(&record) {
                self.last = Some(record.clone());
                return Some(record);
            }
        }
    }

    async fn receive(&mut self) -> Option<RunRecord> {
        let updates = self.updates.as_mut()?;
        match updates.recv().await {
            Ok(record) => Some(record),
            // Fell behind: the latest state is all a follower needs.
            Err(RecvError::Lagged(_)) => self.api.run(self.id.clone()).await.ok().flatten(),
            // The service stopped watching: send the last state once, then end.
            Err(RecvError::Closed) => {
                self.updates = None;
                self.api.run(self.id.clone()).await.ok().flatten()
            }
        }
    }
}

/// The run, or 404.
pub(crate) async fn find(api: &dyn RunApi, id: &str) -> Result<RunRecord, HttpError> {
    api.run(id.to_string())
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("no run `{id}`")))
}

pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
