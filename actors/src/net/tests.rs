//! Real QUIC on loopback: request/reply, refused certificates, bad frames, deadlines.

use crate::net::testkit::{TestCa, raw_exchange, start_with};
use crate::net::*;
use protocol::{Body, DEFAULT_MAX_FRAME, Envelope, ErrorCode, NodeId, encode_frame};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Answers `Ping` with the caller's node name as payload; never answers target `slow`.
fn echo_peer() -> FnHandler<impl Fn(PeerInfo, Envelope) -> std::future::Ready<Body> + Clone> {
    FnHandler(|peer: PeerInfo, req: Envelope| {
        std::future::ready(match req.body {
            Body::Ping { .. } => Body::Pong {
                payload: peer.node.0.into_bytes(),
            },
            other => Body::error(ErrorCode::NotFound, other.kind()),
        })
    })
}

struct SlowOrPing;

impl Handler for SlowOrPing {
    async fn handle(&self, peer: PeerInfo, req: Envelope) -> Body {
        if req.target == "slow" {
            std::future::pending::<()>().await;
        }
        PingHandler.handle(peer, req).await
    }
}

fn ping(n: u8) -> Body {
    Body::Ping { payload: vec![n] }
}

async fn wait_stat(ep: &Endpoint, pred: impl FnMut(&StatsSnapshot) -> bool) -> StatsSnapshot {
    tokio::time::timeout(WAIT, ep.stats().wait_for(pred))
        .await
        .expect("server counter did not change in time")
}

#[tokio::test]
async fn request_reply_carries_certificate_identity() {
    let ca = TestCa::new();
    let server = ca.start("server", echo_peer());
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    let reply = client.call(addr, "a/b", ping(1), WAIT).await.expect("call");
    assert_eq!(
        reply,
        Body::Pong {
            payload: b"client".to_vec()
        }
    );
    let peer = client.peer(addr).await.expect("cached peer");
    assert_eq!(peer.node(), &NodeId::new("server"));
    assert_eq!(server.stats().snapshot().connections_accepted, 1);
}

#[tokio::test]
async fn cache_reconnects_after_connection_closes() {
    let ca = TestCa::new();
    let server = ca.start("server", PingHandler);
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    client
        .call(addr, "x", ping(1), WAIT)
        .await
        .expect("first call");
    let peer = client.peer(addr).await.expect("peer");
    peer.connection().close(0u32.into(), b"test");
    let reply = client
        .call(addr, "x", ping(2), WAIT)
        .await
        .expect("call after close");
    assert_eq!(reply, Body::Pong { payload: vec![2] });
    wait_stat(&server, |s| s.connections_accepted == 2).await;
}

#[tokio::test]
async fn one_way_message_reaches_handler() {
    let ca = TestCa::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let server = ca.start(
        "server",
        FnHandler(move |peer: PeerInfo, msg: Envelope| {
            let _ = tx.send((peer.node, msg.body));
            std::future::ready(Body::Pong { payload: vec![] })
        }),
    );
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    let msg = Envelope::request("x", deadline_after(WAIT), ping(7));
    client.send(addr, msg).await.expect("send");
    let got = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("message in time");
    assert_eq!(got, Some((NodeId::new("client"), ping(7))));
}

/// Connects with `identity` to a server of `ca` and expects a refusal at connect time, seen by
/// both sides.
async fn check_refused(ca: &TestCa, identity: Identity) {
    let server = ca.start("server", PingHandler);
    let client = start_with(identity, PingHandler);
    let addr = server.local_addr().expect("addr");
    match client.connect(addr).await {
        Err(NetError::Refused { detail, .. }) => {
            assert!(detail.contains("certificate"), "unclear refusal: {detail}")
        }
        other => panic!("expected a refusal at connect, got {other:?}"),
    }
    wait_stat(&server, |s| s.handshakes_refused == 1).await;
    assert_eq!(server.stats().snapshot().connections_accepted, 0);
}

#[tokio::test]
async fn foreign_ca_is_refused_at_connect() {
    let ca = TestCa::new();
    let foreign = TestCa::new();
    // The client trusts the cluster CA but its own certificate comes from elsewhere.
    let identity = Identity {
        ca: ca.identity("server").ca,
        ..foreign.identity("client")
    };
    check_refused(&ca, identity).await;
}

#[tokio::test]
async fn expired_certificate_is_refused_at_connect() {
    let ca = TestCa::new();
    let identity = ca.expired_identity("client");
    check_refused(&ca, identity).await;
}

