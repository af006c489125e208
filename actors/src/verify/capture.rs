//! Capturing what a running provider really writes: HTTP responses and events. These observed
//! payloads are what the dynamic contract check validates against what consumers read.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Sandbox, VerifyError, request, safe_name};

/// Time allowed for one captured HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Default wait for events to appear after a trigger.
const EVENTS_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between looks at the event file.
const POLL_EVERY: Duration = Duration::from_millis(25);

/// One HTTP response as the provider sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`null` for an empty body).
    pub body: Value,
    /// The body as text, exactly as received (lossy UTF-8).
    pub raw: String,
}

/// Calls `method path` on `127.0.0.1:port` and returns the response with its JSON body. A body
/// that is not JSON is an error carrying the status and the start of the body.
pub async fn capture_http(port: u16, method: &str, path: &str) -> Result<Observed, VerifyError> {
    let body = (method != "GET").then(|| Value::Object(Default::default()));
    let resp = request(port, method, path, body.as_ref(), HTTP_TIMEOUT).await?;
    let raw = String::from_utf8_lossy(&resp.body).into_owned();
    let body = if raw.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&raw).map_err(|_| VerifyError::NotJson {
            context: format!("{method} http://127.0.0.1:{port}{path}"),
            status: resp.status,
            snippet: raw.chars().take(200).collect(),
        })?
    };
    Ok(Observed {
        status: resp.status,
        body,
        raw,
    })
}

/// Fires `trigger` (`"POST /orders"`) at `provider`, then waits for new lines in
/// `$FACTORY_EVENTS_DIR/<channel>.jsonl` and returns them parsed. Without a trigger, returns the
/// lines present, waiting for at least one.
pub async fn capture_events(
    sandbox: &Sandbox,
    channel: &str,
    trigger: Option<&str>,
    provider: &str,
) -> Result<Vec<Value>, VerifyError> {
    capture_events_within(sandbox, channel, trigger, provider, EVENTS_TIMEOUT).await
}

/// As [`capture_events`], waiting at most `timeout` for the events.
pub async fn capture_events_within(
    sandbox: &Sandbox,
    channel: &str,
    trigger: Option<&str>,
    provider: &str,
    timeout: Duration,
) -> Result<Vec<Value>, VerifyError> {
    let path = sandbox
        .events_dir()
        .join(format!("{}.jsonl", safe_name(channel)?));
    let before = match trigger {
        Some(_) => complete_lines(&path)?.len(),
        None => 0,
    };
    if let Some(trigger) = trigger {
        let port = sandbox.require_port(provider)?;
        let (method, target, body) = parse_trigger(trigger)?;
        let body = body.unwrap_or_else(|| Value::Object(Default::default()));
        let resp = request(port, method, target, Some(&body), HTTP_TIMEOUT).await?;
        if !(200..300).contains(&resp.status) {
            return Err(VerifyError::Http {
                context: format!("trigger {trigger} on {provider}"),
                reason: format!(
                    "status {}: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            });
        }
    }
    let started = Instant::now();
    loop {
        let lines = complete_lines(&path)?;
        if lines.len() > before {
            return lines
                .iter()
                .enumerate()
                .skip(before)
                .map(|(i, line)| {
                    serde_json::from_str(line).map_err(|e| VerifyError::BadEvent {
                        path: path.clone(),
                        line: i + 1,
                        reason: e.to_string(),
                    })
                })
                .collect();
        }
        if started.elapsed() >= timeout {
            return Err(VerifyError::Timeout {
                what: format!("events in {}", path.display()),
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Splits `"POST /orders"` or `"POST /orders {json body}"` into method, path and body.
fn parse_trigger(trigger: &str) -> Result<(&str, &str, Option<Value>), VerifyError> {
    let bad = || VerifyError::BadTrigger(trigger.to_string());
    let trimmed = trigger.trim();
    let (method, rest) = trimmed.split_once(char::is_whitespace).ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (path, body) = match rest.split_once(char::is_whitespace) {
        Some((p, b)) => (p, Some(serde_json::from_str(b.trim()).map_err(|_| bad())?)),
        None => (rest, None),
    };
    if !path.starts_with('/') {
        return Err(bad());
    }
    Ok((method, path, body))
}

/// The lines of the file that end in a newline; a line still being written is not counted.
/// A missing file has no lines yet.
fn complete_lines(path: &Path) -> Result<Vec<String>, VerifyError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VerifyError::io(format!("read {}", path.display()), e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if lines.last().is_some_and(|l| !l.ends_with('\n')) {
        lines.pop();
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers() {
        let check = |t: &str, want: Option<(&str, &str, Option<Value>)>| {
            assert_eq!(parse_trigger(t).ok(), want, "{t}");
        };
        check("POST /orders", Some(("POST", "/orders", None)));
        check("  GET   /x?a=1 ", Some(("GET", "/x?a=1", None)));
        check(
            r#"POST /orders {"customer": "Ada"}"#,
            Some((
                "POST",
                "/orders",
                Some(serde_json::json!({"customer": "Ada"})),
            )),
        );
        check("POST /orders {not json", None);
        check("POST", None);
        check("POST orders", None);
        check("POST /a /b", None);
    }

    #[test]
    fn partial_last_line_is_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.jsonl");
        assert!(complete_lines(&p).unwrap().is_empty());
        std::fs::write(&p, "{\"a\":1}\n{\"b\":").unwrap();
        assert_eq!(complete_lines(&p).unwrap(), ["{\"a\":1}\n"]);
    }
}
