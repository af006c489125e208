//! The server side of `bench http`, run as its own process (`factory bench-http-server`): the
//! factory's HTTP API over the durable run store, and a baseline HTTP server, until stdin closes.
//!
//! The API here is the coordinator's real router, token checks and JSON, over [`StoredRuns`]:
//! a submit is written to the redb run store before it is acknowledged, exactly the write
//! `RunService::submit` makes before it answers. What the bench leaves out is the driver that
//! would then plan and dispatch the run on a cluster: the acknowledgement never waits for it,
//! and thousands of benchmark runs planning in the background would measure the planner.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use clap::Args;
use coordinator::http::{ApiError, BoxFuture, HttpConfig, RunApi};
use coordinator::runs::RunStore;
use protocol::outcome::Outcome;
use protocol::run::{Approval, RunBudget, RunRecord};
use tokio::net::TcpListener;

/// Arguments of the hidden `bench-http-server` subcommand.
#[derive(Debug, Args)]
pub struct HttpServerArgs {
    /// State folder: the token file the client wrote, and the run store.
    #[arg(long)]
    state: PathBuf,
}

/// The line the server prints once both listeners are bound.
pub const READY: &str = "ready";

/// Serve until the parent closes our stdin.
pub fn serve(args: HttpServerArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async {
        let store = RunStore::open(&args.state.join("runs.redb"))?;
        let api = Arc::new(StoredRuns { store });
        let config = HttpConfig::new(args.state.clone(), None);
        let factory = TcpListener::bind("127.0.0.1:0").await?;
        let baseline = TcpListener::bind("127.0.0.1:0").await?;
        println!(
            "{READY} factory={} baseline={}",
            factory.local_addr()?,
            baseline.local_addr()?
        );
        tokio::spawn(coordinator::http::serve(factory, api, config));
        tokio::spawn(async move { axum::serve(baseline, baseline_router()).await });
        // The parent holds our stdin; when it goes away, so do we.
        let mut sink = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await?;
        anyhow::Ok(())
    })
}

/// The floor: the same routes answered by a bare axum handler, with no token check, no body
/// parsing and no store.
fn baseline_router() -> Router {
    Router::new()
        .route(
            "/v1/runs",
            post(|| async { (StatusCode::ACCEPTED, r#"{"run_id":"baseline"}"#) }),
        )
        .route(
            "/v1/runs/{id}",
            get(|| async { r#"{"id":"baseline","status":"submitted"}"# }),
        )
}

/// Runs in the durable run store; submit writes before it answers, reads go to the store.
struct StoredRuns {
    store: RunStore,
}

impl StoredRuns {
    /// Run a blocking store call off the async threads, as the run service does.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(RunStore) -> Result<T, coordinator::runs::StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, ApiError>> {
        let store = self.store.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(store))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
    }
}

impl RunApi for StoredRuns {
    fn submit(&self, outcome: Outcome) -> BoxFuture<'static, Result<String, ApiError>> {
        let id = uuid::Uuid::now_v7().to_string();
        let run = RunRecord::new(
            id.clone(),
            outcome,
            RunBudget::default(),
            coordinator::driver::now_unix_ms(),
        );
        self.blocking(move |store| store.put(&run).map(|()| id))
    }

    fn run(&self, id: String) -> BoxFuture<'static, Result<Option<RunRecord>, ApiError>> {
        self.blocking(move |store| store.get(&id))
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunRecord>, ApiError>> {
        self.blocking(|store| store.list())
    }

    fn decide(&self, _: String, _: Approval) -> BoxFuture<'static, Result<RunRecord, ApiError>> {
        Box::pin(async {
            Err(ApiError::Conflict(
                "benchmark runs are never delivered".into(),
            ))
        })
    }

    fn watch(&self, _: String) -> Option<tokio::sync::broadcast::Receiver<RunRecord>> {
        None
    }

    fn bundle_dir(&self, _: String) -> Option<PathBuf> {
        None
    }
}
