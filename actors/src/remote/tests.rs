#![allow(clippy::unwrap_used)]

use super::*;
use protocol::{Body, Epoch, ErrorCode};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::sync::Arc;
use std::time::Duration;

/// Echoes pings, reports the epoch it was sent under in the pong, panics on an empty ping, and
/// never answers a ping of [0].
struct Echo;

struct EchoMsg(Inbound);

impl From<Inbound> for EchoMsg {
    fn from(inbound: Inbound) -> Self {
        EchoMsg(inbound)
    }
}

impl Actor for Echo {
    type Msg = EchoMsg;
    type State = Vec<Inbound>;
    type Arguments = ();

    async fn pre_start(
        &self,
        _: ActorRef<EchoMsg>,
        _: (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(Vec::new())
    }

    async fn handle(
        &self,
        _: ActorRef<EchoMsg>,
        EchoMsg(inbound): EchoMsg,
        parked: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let epoch = inbound.envelope.epoch.map_or(0, |e| e.0 as u8);
        match &inbound.envelope.body {
            Body::Ping { payload } if payload.is_empty() => panic!("empty ping"),
            Body::Ping { payload } if payload == &[0] => parked.push(inbound),
            Body::Ping { payload } => {
                let mut payload = payload.clone();
                payload.push(epoch);
                let _ = inbound.reply.send(Body::Pong { payload });
            }
            _ => {
                let _ = inbound
                    .reply
                    .send(Body::error(ErrorCode::Malformed, "expected a ping"));
            }
        }
        Ok(())
    }
}

async fn node_with_echo() -> (Registry, Arc<dyn Transport>) {
    let registry = Registry::new();
    let (echo, _) = Actor::spawn(None, Echo, ()).await.unwrap();
    registry.register("echo", echo);
    let transport: Arc<dyn Transport> =
        Arc::new(Loopback(registry.clone(), protocol::NodeId::new("test")));
    (registry, transport)
}

/// Call `target` with a ping of `payload` under `epoch`; render the outcome.
async fn check(
    target: &str,
    payload: &[u8],
    epoch: Option<u64>,
    expected: Result<Vec<u8>, ErrorCode>,
) {
    let (_registry, transport) = node_with_echo().await;
    let mut actor = RemoteActor::new(transport, target);
    if let Some(e) = epoch {
        actor = actor.with_epoch(Epoch(e));
    }
    let got = actor
        .call(
            Body::Ping {
                payload: payload.to_vec(),
            },
            Duration::from_millis(300),
        )
        .await;
    let got = match got {
        Ok(Body::Pong { payload }) => Ok(payload),
        Ok(other) => panic!("unexpected reply {other:?}"),
        Err(RemoteError::Refused { code, .. }) => Err(code),
        Err(RemoteError::DeadlineExceeded) => Err(ErrorCode::DeadlineExceeded),
        Err(e) => panic!("unexpected error {e}"),
    };
    assert_eq!(got, expected);
}

#[tokio::test]
async fn calls_reach_the_named_actor_and_carry_the_epoch() {
    check("echo", &[7], None, Ok(vec![7, 0])).await;
    check("echo", &[7], Some(3), Ok(vec![7, 3])).await;
}

#[tokio::test]
async fn failures_come_back_as_error_codes() {
    check("nobody", &[7], None, Err(ErrorCode::NotFound)).await;
    check("echo", &[], None, Err(ErrorCode::Internal)).await;
    check("echo", &[0], None, Err(ErrorCode::DeadlineExceeded)).await;
}

#[tokio::test]
async fn a_stopped_actor_is_not_found() {
    let (registry, transport) = node_with_echo().await;
    let (gone, handle) = Actor::spawn(None, Echo, ()).await.unwrap();
    registry.register("gone", gone.clone());
    gone.stop(None);
    handle.await.unwrap();
    let err = RemoteActor::new(transport, "gone")
        .send(Body::Ping { payload: vec![1] }, Duration::from_secs(1))
        .await;
    assert!(
        matches!(
            err,
            Err(RemoteError::Refused {
                code: ErrorCode::NotFound,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(registry.names(), vec!["echo".to_owned(), "gone".to_owned()]);
}

#[tokio::test]
async fn calls_cross_quic_to_the_registry_of_another_node() {
    let ca = crate::net::testkit::TestCa::new();
    let (registry, _) = node_with_echo().await;
    let server = ca.start("node-b", RegistryHandler(registry));
    let client = ca.start("node-a", crate::net::PingHandler);
    let transport: Arc<dyn Transport> = Arc::new(Quic {
        endpoint: client,
        addr: server.local_addr().unwrap(),
    });
    let echo = RemoteActor::new(transport.clone(), "echo").with_epoch(Epoch(5));
    let reply = echo
        .call(Body::Ping { payload: vec![9] }, Duration::from_secs(5))
        .await;
    assert_eq!(
        reply,
        Ok(Body::Pong {
            payload: vec![9, 5]
        })
    );
    let missing = RemoteActor::new(transport, "missing");
    let err = missing
        .call(Body::Ping { payload: vec![1] }, Duration::from_secs(5))
        .await;
    assert!(
        matches!(
            err,
            Err(RemoteError::Refused {
                code: ErrorCode::NotFound,
                ..
            })
        ),
        "{err:?}"
    );
}
