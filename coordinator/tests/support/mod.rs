//! One harness for the HTTP tests: a real server on 127.0.0.1:0 over the in-memory run service, with a
//! token per scope.

pub mod client;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use factory_coordinator::http::memory::MemoryRuns;
use factory_coordinator::http::{HttpConfig, SlackConfig, serve};
use factory_coordinator::tokens::{Scope, TokenStore};

pub use client::{Response, send};

/// Tokens of the running server, one per need.
pub struct Tokens {
    pub read: String,
    pub submit: String,
    pub approve: String,
    pub all: String,
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub fake: Arc<MemoryRuns>,
    pub tokens: Tokens,
    pub store: TokenStore,
    _state: tempfile::TempDir,
}

/// Start a server; `slack` turns the slash command on.
pub async fn start(slack: Option<SlackConfig>, public_pages: bool) -> Server {
    start_with(slack, |c| c.public_pages = public_pages).await
}

/// Start a server after `adjust` changed its configuration.
pub async fn start_with(
    slack: Option<SlackConfig>,
    adjust: impl FnOnce(&mut HttpConfig),
) -> Server {
    let state = tempfile::tempdir().expect("tempdir");
    let mut config = HttpConfig::new(state.path().to_path_buf(), slack);
    adjust(&mut config);
    let store = config.tokens.clone();
    let tokens = Tokens {
        read: store.add("reader", vec![Scope::Read]).unwrap(),
        submit: store.add("submitter", vec![Scope::Submit]).unwrap(),
        approve: store.add("approver", vec![Scope::Approve]).unwrap(),
        all: store
            .add("bot", vec![Scope::Submit, Scope::Read, Scope::Approve])
            .unwrap(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = Arc::new(MemoryRuns::default());
    tokio::spawn(serve(listener, fake.clone(), config));
    Server {
        addr,
        fake,
        tokens,
        store,
        _state: state,
    }
}

impl Server {
    pub async fn get(&self, path: &str, token: &str) -> Response {
        let auth = format!("Bearer {token}");
        send(self.addr, "GET", path, &[("Authorization", &auth)], b"").await
    }

    pub async fn post(&self, path: &str, token: &str, body: &str) -> Response {
        let auth = format!("Bearer {token}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        send(self.addr, "POST", path, &headers, body.as_bytes()).await
    }

    /// Submit a run as a bot would and return its id.
    pub async fn submit(&self, title: &str) -> String {
        let body = serde_json::json!({ "title": title }).to_string();
        let r = self.post("/v1/runs", &self.tokens.submit, &body).await;
        assert_eq!(r.status, 202, "{}", r.text());
        r.json()["run_id"].as_str().unwrap().to_string()
    }
}

/// Wait for a condition, failing with `what` after a deadline.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + client::DEADLINE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
