//! The coordinator actor in-process, through a registry and a loopback transport.
#![allow(clippy::unwrap_used)]

use crate::ids::{Epoch, NodeId, RepoName};
use crate::membership::MembershipConfig;
use crate::service::{CoordinatorActor, CoordinatorArgs, TARGET};
use actors::remote::{Loopback, Registry, RemoteActor, RemoteError};
use protocol::{Body, ErrorCode, ShardGrant};
use ractor::Actor;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Requests as (sender, epoch, body) and the expected reply: a body kind or an error code.
async fn check(steps: Vec<(&str, Option<u64>, Body)>, expected: &[Result<&str, ErrorCode>]) {
    let registry = Registry::new();
    let args = CoordinatorArgs {
        repos: vec![RepoName::new("api")],
        membership: MembershipConfig::default(),
        state_dir: None,
    };
    let (actor, _) = Actor::spawn(None, CoordinatorActor, args).await.unwrap();
    registry.register(TARGET, actor.clone());
    let mut got = Vec::new();
    for (from, epoch, body) in steps {
        let transport = Arc::new(Loopback(registry.clone(), NodeId::new(from)));
        let mut coordinator = RemoteActor::new(transport, TARGET);
        if let Some(e) = epoch {
            coordinator = coordinator.with_epoch(Epoch(e));
        }
        got.push(match coordinator.call(body, Duration::from_secs(5)).await {
            Ok(reply) => Ok(reply.kind()),
            Err(RemoteError::Refused { code, .. }) => Err(code),
            Err(e) => panic!("{e}"),
        });
    }
    actor.stop(None);
    assert_eq!(got, expected);
}

fn register(node: &str) -> Body {
    Body::Register {
        node: NodeId::new(node),
        capacity: 1,
        agents: vec![],
        labels: BTreeMap::new(),
        addr: "127.0.0.1:1".into(),
    }
}

fn update() -> Body {
    Body::RepoUpdate {
        repo: RepoName::new("api"),
        detail: String::new(),
    }
}

#[tokio::test]
async fn requests_and_refusals() {
    check(
        vec![
            ("n1", None, register("n2")),
            (
                "n1",
                None,
                Body::Heartbeat {
                    node: NodeId::new("n1"),
                },
            ),
            ("n1", None, register("n1")),
            (
                "n1",
                None,
                Body::Heartbeat {
                    node: NodeId::new("n1"),
                },
            ),
            ("n1", None, update()),
            ("n1", Some(0), update()),
            ("n1", Some(1), update()),
            ("n2", Some(1), update()),
            ("n1", None, Body::Ping { payload: vec![] }),
            ("admin", None, Body::StatusRequest {}),
        ],
        &[
            Err(ErrorCode::Unauthorized),
            Err(ErrorCode::NotFound),
            Ok("register_ack"),
            Ok("heartbeat_ack"),
            Err(ErrorCode::Malformed),
            Err(ErrorCode::StaleEpoch),
            Ok("ack"),
            Err(ErrorCode::Unauthorized),
            Err(ErrorCode::NotFound),
            Ok("status_reply"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_heartbeat_ack_lists_the_nodes_shards() {
    let registry = Registry::new();
    let args = CoordinatorArgs {
        repos: vec![RepoName::new("api"), RepoName::new("web")],
        membership: MembershipConfig::default(),
        state_dir: None,
    };
    let (actor, _) = Actor::spawn(None, CoordinatorActor, args).await.unwrap();
    registry.register(TARGET, actor.clone());
    let coordinator = RemoteActor::new(Arc::new(Loopback(registry, NodeId::new("n1"))), TARGET);
    coordinator
        .call(register("n1"), Duration::from_secs(5))
        .await
        .unwrap();
    let ack = coordinator
        .call(
            Body::Heartbeat {
                node: NodeId::new("n1"),
            },
            Duration::from_secs(5),
        )
        .await;
    let grant = |r: &str| ShardGrant {
        repo: RepoName::new(r),
        epoch: Epoch(1),
    };
    assert_eq!(
        ack,
        Ok(Body::HeartbeatAck {
            shards: vec![grant("api"), grant("web")]
        })
    );
    actor.stop(None);
}
