//! The HTTP API over real TCP on 127.0.0.1:0, against an in-memory run service.
// Helpers outside #[test] functions unwrap too: in a test a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "http/pages.rs"]
mod pages;
#[path = "http/slack.rs"]
mod slack;
mod support;

use std::time::Duration;

use protocol::run::RunStatus;
use support::{send, start};

#[tokio::test]
async fn a_bot_submits_lists_and_reads_a_run() {
    let server = start(None, false).await;
    let body = serde_json::json!({
        "title": "expose the order creation time",
        "description": "dashboard and email worker",
        "changes": [{"op": "rename_field", "contract": "orders", "from": "total", "to": "amount"}],
        "change_specs": ["add orders createdAt string:date-time"],
    });
    let r = server
        .post("/v1/runs", &server.tokens.all, &body.to_string())
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/runs/{id}").as_str())
    );

    let list = server.get("/v1/runs", &server.tokens.read).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let runs = list.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["status"], "submitted");

    let one = server
        .get(&format!("/v1/runs/{id}"), &server.tokens.read)
        .await;
    assert_eq!(one.status, 200, "{}", one.text());
    let changes = one.json()["outcome"]["changes"].clone();
    assert_eq!(changes[0]["op"], "rename_field");
    assert_eq!(changes[1]["op"], "add_field");
    assert_eq!(changes[1]["format"], "date-time");

    let missing = server.get("/v1/runs/nope", &server.tokens.read).await;
    assert_eq!(missing.status, 404);
    assert!(missing.error_message().contains("no run `nope`"));
    let garbled = server.get("/v1/runs/%FF", &server.tokens.read).await;
    assert_eq!(garbled.status, 400, "{}", garbled.text());
    assert!(garbled.error_message().contains("bad path"));
}

#[tokio::test]
async fn tokens_are_checked_with_clear_messages() {
    let server = start(None, false).await;
    let check = |status: u16, message: &'static str| {
        move |r: support::Response| {
            assert_eq!(r.status, status, "{}", r.text());
            let got = r.error_message();
            assert!(got.contains(message), "{got:?} lacks {message:?}");
        }
    };
    let none = send(server.addr, "GET", "/v1/runs", &[], b"").await;
    check(401, "missing token")(none);
    let basic = send(
        server.addr,
        "GET",
        "/v1/runs",
        &[("Authorization", "Basic eDp5")],
        b"",
    )
    .await;
    check(401, "must be `Bearer <token>`")(basic);
    check(401, "unknown or revoked token")(server.get("/v1/runs", "fct_00").await);
    let body = r#"{"title": "t"}"#;
    check(403, "lacks the `submit` scope")(
        server.post("/v1/runs", &server.tokens.read, body).await,
    );
    check(403, "lacks the `read` scope")(server.get("/v1/runs", &server.tokens.submit).await);
    let id = server.submit("t").await;
    let approve = format!("/v1/runs/{id}/approve");
    check(403, "lacks the `approve` scope")(server.post(&approve, &server.tokens.read, "{}").await);

    // Revocation takes effect at the next request, without a restart.
    assert_eq!(
        server.get("/v1/runs", &server.tokens.read).await.status,
        200
    );
    server.store.revoke("reader").unwrap();
    check(401, "unknown or revoked token")(server.get("/v1/runs", &server.tokens.read).await);

    // Health and the description need no token.
    assert_eq!(
        send(server.addr, "GET", "/health", &[], b"").await.status,
        200
    );
    let openapi = send(server.addr, "GET", "/openapi.yaml", &[], b"").await;
    assert_eq!(openapi.status, 200);
    assert!(openapi.text().starts_with("openapi: 3.1"));
    let wrong_method = send(server.addr, "DELETE", "/v1/runs", &[], b"").await;
    assert_eq!(wrong_method.status, 405);
    assert!(
        wrong_method
            .error_message()
            .contains("does not take that method")
    );
    check(404, "no such route")(send(server.addr, "GET", "/v2/nothing", &[], b"").await);
}

