//! The per-node registry of actors that other nodes may address.

use protocol::{Body, Envelope, ErrorCode, NodeId};
use ractor::concurrency::oneshot;
use ractor::{ActorRef, Message, RpcReplyPort};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A request addressed to a local actor. Actors that accept remote requests take it as one of
/// their messages (`impl From<Inbound> for MyMsg`) and answer on `reply`.
pub struct Inbound {
    /// The sending node, as proven by its certificate.
    pub from: NodeId,
    /// The request as it arrived.
    pub envelope: Envelope,
    /// Where the actor answers.
    pub reply: RpcReplyPort<Body>,
}

/// Delivers an inbound request to the current incarnation of one actor; gives the request back
/// if the actor is gone.
type Endpoint = Arc<dyn Fn(Inbound) -> Result<(), ()> + Send + Sync>;

/// Local actors by name. Cheap to clone; clones share the table. Not ractor's own registry,
/// which is global to the process: two nodes in one process each have their own.
#[derive(Clone, Default)]
pub struct Registry {
    endpoints: Arc<RwLock<HashMap<String, Endpoint>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Make `actor` reachable as `name`, replacing whatever had the name (a restarted actor
    /// registers its new incarnation this way).
    pub fn register<M>(&self, name: impl Into<String>, actor: ActorRef<M>)
    where
        M: Message + From<Inbound>,
    {
        let endpoint: Endpoint =
            Arc::new(move |inbound| actor.send_message(M::from(inbound)).map_err(|_| ()));
        self.table_mut().insert(name.into(), endpoint);
    }

    /// Remove a name.
    pub fn unregister(&self, name: &str) {
        self.table_mut().remove(name);
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.table().keys().cloned().collect();
        names.sort();
        names
    }

    /// Hand a request to the actor it names and wait for the reply until the request's
    /// deadline. Failures become error replies: the caller always gets an envelope back.
    pub async fn dispatch(&self, from: NodeId, request: Envelope) -> Envelope {
        let body = self.deliver(from, &request).await;
        request.reply(body)
    }

    /// Like [`Registry::dispatch`], returning only the reply body.
    pub async fn deliver(&self, from: NodeId, request: &Envelope) -> Body {
        let now = super::now_unix_ms();
        if request.expired_at(now) {
            return Body::error(
                ErrorCode::DeadlineExceeded,
                "deadline passed before delivery",
            );
        }
        let endpoint = self.table().get(&request.target).cloned();
        let Some(endpoint) = endpoint else {
            return Body::error(
                ErrorCode::NotFound,
                format!("no actor named {}", request.target),
            );
        };
        let (tx, rx) = oneshot();
        let inbound = Inbound {
            from,
            envelope: request.clone(),
            reply: RpcReplyPort::from(tx),
        };
        if endpoint(inbound).is_err() {
            return Body::error(
                ErrorCode::NotFound,
                format!("actor {} has stopped", request.target),
            );
        }
        let wait = Duration::from_millis(request.deadline_unix_ms.saturating_sub(now));
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(body)) => body,
            // The actor dropped the port: it failed while handling the request.
            Ok(Err(_)) => Body::error(
                ErrorCode::Internal,
                format!("actor {} failed", request.target),
            ),
            Err(_) => Body::error(ErrorCode::DeadlineExceeded, "no reply before the deadline"),
        }
    }

    fn table(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Endpoint>> {
        // A poisoned lock only means a panic elsewhere while holding it; the map is still whole
        // because every write is a single insert or remove.
        self.endpoints.read().unwrap_or_else(|e| e.into_inner())
    }

    fn table_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Endpoint>> {
        self.endpoints.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Serves a registry on a QUIC endpoint: each request goes to the actor it names.
#[derive(Clone)]
pub struct RegistryHandler(pub Registry);

impl crate::net::Handler for RegistryHandler {
    async fn handle(&self, peer: crate::net::PeerInfo, req: Envelope) -> Body {
        self.0.deliver(peer.node, &req).await
    }
}