#[tokio::test]
async fn server_with_expired_certificate_is_refused_by_client() {
    let ca = TestCa::new();
    let server = start_with(ca.expired_identity("server"), PingHandler);
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    match client.connect(addr).await {
        Err(NetError::Connect { detail, .. }) => {
            assert!(detail.contains("certificate"), "unclear error: {detail}")
        }
        other => panic!("expected a connect failure, got {other:?}"),
    }
}

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn bad_frames_fail_their_stream_only() {
    let ca = TestCa::new();
    let server = ca.start("server", PingHandler);
    let addr = server.local_addr().expect("addr");
    let bad = ca.start("bad", PingHandler);
    let good = ca.start("good", PingHandler);

    // A second client keeps calling while the first one sends bad frames.
    let steady = tokio::spawn(async move {
        for n in 0..50u8 {
            let reply = good
                .call(addr, "x", ping(n), WAIT)
                .await
                .expect("steady call");
            assert_eq!(reply, Body::Pong { payload: vec![n] });
        }
    });

    let conn = bad.peer(addr).await.expect("peer").connection().clone();
    let wrong_version = Envelope {
        version: 99,
        ..Envelope::request("x", deadline_after(WAIT), ping(0))
    };
    let mut oversized = ((DEFAULT_MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
    oversized.extend(vec![0u8; 1024]);
    let cases = [
        (frame_of(b"not msgpack"), ErrorCode::Malformed),
        (vec![0, 0, 0, 9, 1], ErrorCode::Malformed),
        (oversized, ErrorCode::TooLarge),
        (
            encode_frame(&wrong_version, DEFAULT_MAX_FRAME).expect("encode"),
            ErrorCode::UnsupportedVersion,
        ),
    ];
    for (bytes, expected) in &cases {
        let reply = raw_exchange(&conn, bytes, WAIT).await.expect("error reply");
        match reply.body {
            Body::Error { code, .. } => assert_eq!(code, *expected),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
    // The same connection still serves good requests.
    let reply = bad
        .call(addr, "x", ping(9), WAIT)
        .await
        .expect("call after bad frames");
    assert_eq!(reply, Body::Pong { payload: vec![9] });
    steady.await.expect("steady client");
    assert_eq!(
        server.stats().snapshot().frames_rejected,
        cases.len() as u64
    );
}

#[tokio::test]
async fn slow_handler_yields_deadline_exceeded() {
    let ca = TestCa::new();
    let server = ca.start("server", SlowOrPing);
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    let err = client
        .call(addr, "slow", ping(1), Duration::from_millis(300))
        .await
        .expect_err("slow call must time out");
    assert_eq!(err.code(), Some(ErrorCode::DeadlineExceeded), "{err:?}");
}

#[tokio::test]
async fn server_refuses_expired_request() {
    let ca = TestCa::new();
    let server = ca.start("server", PingHandler);
    let client = ca.start("client", PingHandler);
    let addr = server.local_addr().expect("addr");
    let conn = client.peer(addr).await.expect("peer").connection().clone();
    let expired = Envelope::request("x", unix_ms().saturating_sub(1000), ping(1));
    let bytes = encode_frame(&expired, DEFAULT_MAX_FRAME).expect("encode");
    let reply = raw_exchange(&conn, &bytes, WAIT).await.expect("reply");
    assert_eq!(reply.correlation, Some(expired.id));
    match reply.body {
        Body::Error { code, .. } => assert_eq!(code, ErrorCode::DeadlineExceeded),
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    // The client refuses to send an already expired request at all.
    let err = client.request(addr, expired).await.expect_err("expired");
    assert_eq!(err.code(), Some(ErrorCode::DeadlineExceeded));
}

/// Sends `first` as the first request of a raw connection and returns the error code answered.
async fn check_hello_refused(first: Body, expected: ErrorCode) {
    let ca = TestCa::new();
    let server = ca.start("server", PingHandler);
    let addr = server.local_addr().expect("addr");
    let conn = crate::net::testkit::raw_connect(&ca.identity("client"), addr)
        .await
        .expect("raw connect");
    let req = Envelope::request("net/hello", deadline_after(WAIT), first);
    let bytes = encode_frame(&req, DEFAULT_MAX_FRAME).expect("encode");
    let reply = raw_exchange(&conn, &bytes, WAIT).await.expect("reply");
    match reply.body {
        Body::Error { code, .. } => assert_eq!(code, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    wait_stat(&server, |s| s.hellos_refused == 1).await;
    tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("server closes the connection");
}

#[tokio::test]
async fn hello_naming_another_node_is_refused() {
    let hello = Body::Hello {
        node: NodeId::new("mallory"),
        protocol_versions: vec![protocol::PROTOCOL_VERSION],
    };
    check_hello_refused(hello, ErrorCode::Unauthorized).await;
}

#[tokio::test]
async fn hello_without_a_common_version_is_refused() {
    let hello = Body::Hello {
        node: NodeId::new("client"),
        protocol_versions: vec![99],
    };
    check_hello_refused(hello, ErrorCode::UnsupportedVersion).await;
}

#[tokio::test]
async fn first_stream_must_be_hello() {
    check_hello_refused(ping(1), ErrorCode::Malformed).await;
}
