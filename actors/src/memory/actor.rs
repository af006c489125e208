//! The memory actor: a thin shell that runs store calls on tokio's blocking pool, so redb never
//! blocks an async worker thread.
//!
//! Writes are awaited one at a time, in mailbox order, so the batches of two steps never
//! interleave. Reads are handed to the blocking pool and answered from there, so a slow read does
//! not hold up the mailbox; each sees a consistent redb snapshot.

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::MemoryError;
use super::model::{Direction, Edge, Fact, Relation, Time};
use super::store::MemoryStore;
use super::write::{ApplySummary, Write};

/// Commands to the memory actor; each answers on its reply port.
#[derive(Debug)]
pub enum MemoryMsg {
    /// Apply a batch of writes in one transaction.
    Apply(Vec<Write>, RpcReplyPort<Result<ApplySummary, MemoryError>>),
    /// The planner's context for some repos and contracts (names, not ids).
    ContextFor {
        /// Repo names.
        repos: Vec<String>,
        /// Contract names.
        contracts: Vec<String>,
        /// Where the facts go.
        reply: RpcReplyPort<Result<Vec<Fact>, MemoryError>>,
    },
    /// Every fact about an entity id.
    FactsAbout(String, RpcReplyPort<Result<Vec<Fact>, MemoryError>>),
    /// Edges touching an entity.
    Neighbours {
        /// Entity id.
        id: String,
        /// Only this relation, if set.
        rel: Option<Relation>,
        /// Which way.
        dir: Direction,
        /// Where the edges go.
        reply: RpcReplyPort<Result<Vec<Edge>, MemoryError>>,
    },
    /// What a change to an entity can reach.
    BlastRadius(
        String,
        RpcReplyPort<Result<Vec<(String, u32)>, MemoryError>>,
    ),
    /// Facts due for re-verification.
    ReverifyQueue {
        /// Last verified before this.
        older_than: Time,
        /// At most this many.
        limit: usize,
        /// Where the facts go.
        reply: RpcReplyPort<Result<Vec<Fact>, MemoryError>>,
    },
}

/// The memory actor. Its argument is the store it serves.
pub struct MemoryActor;

impl Actor for MemoryActor {
    type Msg = MemoryMsg;
    type State = MemoryStore;
    type Arguments = MemoryStore;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        store: MemoryStore,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(store)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        store: &mut MemoryStore,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            MemoryMsg::Apply(writes, reply) => {
                let s = store.clone();
                let result = tokio::task::spawn_blocking(move || s.apply(writes))
                    .await
                    .unwrap_or_else(|e| Err(MemoryError::Actor(format!("write task failed: {e}"))));
                // The caller may have timed out and gone; the write stands either way.
                let _ = reply.send(result);
            }
            MemoryMsg::ContextFor {
                repos,
                contracts,
                reply,
            } => read(store, reply, move |s| {
                let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
                let contracts: Vec<&str> = contracts.iter().map(String::as_str).collect();
                s.context_for(&repos, &contracts)
            }),
            MemoryMsg::FactsAbout(id, reply) => read(store, reply, move |s| s.facts_about(&id)),
            MemoryMsg::Neighbours {
                id,
                rel,
                dir,
                reply,
            } => read(store, reply, move |s| s.neighbours(&id, rel, dir)),
            MemoryMsg::BlastRadius(id, reply) => read(store, reply, move |s| s.blast_radius(&id)),
            MemoryMsg::ReverifyQueue {
                older_than,
                limit,
                reply,
            } => read(store, reply, move |s| s.reverify_queue(older_than, limit)),
        }
        Ok(())
    }
}

/// Run a read on the blocking pool and answer from there.
fn read<T: Send + 'static>(
    store: &MemoryStore,
    reply: RpcReplyPort<Result<T, MemoryError>>,
    f: impl FnOnce(&MemoryStore) -> Result<T, MemoryError> + Send + 'static,
) {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        // A caller that timed out has dropped its port; nothing to do then.
        let _ = reply.send(f(&store));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::model::{Method, Provenance};
    use crate::memory::tests::example_org;
    use crate::memory::{Fact, seed_from_org};

    #[tokio::test]
    async fn the_actor_applies_and_answers_queries() {
        let store = MemoryStore::in_memory().expect("store");
        let (actor, handle) = Actor::spawn(None, MemoryActor, store).await.expect("spawn");
        let mut writes = seed_from_org(&example_org());
        let prov = Provenance {
            run: None,
            step: None,
            agent: "test".into(),
            source: "backend@abc:contracts/orders.v1.json".into(),
            method: Method::Declared,
        };
        writes.push(Write::RecordFact(Fact::new(
            "f1",
            "contract:orders.v1",
            "field.total.type",
            "number",
            prov,
            Time(10),
        )));
        let summary = ractor::call_t!(actor, MemoryMsg::Apply, 5000, writes)
            .expect("call")
            .expect("apply");
        assert_eq!(summary.facts_recorded, vec!["f1".to_string()]);

        let facts = actor
            .call(
                |reply| MemoryMsg::ContextFor {
                    repos: vec!["frontend".into()],
                    contracts: vec![],
                    reply,
                },
                Some(std::time::Duration::from_secs(5)),
            )
            .await
            .expect("call")
            .expect("answered")
            .expect("context");
        assert_eq!(facts.len(), 1, "frontend consumes orders.v1: {facts:?}");

        let radius = ractor::call_t!(actor, MemoryMsg::BlastRadius, 5000, "repo:backend".into())
            .expect("call")
            .expect("radius");
        assert!(
            radius.iter().any(|(id, _)| id == "repo:worker"),
            "{radius:?}"
        );

        actor.stop(None);
        handle.await.expect("actor ended");
    }
}
