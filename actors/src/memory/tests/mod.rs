//! Store tests on an example org: backend provides orders.v1 (HTTP) and order-events.v1 (event);
//! frontend reads orders.v1, worker reads order-events.v1; infra stands alone.

use std::path::PathBuf;

use super::*;
use crate::org::model::{Commands, Consumed, Manifest, Medium, Org, Provided, Repo, UnitKind};

fn repo(
    name: &str,
    owner: &str,
    kind: UnitKind,
    provides: Vec<Provided>,
    consumes: Vec<Consumed>,
) -> Repo {
    Repo {
        name: name.into(),
        origin: format!("git@example.org:{name}.git"),
        owner: owner.into(),
        manifest: Manifest {
            kind,
            deploy_after: vec![],
            commands: Commands {
                test: "true".into(),
                ..Commands::default()
            },
            provides,
            consumes,
            ui_pages: vec![],
        },
    }
}

fn provided(contract: &str, medium: Medium) -> Provided {
    Provided {
        contract: contract.into(),
        medium,
        schema_path: PathBuf::from(format!("contracts/{contract}.json")),
        schema: serde_json::json!({"type": "object"}),
    }
}

fn consumed(contract: &str, reads: &[&str]) -> Consumed {
    Consumed {
        contract: contract.into(),
        reads: reads.iter().map(|s| s.to_string()).collect(),
    }
}

/// The example org used by the memory tests.
pub(crate) fn example_org() -> Org {
    let http = Medium::Http {
        method: "GET".into(),
        path: "/orders/1001".into(),
    };
    let event = Medium::Event {
        channel: "orders".into(),
        trigger: Some("POST /orders".into()),
    };
    Org {
        name: "shop".into(),
        repos: vec![
            repo(
                "backend",
                "orders-team",
                UnitKind::Service,
                vec![
                    provided("orders.v1", http),
                    provided("order-events.v1", event),
                ],
                vec![],
            ),
            repo(
                "frontend",
                "web-team",
                UnitKind::Frontend,
                vec![],
                vec![consumed("orders.v1", &["id", "total"])],
            ),
            repo(
                "worker",
                "orders-team",
                UnitKind::Worker,
                vec![],
                vec![consumed("order-events.v1", &["id", "items[].sku"])],
            ),
            repo("infra", "platform", UnitKind::Infra, vec![], vec![]),
        ],
    }
}

pub(super) fn seeded() -> MemoryStore {
    let store = MemoryStore::in_memory().expect("store");
    store.apply(seed_from_org(&example_org())).expect("seed");
    store
}

pub(super) fn prov(method: Method) -> Provenance {
    Provenance {
        run: Some("run-1".into()),
        step: Some("plan".into()),
        agent: "planner".into(),
        source: "backend@abc123:contracts/orders.v1.json".into(),
        method,
    }
}

pub(super) fn fact(id: &str, subject: &str, predicate: &str, object: &str, at: u64) -> Fact {
    Fact::new(
        id,
        subject,
        predicate,
        object,
        prov(Method::Declared),
        Time(at),
    )
}

pub(super) fn ids(facts: &[Fact]) -> Vec<&str> {
    facts.iter().map(|f| f.id.as_str()).collect()
}

mod facts;
mod files;
mod graph;

/// Neighbours of `id` as `rel other-end` strings, sorted.
pub(super) fn check_neighbours(
    store: &MemoryStore,
    id: &str,
    rel: Option<Relation>,
    dir: Direction,
    expected: &[&str],
) {
    let mut got: Vec<String> = store
        .neighbours(id, rel, dir)
        .expect("neighbours")
        .into_iter()
        .map(|e| match dir {
            Direction::Outgoing => format!("{} {}", e.rel, e.dst),
            Direction::Incoming => format!("{} {}", e.rel.reverse_name(), e.src),
        })
        .collect();
    got.sort();
    assert_eq!(got, expected, "{id} {rel:?} {dir:?}");
}
