//! The Slack slash command `POST /slack/command`: `/factory ship <title> [| change; change]`,
//! `/factory status <run>`, `/factory help`.
//!
//! Every request is checked against Slack's signature (`X-Slack-Signature`, HMAC-SHA256 of
//! `v0:<timestamp>:<body>` with the signing secret) and its timestamp must be within the replay
//! window. Answers are ephemeral and immediate; a shipped run's progress is posted to the
//! command's `response_url` on each status change until the run is final.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use protocol::outcome::Outcome;
use protocol::run::{RunRecord, RunStatus};
use serde::Deserialize;
use sha2::Sha256;

use super::AppState;
use super::api::RunApi;
use super::body::read_body;
use super::changes::SubmitRequest;
use super::error::HttpError;
use super::relay;

/// Environment variable holding the signing secret.
pub const SECRET_ENV: &str = "FACTORY_SLACK_SIGNING_SECRET";
/// Environment variable naming a file holding the signing secret (used when [`SECRET_ENV`] is unset).
pub const SECRET_FILE_ENV: &str = "FACTORY_SLACK_SIGNING_SECRET_FILE";
/// Slack accepts at most five posts to one `response_url`.
const MAX_POSTS: usize = 5;
/// A `response_url` is valid for thirty minutes.
const RESPONSE_URL_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Slack settings.
#[derive(Clone)]
pub struct SlackConfig {
    /// The app's signing secret.
    pub signing_secret: Vec<u8>,
    /// How old a request's timestamp may be (either way), in seconds. Slack suggests 300.
    pub replay_window_secs: u64,
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("signing_secret", &"<redacted>")
            .field("replay_window_secs", &self.replay_window_secs)
            .finish()
    }
}

/// What reading the Slack configuration can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// The secret file cannot be read.
    #[error("{path}: {source}")]
    SecretFile {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The secret is empty.
    #[error("the Slack signing secret is empty")]
    EmptySecret,
}

impl SlackConfig {
    /// A configuration with the default five-minute replay window.
    pub fn new(signing_secret: impl Into<Vec<u8>>) -> Self {
        SlackConfig {
            signing_secret: signing_secret.into(),
            replay_window_secs: 300,
        }
    }

    /// From [`SECRET_ENV`], else the file named by [`SECRET_FILE_ENV`]; `None` when neither is set.
    pub fn from_env() -> Result<Option<Self>, SlackError> {
        let secret = if let Ok(s) = std::env::var(SECRET_ENV) {
            s
        } else if let Ok(path) = std::env::var(SECRET_FILE_ENV) {
            std::fs::read_to_string(&path)
                .map_err(|source| SlackError::SecretFile { path, source })?
        } else {
            return Ok(None);
        };
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(SlackError::EmptySecret);
        }
        Ok(Some(SlackConfig::new(secret.as_bytes())))
    }
}

/// `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`: what Slack sends in `X-Slack-Signature`.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Check a request's signature and timestamp against `now_secs` (Unix seconds).
pub fn verify(
    config: &SlackConfig,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: u64,
) -> Result<(), HttpError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| HttpError::Unauthorized(format!("missing `{name}` header")))
    };
    let timestamp = header("x-slack-request-timestamp")?;
    let sent = header("x-slack-signature")?;
    let ts: u64 = timestamp.trim().parse().map_err(|_| {
        HttpError::Unauthorized("`X-Slack-Request-Timestamp` is not a Unix time".into())
    })?;
    if ts.abs_diff(now_secs) > config.replay_window_secs {
        return Err(HttpError::Unauthorized(format!(
            "stale Slack request: its timestamp is more than {} s from now (replay refused)",
            config.replay_window_secs
        )));
    }
    let expected = signature(&config.signing_secret, timestamp, body);
    if !crate::tokens::constant_time_eq(expected.as_bytes(), sent.trim().as_bytes()) {
        return Err(HttpError::Unauthorized(
            "bad Slack signature: check the signing secret".into(),
        ));
    }
    Ok(())
}

/// The fields of a slash command this route uses; Slack sends more, which are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CommandForm {
    command: String,
    text: String,
    user_name: String,
    response_url: String,
}

/// What a command's text asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackAction {
    /// Submit this outcome.
    Ship(Outcome),
    /// Report a run's status.
    Status(String),
    /// Show the usage.
    Help,
}

