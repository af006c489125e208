//! The serving side: accept loop, one task per connection, one task per stream.

use crate::net::config::EndpointConfig;
use crate::net::handler::{DynHandler, PeerInfo};
use crate::net::stats::Stats;
use crate::net::tls::connection_peer;
use crate::net::wire::{ReadFailure, read_envelope, write_envelope};
use crate::telemetry;
use protocol::{Body, DecodeError, Envelope, ErrorCode, NodeId, PROTOCOL_VERSION};
use std::sync::Arc;
use std::time::Duration;
use tracing::{Instrument, debug, warn};

/// QUIC application close code sent when a connection's hello is refused.
pub const CLOSE_HELLO_REFUSED: u32 = 1;

/// What every serving task shares.
pub(crate) struct Shared {
    pub node: NodeId,
    pub config: EndpointConfig,
    pub handler: Arc<dyn DynHandler>,
    pub stats: Arc<Stats>,
}

/// Accepts connections until the endpoint closes.
pub(crate) async fn accept_loop(endpoint: quinn::Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(serve_connection(incoming, shared.clone()));
    }
    debug!(node = %shared.node, "net.accept stopped");
}

async fn serve_connection(incoming: quinn::Incoming, shared: Arc<Shared>) {
    let addr = incoming.remote_address();
    let conn = match incoming.await {
        Ok(conn) => conn,
        Err(error) => {
            warn!(%addr, %error, "net.accept handshake refused");
            shared.stats.update(|s| s.handshakes_refused += 1);
            return;
        }
    };
    let node = match connection_peer(&conn) {
        Ok(node) => node,
        Err(error) => {
            warn!(%addr, %error, "net.accept peer has no usable identity");
            conn.close(CLOSE_HELLO_REFUSED.into(), b"no identity");
            shared.stats.update(|s| s.handshakes_refused += 1);
            return;
        }
    };
    let peer = PeerInfo { node, addr };
    if let Err(reason) = accept_hello(&conn, &peer, &shared).await {
        warn!(peer = %peer.node, %addr, %reason, "net.accept hello refused");
        conn.close(CLOSE_HELLO_REFUSED.into(), reason.as_bytes());
        shared.stats.update(|s| s.hellos_refused += 1);
        return;
    }
    shared.stats.update(|s| s.connections_accepted += 1);
    debug!(peer = %peer.node, %addr, "net.accept connection ready");
    loop {
        tokio::select! {
            bi = conn.accept_bi() => match bi {
                Ok((send, recv)) => {
                    tokio::spawn(serve_request(send, recv, peer.clone(), shared.clone()));
                }
                Err(error) => {
                    debug!(peer = %peer.node, %error, "net.accept connection ended");
                    break;
                }
            },
            uni = conn.accept_uni() => match uni {
                Ok(recv) => {
                    tokio::spawn(serve_message(recv, peer.clone(), shared.clone()));
                }
                Err(error) => {
                    debug!(peer = %peer.node, %error, "net.accept connection ended");
                    break;
                }
            },
        }
    }
}

/// Reads the hello from the first stream and answers it; `Err` carries the refusal reason.
async fn accept_hello(
    conn: &quinn::Connection,
    peer: &PeerInfo,
    shared: &Shared,
) -> Result<(), String> {
    let accept = tokio::time::timeout(shared.config.hello_timeout(), conn.accept_bi());
    let (mut send, mut recv) = match accept.await {
        Ok(Ok(streams)) => streams,
        Ok(Err(e)) => return Err(format!("connection ended before hello: {e}")),
        Err(_) => return Err("no hello in time".into()),
    };
    let read = tokio::time::timeout(
        shared.config.hello_timeout(),
        read_envelope(&mut recv, shared.config.max_frame),
    );
    let req = match read.await {
        Ok(Ok(req)) => req,
        Ok(Err(ReadFailure::Decode(e))) => {
            let _ = write_envelope(&mut send, &error_reply(&e), shared.config.max_frame).await;
            let _ = tokio::time::timeout(shared.config.hello_timeout(), send.stopped()).await;
            return Err(format!("bad hello frame: {e}"));
        }
        Ok(Err(ReadFailure::Stream(e))) => return Err(format!("hello stream failed: {e}")),
        Err(_) => return Err("hello not received in time".into()),
    };
    let verdict = match &req.body {
        Body::Hello { node, .. } if *node != peer.node => Err((
            ErrorCode::Unauthorized,
            format!("hello names {node} but certificate names {}", peer.node),
        )),
        Body::Hello {
            protocol_versions, ..
        } if !protocol_versions.contains(&PROTOCOL_VERSION) => Err((
            ErrorCode::UnsupportedVersion,
            format!("peer speaks {protocol_versions:?}, we speak {PROTOCOL_VERSION}"),
        )),
        Body::Hello { .. } => Ok(()),
        other => Err((
            ErrorCode::Malformed,
            format!("first stream must be hello, got {}", other.kind()),
        )),
    };
    let body = match &verdict {
        Ok(()) => Body::HelloAck {
            node: shared.node.clone(),
        },
        Err((code, detail)) => Body::error(*code, detail.clone()),
    };
    write_envelope(&mut send, &req.reply(body), shared.config.max_frame)
        .await
        .map_err(|e| format!("cannot answer hello: {e}"))?;
    if verdict.is_err() {
        // Closing the connection discards unsent stream data, so let the refusal reach the
        // peer first (bounded: a peer that never acknowledges is closed anyway).
        let _ = tokio::time::timeout(shared.config.hello_timeout(), send.stopped()).await;
    }
    verdict.map_err(|(_, detail)| detail)
}

