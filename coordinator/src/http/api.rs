//! The narrow interface the HTTP layer needs from the run service.
//!
//! The HTTP layer never touches the run store or the scheduler directly: everything goes through
//! [`RunApi`], so the routes can be tested against an in-memory implementation.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use protocol::outcome::Outcome;
use protocol::run::{Approval, RunRecord};

/// A boxed, sendable future (what [`RunApi`] methods return, so the trait stays object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the run service can fail with, as the HTTP layer maps it to status codes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No such run (404).
    #[error("not found")]
    NotFound,
    /// The run is not in a state that allows this, e.g. approving a run that is not delivered (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request makes no sense (400).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Something broke inside the service (500).
    #[error("internal: {0}")]
    Internal(String),
}

/// The run service as the HTTP API sees it.
pub trait RunApi: Send + Sync + 'static {
    /// Submit an outcome; the run is stored durably before its id is returned.
    fn submit(&self, outcome: Outcome) -> BoxFuture<'static, Result<String, ApiError>>;
    /// One run, or `None` when there is no such run.
    fn run(&self, id: String) -> BoxFuture<'static, Result<Option<RunRecord>, ApiError>>;
    /// Every run the service knows, newest first.
    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunRecord>, ApiError>>;
    /// Approve or reject a delivered run's rollout.
    fn decide(
        &self,
        id: String,
        approval: Approval,
    ) -> BoxFuture<'static, Result<RunRecord, ApiError>>;
    /// Updates of one run, each the whole record after the change; `None` when there is no such
    /// run (or it is final and no longer watched).
    fn watch(&self, id: String) -> Option<tokio::sync::broadcast::Receiver<RunRecord>>;
    /// The folder holding the run's review bundle, once written.
    fn bundle_dir(&self, id: String) -> Option<PathBuf>;
}