#[tokio::test]
async fn bodies_are_checked_with_clear_messages() {
    let server = start(None, false).await;
    let token = &server.tokens.submit;
    let check = |r: support::Response, status: u16, message: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let got = r.error_message();
        assert!(got.contains(message), "{got:?} lacks {message:?}");
    };
    let big = format!(
        r#"{{"title": "t", "description": "{}"}}"#,
        "x".repeat(100 * 1024)
    );
    check(
        server.post("/v1/runs", token, &big).await,
        413,
        "larger than the limit of 65536 bytes",
    );
    check(
        server.post("/v1/runs", token, r#"{"title": "#).await,
        400,
        "malformed JSON body",
    );
    check(
        server.post("/v1/runs", token, "[1]").await,
        400,
        "malformed JSON body",
    );
    let unknown = r#"{"title": "t", "colour": "red"}"#;
    check(
        server.post("/v1/runs", token, unknown).await,
        400,
        "unknown field `colour`",
    );
    check(
        server.post("/v1/runs", token, r#"{"title": " "}"#).await,
        400,
        "`title` must not be empty",
    );
    let spec = r#"{"title": "t", "change_specs": ["explode orders"]}"#;
    check(
        server.post("/v1/runs", token, spec).await,
        400,
        "change_specs[0]",
    );
    assert!(
        server.fake.runs_now().is_empty(),
        "a refused body must not submit a run"
    );
}

#[tokio::test]
async fn approval_needs_a_delivered_run() {
    let server = start(None, false).await;
    let id = server.submit("ship it").await;
    let approve = format!("/v1/runs/{id}/approve");
    let early = server.post(&approve, &server.tokens.approve, "{}").await;
    assert_eq!(early.status, 409, "{}", early.text());
    assert!(early.error_message().contains("not delivered"));

    assert!(server.fake.advance(&id, RunStatus::Delivered));
    let ok = server
        .post(
            &approve,
            &server.tokens.approve,
            r#"{"note": "looks right"}"#,
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let approval = ok.json()["approval"].clone();
    assert_eq!(approval["approved"], true);
    assert_eq!(approval["by"], "approver");
    assert_eq!(approval["note"], "looks right");

    let reject = format!("/v1/runs/{id}/reject");
    let twice = server.post(&reject, &server.tokens.approve, "{}").await;
    assert_eq!(twice.status, 409, "{}", twice.text());
    let nobody = server
        .post("/v1/runs/nope/reject", &server.tokens.approve, "{}")
        .await;
    assert_eq!(nobody.status, 404, "{}", nobody.text());
}

#[tokio::test]
async fn events_follow_a_run_until_it_is_delivered() {
    let server = start(None, false).await;
    let id = server.submit("follow me").await;
    let auth = format!("Bearer {}", server.tokens.read);
    let path = format!("/v1/runs/{id}/events");
    let mut stream =
        support::client::open(server.addr, "GET", &path, &[("Authorization", &auth)], b"").await;
    assert_eq!(stream.status, 200);
    let status = |e: support::client::SseEvent| {
        assert_eq!(e.event, "run");
        let record: serde_json::Value = serde_json::from_str(&e.data).unwrap();
        record["status"].as_str().unwrap().to_string()
    };
    // The current state comes first; the stream subscribed before sending it.
    assert_eq!(status(stream.next_event().await.unwrap()), "submitted");
    let steps = [
        RunStatus::Planned,
        RunStatus::Changing,
        RunStatus::Verifying,
        RunStatus::Delivered,
    ];
    let mut seen = Vec::new();
    for step in steps {
        assert!(server.fake.advance(&id, step));
        seen.push(status(
            stream.next_event().await.expect("an event per update"),
        ));
    }
    assert_eq!(seen, ["planned", "changing", "verifying", "delivered"]);
    assert!(
        stream.next_event().await.is_none(),
        "the stream must end once the run is final"
    );

    let missing = server
        .get("/v1/runs/nope/events", &server.tokens.read)
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_trickling_client_is_cut_off() {
    let server =
        support::start_with(None, |c| c.request_timeout = Duration::from_millis(200)).await;
    // Promise a body and never send it.
    let auth = format!("Bearer {}", server.tokens.submit);
    let headers = [("Authorization", auth.as_str()), ("Content-Length", "100")];
    let started = std::time::Instant::now();
    let open = support::client::open(server.addr, "POST", "/v1/runs", &headers, b"");
    let r = tokio::time::timeout(support::client::DEADLINE, open)
        .await
        .expect("the server must answer a stalled request by itself");
    assert_eq!(r.status, 503, "{:?}", r.headers);
    assert!(started.elapsed() >= Duration::from_millis(200));
}