/// Serves one request stream: one frame in, one frame out.
async fn serve_request(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    peer: PeerInfo,
    shared: Arc<Shared>,
) {
    let max = shared.config.max_frame;
    let reply = match read_envelope(&mut recv, max).await {
        Ok(req) => answer(req, peer.clone(), &shared).await,
        Err(ReadFailure::Decode(error)) => {
            warn!(peer = %peer.node, addr = %peer.addr, %error, "net.stream rejected frame");
            shared.stats.update(|s| s.frames_rejected += 1);
            // Stop the peer from sending the rest of a frame we will not read.
            let _ = recv.stop(0u32.into());
            error_reply(&error)
        }
        Err(ReadFailure::Stream(error)) => {
            debug!(peer = %peer.node, %error, "net.stream request stream failed");
            return;
        }
    };
    if let Err(error) = write_envelope(&mut send, &reply, max).await {
        debug!(peer = %peer.node, %error, "net.stream cannot write reply");
    }
}

/// Runs the handler under the request's deadline, inside an `rpc.server` span whose parent is
/// the caller's span (from the envelope's trace context headers).
async fn answer(req: Envelope, peer: PeerInfo, shared: &Shared) -> Envelope {
    let span = telemetry::server_span(&peer.node, &req);
    let reply = answer_in_span(req, peer, shared)
        .instrument(span.clone())
        .await;
    if let Body::Error { code, detail } = &reply.body {
        telemetry::record_error(&span, &format_args!("{code:?}: {detail}"));
    }
    reply
}

async fn answer_in_span(req: Envelope, peer: PeerInfo, shared: &Shared) -> Envelope {
    let now = unix_ms();
    if req.expired_at(now) {
        return req.reply(Body::error(
            ErrorCode::DeadlineExceeded,
            format!("deadline passed {} ms ago", now - req.deadline_unix_ms),
        ));
    }
    let budget = Duration::from_millis(req.deadline_unix_ms - now);
    // The reply shell is built before `req` moves into the handler, so no body is cloned.
    let mut reply = req.reply(Body::Pong {
        payload: Vec::new(),
    });
    reply.body = match tokio::time::timeout(budget, shared.handler.handle_dyn(peer, req)).await {
        Ok(body) => body,
        Err(_) => Body::error(
            ErrorCode::DeadlineExceeded,
            format!("handler ran past the {} ms deadline", budget.as_millis()),
        ),
    };
    reply
}

/// Serves one one-way message stream.
async fn serve_message(mut recv: quinn::RecvStream, peer: PeerInfo, shared: Arc<Shared>) {
    match read_envelope(&mut recv, shared.config.max_frame).await {
        Ok(msg) if msg.expired_at(unix_ms()) => {
            debug!(peer = %peer.node, target = %msg.target, "net.stream dropped expired message");
        }
        Ok(msg) => {
            let span = telemetry::server_span(&peer.node, &msg);
            shared.handler.notify_dyn(peer, msg).instrument(span).await
        }
        Err(ReadFailure::Decode(error)) => {
            warn!(peer = %peer.node, addr = %peer.addr, %error, "net.stream rejected frame");
            shared.stats.update(|s| s.frames_rejected += 1);
            let _ = recv.stop(0u32.into());
        }
        Err(ReadFailure::Stream(error)) => {
            debug!(peer = %peer.node, %error, "net.stream message stream failed");
        }
    }
}

/// The error envelope for a frame that could not be read (no request id to correlate).
fn error_reply(error: &DecodeError) -> Envelope {
    let code = match error {
        DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
        DecodeError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
        DecodeError::Malformed(_) | DecodeError::Truncated => ErrorCode::Malformed,
    };
    Envelope::request("", 0, Body::error(code, error.to_string()))
}

/// Milliseconds since the Unix epoch, from the system clock (deadlines cross machines).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
