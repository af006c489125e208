//! The run service behind the HTTP API.

use std::path::PathBuf;

use protocol::outcome::Outcome;
use protocol::run::{Approval, RunRecord};

use super::service::{RunError, RunService};
use crate::http::api::{ApiError, BoxFuture, RunApi};

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NotFound(_) => ApiError::NotFound,
            RunError::Conflict(m) => ApiError::Conflict(m),
            RunError::Store(e) => ApiError::Internal(e.to_string()),
            RunError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl RunApi for RunService {
    fn submit(&self, outcome: Outcome) -> BoxFuture<'static, Result<String, ApiError>> {
        let s = self.clone();
        Box::pin(async move { Ok(s.submit(outcome).await?) })
    }

    fn run(&self, id: String) -> BoxFuture<'static, Result<Option<RunRecord>, ApiError>> {
        let s = self.clone();
        Box::pin(async move { Ok(s.get(&id).await?) })
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunRecord>, ApiError>> {
        let s = self.clone();
        Box::pin(async move { Ok(s.list().await?) })
    }

    fn decide(
        &self,
        id: String,
        approval: Approval,
    ) -> BoxFuture<'static, Result<RunRecord, ApiError>> {
        let s = self.clone();
        Box::pin(async move { Ok(s.decide(&id, approval).await?) })
    }

    fn watch(&self, id: String) -> Option<tokio::sync::broadcast::Receiver<RunRecord>> {
        Some(RunService::watch(self, &id))
    }

    fn bundle_dir(&self, id: String) -> Option<PathBuf> {
        self.known_bundle(&id)
    }
}
