//! The coordinator's HTTP API: runs for bots and scripts (`/v1`), a Slack slash command, the
//! reviewer's pages, and the OpenAPI description of all of it.
//!
//! Owns: request parsing, authentication (bearer tokens, Slack signatures), mapping errors to
//! statuses, streaming run updates. Does not own: runs themselves; everything goes through
//! [`RunApi`], which the run service implements.

pub mod api;
mod auth;
mod body;
pub mod changes;
pub mod error;
pub mod memory;
mod pages;
pub mod relay;
mod relay_tls;
mod runs;
pub mod slack;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get as get_route, post as post_route};

pub use api::{ApiError, BoxFuture, RunApi};
pub use error::HttpError;
pub use slack::SlackConfig;

use crate::tokens::TokenStore;

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// Default limit on request bodies: 64 KiB is far more than an outcome or a slash command needs.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Default time a request may take until its answer starts.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the HTTP API is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where bearer tokens are checked against.
    pub tokens: TokenStore,
    /// Slack slash commands; `None` turns `/slack/command` off (it answers 503).
    pub slack: Option<SlackConfig>,
    /// Serve the reviewer pages without a token (for a coordinator reachable only from a trusted
    /// network). Default false: pages need a `read` token.
    pub public_pages: bool,
    /// Limit on request bodies in bytes; larger ones get 413. Default [`DEFAULT_BODY_LIMIT_BYTES`].
    pub body_limit_bytes: usize,
    /// Time a request may take until its answer starts (an event stream's body may then run on);
    /// over it the answer is 503. Default [`DEFAULT_REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
}

impl HttpConfig {
    /// Defaults for a coordinator whose state lives in `state_dir`: tokens from its token file,
    /// Slack from the environment (see [`SlackConfig::from_env`]), pages behind tokens.
    pub fn new(state_dir: PathBuf, slack: Option<SlackConfig>) -> Self {
        HttpConfig {
            tokens: TokenStore::new(&state_dir),
            slack,
            public_pages: false,
            body_limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) api: Arc<dyn RunApi>,
    pub(crate) config: Arc<HttpConfig>,
}

/// Serve the API on a bound listener until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    api: Arc<dyn RunApi>,
    config: HttpConfig,
) -> std::io::Result<()> {
    let limit = config.body_limit_bytes;
    let timeout = config.request_timeout;
    let state = AppState {
        api,
        config: Arc::new(config),
    };
    let (router, _) = build();
    let app = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(timeout, deadline))
        .with_state(state);
    tracing::info!(addr = ?listener.local_addr().ok(), "http.serve");
    axum::serve(listener, app).await
}

/// Every route as `(method, path)` in OpenAPI spelling (`{id}`, `{path}`), taken from the router
/// as it is built, so a check against the OpenAPI file cannot miss one.
pub fn route_table() -> Vec<(&'static str, String)> {
    build()
        .1
        .into_iter()
        .map(|(m, p)| (m, p.replace("{*", "{")))
        .collect()
}

/// Builds the router and records each route it adds.
struct Routes {
    router: Router<AppState>,
    table: Vec<(&'static str, &'static str)>,
}

impl Routes {
    fn get<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.router = self.router.route(path, get_route(h));
        self.table.push(("get", path));
        self
    }

    fn post<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.router = self.router.route(path, post_route(h));
        self.table.push(("post", path));
        self
    }
}

fn build() -> (Router<AppState>, Vec<(&'static str, &'static str)>) {
    let routes = Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .get("/health", health)
    .get("/openapi.yaml", openapi)
    .post("/v1/runs", runs::submit)
    .get("/v1/runs", runs::list)
    .get("/v1/runs/{id}", runs::one)
    .get("/v1/runs/{id}/events", runs::events)
    .post("/v1/runs/{id}/approve", runs::approve)
    .post("/v1/runs/{id}/reject", runs::reject)
    .post("/slack/command", slack::command)
    .get("/", pages::index)
    .get("/runs/{id}", pages::run_redirect)
    .get("/runs/{id}/", pages::run_index)
    .get("/runs/{id}/{*path}", pages::run_file);
    (routes.router, routes.table)
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}

/// Bound every request: a stuck run service or a client trickling its body gets 503, not a
/// connection held forever.
async fn deadline(
    State(timeout): State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => HttpError::Unavailable(format!(
            "the request took longer than {} ms",
            timeout.as_millis()
        ))
        .into_response(),
    }
}

async fn not_found() -> HttpError {
    HttpError::NotFound("no such route; see /openapi.yaml".into())
}

async fn method_not_allowed() -> impl IntoResponse {
    let body = serde_json::json!({ "error": {
        "code": "method_not_allowed",
        "message": "this route does not take that method; see /openapi.yaml",
    }});
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// `(method, path)` pairs under `paths:` in the OpenAPI text: paths at two spaces of indent,
    /// methods at four.
    fn documented(yaml: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut in_paths = false;
        let mut path = None;
        for line in yaml.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{p}"));
            } else if let Some(m) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
                && !m.starts_with(' ')
                && ["get", "post", "put", "patch", "delete"].contains(&m)
                && let Some(p) = &path
            {
                out.insert((m.to_string(), p.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let routes: BTreeSet<(String, String)> = super::route_table()
            .into_iter()
            .map(|(m, p)| (m.to_string(), p))
            .collect();
        let documented = documented(super::OPENAPI_YAML);
        let missing: Vec<_> = routes.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&routes).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.yaml: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "openapi.yaml documents routes that do not exist: {extra:?}"
        );
        assert!(
            routes.len() >= 13,
            "the route table looks truncated: {routes:?}"
        );
    }

    #[test]
    fn the_scanner_reads_paths_and_methods() {
        let yaml = "info:\n  /x:\n    get:\npaths:\n  /a/{id}:\n    get:\n      \
                    summary: s\n    post:\n  /b:\n    parameters:\ncomponents:\n  /c:\n    get:\n";
        let got: Vec<_> = documented(yaml).into_iter().collect();
        let want = vec![
            ("get".to_string(), "/a/{id}".to_string()),
            ("post".to_string(), "/a/{id}".to_string()),
        ];
        assert_eq!(got, want);
    }
}