/// Read a command's text: `ship <title> [| change; change]`, `status <run>` or `help`.
pub fn parse_text(text: &str) -> Result<SlackAction, String> {
    let text = text.trim();
    let (verb, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    match verb {
        "" | "help" => Ok(SlackAction::Help),
        "ship" => {
            let (title, specs) = rest.split_once('|').unwrap_or((rest, ""));
            let request = SubmitRequest {
                title: title.to_string(),
                description: String::new(),
                changes: Vec::new(),
                change_specs: specs
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            };
            request.into_outcome().map(SlackAction::Ship)
        }
        "status" if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
            Ok(SlackAction::Status(rest.to_string()))
        }
        "status" => Err("usage: `status <run id>`".into()),
        other => Err(format!("unknown command `{other}`")),
    }
}

const USAGE: &str = "usage: `ship <title> [| add <contract> <field> <type>[:<format>]; \
                     rename <contract> <from> <to>; remove <contract> <field>]`, \
                     `status <run id>`, `help`";

pub(crate) async fn command(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<serde_json::Value>, HttpError> {
    let Some(config) = state.config.slack.clone() else {
        return Err(HttpError::Unavailable(format!(
            "Slack commands are not configured: set {SECRET_ENV} or {SECRET_FILE_ENV}"
        )));
    };
    let headers = request.headers().clone();
    let body = read_body(request, &state).await?;
    verify(&config, &headers, &body, now_secs())?;
    let form: CommandForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| HttpError::BadRequest(format!("malformed slash command form: {e}")))?;
    let text = match parse_text(&form.text) {
        Ok(SlackAction::Help) => USAGE.to_string(),
        Err(e) => format!("{e}; {USAGE}"),
        Ok(SlackAction::Status(id)) => match state.api.run(id.clone()).await? {
            Some(run) => status_text(&run),
            None => format!("No run `{id}`."),
        },
        Ok(SlackAction::Ship(outcome)) => {
            let title = outcome.title.clone();
            let id = state.api.submit(outcome).await?;
            tracing::info!(run = %id, by = %form.user_name, command = %form.command, "slack.ship");
            if !form.response_url.is_empty() {
                tokio::spawn(post_progress(
                    state.api.clone(),
                    id.clone(),
                    form.response_url,
                ));
            }
            format!("Submitted run `{id}`: {title}. Progress follows here.")
        }
    };
    Ok(Json(
        serde_json::json!({ "response_type": "ephemeral", "text": text }),
    ))
}

/// One line about a run, as Slack shows it.
fn status_text(run: &RunRecord) -> String {
    let mut text = format!(
        "Run `{}` ({}): {}",
        run.id,
        run.outcome.title,
        status_name(run.status)
    );
    if let Some(e) = &run.error {
        text.push_str(&format!(" — {e}"));
    }
    if run.status == RunStatus::Delivered && run.approval.is_none() {
        text.push_str(" — the bundle waits for review");
    }
    text
}

fn status_name(status: RunStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{status:?}"))
}

/// Post each status change of a run to `url` until the run is final, within Slack's limits
/// (five posts, thirty minutes); the last slot is kept for the final status.
async fn post_progress(api: Arc<dyn RunApi>, id: String, url: String) {
    let follow = async {
        // Subscribe before reading the current state, so no change falls between the two.
        let mut updates = api.watch(id.clone());
        let mut last = RunStatus::Submitted;
        let mut posts = 0;
        let mut next = api.run(id.clone()).await.ok().flatten();
        loop {
            if let Some(run) = next.take()
                && run.status != last
            {
                last = run.status;
                if run.status.is_final() || posts + 1 < MAX_POSTS {
                    posts += 1;
                    let body = serde_json::json!({
                        "response_type": "ephemeral", "text": status_text(&run),
                    });
                    match relay::post_json(&url, &body).await {
                        Ok(code) if (200..300).contains(&code) => {}
                        Ok(code) => tracing::warn!(run = %id, code, "slack.progress.refused"),
                        Err(e) => tracing::warn!(run = %id, error = %e, "slack.progress.failed"),
                    }
                }
                if run.status.is_final() {
                    return;
                }
            }
            let Some(rx) = updates.as_mut() else { return };
            next = match rx.recv().await {
                Ok(run) => Some(run),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    api.run(id.clone()).await.ok().flatten()
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    updates = None;
                    api.run(id.clone()).await.ok().flatten()
                }
            };
        }
    };
    if tokio::time::timeout(RESPONSE_URL_LIFETIME, follow)
        .await
        .is_err()
    {
        tracing::info!(run = %id, "slack.progress.expired");
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
