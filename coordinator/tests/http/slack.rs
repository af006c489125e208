//! The Slack slash command: signatures, the replay window, and progress posted to response_url.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use factory_coordinator::http::SlackConfig;
use factory_coordinator::http::slack::signature;
use protocol::run::RunStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::support::{Response, Server, send, start, wait_for};

const SECRET: &str = "test-signing-secret";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn form(text: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "ignored"),
        ("team_id", "T1"),
        ("command", "/factory"),
        ("text", text),
        ("user_name", "ada"),
        ("response_url", response_url),
    ])
    .unwrap()
}

async fn command(server: &Server, body: &str, ts: u64, secret: &str) -> Response {
    let ts = ts.to_string();
    let sig = signature(secret.as_bytes(), &ts, body.as_bytes());
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Slack-Request-Timestamp", ts.as_str()),
        ("X-Slack-Signature", sig.as_str()),
    ];
    send(
        server.addr,
        "POST",
        "/slack/command",
        &headers,
        body.as_bytes(),
    )
    .await
}

/// A stand-in for Slack's response_url: every POST body arrives on the channel.
async fn response_url_server() -> (SocketAddr, mpsc::UnboundedReceiver<serde_json::Value>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let body = loop {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "the relay closed before sending its body");
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .expect("content-length");
                    if body.len() >= len {
                        assert!(head.starts_with("POST /hook HTTP/1.1"), "{head}");
                        break body.to_string();
                    }
                }
            };
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            let _ = tx.send(serde_json::from_str(&body).unwrap());
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn forged_and_stale_requests_are_refused() {
    let server = start(Some(SlackConfig::new(SECRET)), false).await;
    let body = form("status run-1", "");
    let forged = command(&server, &body, now(), "not-the-secret").await;
    assert_eq!(forged.status, 401);
    assert!(forged.error_message().contains("bad Slack signature"));
    let stale = command(&server, &body, now() - 6 * 60, SECRET).await;
    assert_eq!(stale.status, 401);
    assert!(stale.error_message().contains("stale Slack request"));
    let unsigned = send(server.addr, "POST", "/slack/command", &[], body.as_bytes()).await;
    assert_eq!(unsigned.status, 401);
    assert!(unsigned.error_message().contains("missing"));

    let off = start(None, false).await;
    let r = command(&off, &body, now(), SECRET).await;
    assert_eq!(r.status, 503);
    assert!(r.error_message().contains("FACTORY_SLACK_SIGNING_SECRET"));
}

#[tokio::test]
async fn ship_acknowledges_at_once_and_posts_progress_to_the_response_url() {
    let server = start(Some(SlackConfig::new(SECRET)), false).await;
    let (hook, mut posts) = response_url_server().await;
    let url = format!("http://{hook}/hook");
    let body = form(
        "ship expose created time | add orders createdAt string:date-time",
        &url,
    );
    let r = command(&server, &body, now(), SECRET).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["response_type"], "ephemeral");
    let runs = server.fake.runs_now();
    assert_eq!(runs.len(), 1);
    let id = runs[0].clone();
    assert!(answer["text"].as_str().unwrap().contains(&id), "{answer}");

    // The progress task subscribes after the answer; wait for it so no update can be missed.
    wait_for("the progress task to watch the run", || {
        server.fake.watchers(&id) > 0
    })
    .await;
    assert!(server.fake.advance(&id, RunStatus::Planned));
    let first = tokio::time::timeout(crate::support::client::DEADLINE, posts.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        first["text"].as_str().unwrap().contains("planned"),
        "{first}"
    );
    assert!(server.fake.advance(&id, RunStatus::Delivered));
    let second = tokio::time::timeout(crate::support::client::DEADLINE, posts.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        second["text"].as_str().unwrap().contains("delivered"),
        "{second}"
    );

    let status = command(&server, &form(&format!("status {id}"), ""), now(), SECRET).await;
    assert!(
        status.json()["text"]
            .as_str()
            .unwrap()
            .contains("delivered"),
        "{}",
        status.text()
    );
    let unknown = command(&server, &form("deploy", ""), now(), SECRET).await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.json()["text"].as_str().unwrap().contains("usage"));
}
