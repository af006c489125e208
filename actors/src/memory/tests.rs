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

fn seeded() -> MemoryStore {
    let store = MemoryStore::in_memory().expect("store");
    store.apply(seed_from_org(&example_org())).expect("seed");
    store
}

fn prov(method: Method) -> Provenance {
    Provenance {
        run: Some("run-1".into()),
        step: Some("plan".into()),
        agent: "planner".into(),
        source: "backend@abc123:contracts/orders.v1.json".into(),
        method,
    }
}

fn fact(id: &str, subject: &str, predicate: &str, object: &str, at: u64) -> Fact {
    Fact::new(
        id,
        subject,
        predicate,
        object,
        prov(Method::Declared),
        Time(at),
    )
}

fn ids(facts: &[Fact]) -> Vec<&str> {
    facts.iter().map(|f| f.id.as_str()).collect()
}

/// Neighbours of `id` as `rel other-end` strings, sorted.
fn check_neighbours(
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

#[test]
fn neighbours_in_both_directions() {
    let s = seeded();
    use Direction::{Incoming, Outgoing};
    check_neighbours(
        &s,
        "repo:backend",
        None,
        Outgoing,
        &[
            "provides contract:order-events.v1",
            "provides contract:orders.v1",
        ],
    );
    check_neighbours(
        &s,
        "repo:backend",
        None,
        Incoming,
        &[
            "dependency_of repo:frontend",
            "dependency_of repo:worker",
            "owned_by team:orders-team",
        ],
    );
    check_neighbours(
        &s,
        "contract:orders.v1",
        Some(Relation::Consumes),
        Incoming,
        &["consumed_by repo:frontend"],
    );
    check_neighbours(
        &s,
        "repo:worker",
        Some(Relation::DependsOn),
        Outgoing,
        &["depends_on repo:backend"],
    );
    check_neighbours(&s, "repo:infra", None, Outgoing, &[]);
    check_neighbours(
        &s,
        "team:orders-team",
        None,
        Outgoing,
        &["owns repo:backend", "owns repo:worker"],
    );
}

#[test]
fn indexes_by_name_and_kind() {
    let s = seeded();
    assert_eq!(s.ids_named("backend").expect("names"), vec!["repo:backend"]);
    assert_eq!(
        s.ids_of_kind(EntityKind::Contract).expect("kinds"),
        vec!["contract:order-events.v1", "contract:orders.v1"]
    );
    let e = s
        .entity("contract:orders.v1")
        .expect("get")
        .expect("present");
    assert_eq!(e.attrs.get("provider").map(String::as_str), Some("backend"));
    // Renaming replaces the index entry instead of adding a second one.
    let mut renamed = Entity::new(EntityKind::Repo, "infra");
    renamed.name = "platform-infra".into();
    s.apply(vec![Write::PutEntity(renamed)]).expect("rename");
    assert!(s.ids_named("infra").expect("names").is_empty());
    assert_eq!(
        s.ids_named("platform-infra").expect("names"),
        vec!["repo:infra"]
    );
}

#[test]
fn who_reads_a_field() {
    let s = seeded();
    assert_eq!(
        s.readers_of_field("contract:orders.v1", "total")
            .expect("q"),
        vec!["repo:frontend"]
    );
    assert!(
        s.readers_of_field("contract:orders.v1", "items[].sku")
            .expect("q")
            .is_empty()
    );
}

#[test]
fn blast_radius_of_backend() {
    let s = seeded();
    let mut got = s.blast_radius("repo:backend").expect("radius");
    got.sort();
    let want: Vec<(String, u32)> = [
        ("contract:order-events.v1", 1),
        ("contract:orders.v1", 1),
        ("repo:frontend", 1),
        ("repo:worker", 1),
    ]
    .into_iter()
    .map(|(id, d)| (id.to_string(), d))
    .collect();
    assert_eq!(got, want);
    assert!(s.blast_radius("repo:infra").expect("radius").is_empty());
}

#[test]
fn a_contradicted_fact_is_closed_and_kept() {
    let s = seeded();
    let c = "contract:orders.v1";
    s.record_fact(fact("f1", c, "field.total.type", "number", 100))
        .expect("f1");
    let sum = s
        .record_fact(fact("f2", c, "field.total.type", "string", 200))
        .expect("f2");
    assert_eq!(sum.facts_closed, vec!["f1"]);
    let all = s.facts_about(c).expect("about");
    assert_eq!(ids(&all), vec!["f1", "f2"]);
    let (old, new) = (&all[0], &all[1]);
    assert_eq!(
        (old.valid_to, old.expired_at),
        (Some(Time(200)), Some(Time(200)))
    );
    assert!(
        old.closed_reason
            .as_deref()
            .is_some_and(|r| r.contains("f2")),
        "{old:?}"
    );
    assert!(new.is_open());
    // Valid time: before the change the old fact held, after it the new one.
    assert_eq!(
        ids(&s.facts_as_of(c, Time(150)).expect("as of")),
        vec!["f1"]
    );
    assert_eq!(
        ids(&s.facts_as_of(c, Time(250)).expect("as of")),
        vec!["f2"]
    );
    assert!(s.facts_as_of(c, Time(50)).expect("as of").is_empty());
    // Only open facts are context, and a closed fact leaves the re-verify queue.
    assert_eq!(
        ids(&s.context_for(&["backend"], &[]).expect("ctx")),
        vec!["f2"]
    );
    assert_eq!(
        ids(&s.reverify_queue(Time(1000), 10).expect("queue")),
        vec!["f2"]
    );
}

#[test]
fn recording_the_same_object_confirms_the_open_fact() {
    let s = seeded();
    s.record_fact(fact("f1", "repo:backend", "language", "python", 100))
        .expect("f1");
    let sum = s
        .record_fact(fact("f2", "repo:backend", "language", "python", 300))
        .expect("f2");
    assert_eq!(sum.facts_confirmed, vec!["f1"]);
    let all = s.facts_about("repo:backend").expect("about");
    assert_eq!(ids(&all), vec!["f1"]);
    assert_eq!(all[0].last_verified_at, Time(300));
    assert!(all[0].confidence > Method::Declared.prior());
}

#[test]
fn reverify_queue_is_oldest_first_and_verification_moves_a_fact_back() {
    let s = seeded();
    s.record_fact(fact("a", "repo:backend", "p1", "x", 300))
        .expect("a");
    s.record_fact(fact("b", "repo:frontend", "p1", "x", 100))
        .expect("b");
    s.record_fact(fact("c", "repo:worker", "p1", "x", 200))
        .expect("c");
    assert_eq!(
        ids(&s.reverify_queue(Time(1000), 10).expect("q")),
        vec!["b", "c", "a"]
    );
    assert_eq!(
        ids(&s.reverify_queue(Time(250), 10).expect("q")),
        vec!["b", "c"]
    );
    assert_eq!(ids(&s.reverify_queue(Time(1000), 1).expect("q")), vec!["b"]);
    let b = s.verify_fact("b", Time(500)).expect("verify");
    assert_eq!(b.last_verified_at, Time(500));
    assert!(
        (b.confidence - 0.95).abs() < 1e-9,
        "0.9 + 0.1 * 0.5: {}",
        b.confidence
    );
    assert_eq!(
        ids(&s.reverify_queue(Time(1000), 10).expect("q")),
        vec!["c", "a", "b"]
    );
}

#[test]
fn unverified_facts_decay_and_decay_does_not_compound() {
    let s = seeded();
    s.record_fact(fact("a", "repo:backend", "p", "x", 0))
        .expect("a");
    let half = write::DEFAULT_HALF_LIFE_MS;
    assert_eq!(s.decay(Time(half)).expect("decay"), 1);
    let c = s.fact("a").expect("get").expect("present").confidence;
    assert!((c - 0.45).abs() < 1e-9, "{c}");
    assert_eq!(s.decay(Time(half)).expect("decay again"), 0);
    // Verification restores confidence from the decayed value and resets the clock.
    let v = s.verify_fact("a", Time(half)).expect("verify");
    assert!((v.confidence - 0.725).abs() < 1e-9, "{}", v.confidence);
}

#[test]
fn context_for_covers_direct_neighbours_ordered_by_confidence() {
    let s = seeded();
    let mut low = fact("low", "repo:frontend", "p", "x", 1);
    low.provenance.method = Method::Model;
    low.confidence = Method::Model.prior();
    s.apply(vec![
        Write::RecordFact(low),
        Write::RecordFact(fact("mid", "contract:orders.v1", "p", "x", 1)),
        Write::RecordFact(fact("far", "repo:worker", "p", "x", 1)),
        Write::RecordFact(fact("team", "team:web-team", "p", "x", 1)),
    ])
    .expect("facts");
    // orders.v1's neighbours: backend (provider) and frontend (consumer); worker and the web team
    // are two hops away.
    let got = s.context_for(&[], &["orders.v1"]).expect("ctx");
    assert_eq!(ids(&got), vec!["mid", "low"]);
    let got = s.context_for(&["frontend"], &[]).expect("ctx");
    assert_eq!(ids(&got), vec!["mid", "team", "low"]);
}

#[test]
fn a_write_error_rolls_back_the_whole_batch() {
    let s = seeded();
    let err = s
        .apply(vec![
            Write::RecordFact(fact("a", "repo:backend", "p", "x", 1)),
            Write::VerifyFact {
                id: "missing".into(),
                at: Time(2),
            },
        ])
        .expect_err("must fail");
    assert!(matches!(err, MemoryError::NotFound { .. }), "{err}");
    assert!(s.fact("a").expect("get").is_none());
}

#[test]
fn champion_moves_are_checked_and_logged() {
    let s = MemoryStore::in_memory().expect("store");
    let slot = "skill:planner/breaking-change";
    let v1 = Artifact::new(ArtifactKind::Skill, slot, None, "plan carefully", Time(1));
    let v2 = Artifact::new(
        ArtifactKind::Skill,
        slot,
        Some(&v1.id),
        "plan readers first",
        Time(2),
    );
    let promote = |from: Option<&str>, to: &str| {
        Write::MoveChampion(Promotion {
            seq: 0,
            slot: slot.into(),
            from: from.map(str::to_string),
            to: to.into(),
            kind: PromotionKind::Promote,
            at: Time(3),
            reason: "replay green".into(),
        })
    };
    let sum = s
        .apply(vec![
            Write::PutArtifact(v1.clone()),
            Write::PutArtifact(v2.clone()),
            promote(None, &v1.id),
        ])
        .expect("first");
    assert_eq!(sum.promotions, vec![1]);
    assert_eq!(
        s.apply(vec![promote(Some(&v1.id), &v2.id)])
            .expect("second")
            .promotions,
        vec![2]
    );
    // A learner holding a stale view of the champion is refused.
    let err = s
        .apply(vec![promote(Some(&v1.id), &v2.id)])
        .expect_err("stale");
    assert!(matches!(err, MemoryError::Conflict(_)), "{err}");
    assert_eq!(s.champion(slot).expect("champion"), Some(v2.id.clone()));
    assert_eq!(s.children(&v1.id).expect("children"), vec![v2.id.clone()]);
    let orphan = Artifact::new(
        ArtifactKind::Gate,
        "gate:x",
        Some("artifact:nope"),
        "check",
        Time(1),
    );
    assert!(s.apply(vec![Write::PutArtifact(orphan)]).is_err());
}

#[test]
fn export_import_round_trip() {
    let s = seeded();
    let slot = "gate:contract/casing@backend→worker";
    let g = Artifact::new(ArtifactKind::Gate, slot, None, "check casing", Time(1));
    s.apply(vec![
        Write::RecordFact(fact("f1", "contract:orders.v1", "p", "a", 10)),
        Write::RecordFact(fact("f2", "contract:orders.v1", "p", "b", 20)),
        Write::PutArtifact(g.clone()),
        Write::RecordEvaluation(Evaluation {
            artifact: g.id.clone(),
            case: "run-7".into(),
            at: Time(5),
            delivered: true,
            checks_green: true,
            violation_escaped: false,
            rollback_needed: false,
            human_edits: 0,
            cost_micros: 1200,
            wall_ms: 900,
        }),
    ])
    .expect("writes");
    let json = s.export_json().expect("export");
    let copy = MemoryStore::in_memory().expect("store");
    copy.import_json(&json).expect("import");
    assert_eq!(copy.snapshot().expect("snap"), s.snapshot().expect("snap"));
    // Indexes are rebuilt too, not only the primary tables.
    assert_eq!(
        ids(&copy.reverify_queue(Time(100), 10).expect("q")),
        vec!["f2"]
    );
    assert_eq!(
        copy.ids_named("frontend").expect("names"),
        vec!["repo:frontend"]
    );
    assert!(matches!(
        copy.import_json("{\"entities\": 3}"),
        Err(MemoryError::Json(_))
    ));
}

#[test]
fn a_store_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memory.redb");
    {
        let s = MemoryStore::open(&path).expect("open");
        s.apply(seed_from_org(&example_org())).expect("seed");
        s.record_fact(fact("f1", "repo:backend", "p", "x", 10))
            .expect("fact");
    }
    let s = MemoryStore::open(&path).expect("reopen");
    assert_eq!(
        ids(&s.facts_about("repo:backend").expect("about")),
        vec!["f1"]
    );
    assert_eq!(s.blast_radius("repo:backend").expect("radius").len(), 4);
}

/// Damage a real store file with `damage`, then expect opening it to fail naming the file.
fn check_damaged(damage: impl FnOnce(&std::path::Path)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("memory.redb");
    {
        let s = MemoryStore::open(&path).expect("open");
        s.apply(seed_from_org(&example_org())).expect("seed");
    }
    damage(&path);
    let err = MemoryStore::open(&path)
        .err()
        .expect("a damaged file must not open");
    eprintln!("damaged: {err}");
    assert!(err.to_string().contains("memory.redb"), "{err}");
}

#[test]
fn a_garbage_file_is_a_clear_error() {
    check_damaged(|p| std::fs::write(p, vec![0x5a; 8192]).expect("write"));
}

#[test]
fn a_truncated_file_is_a_clear_error() {
    check_damaged(|p| {
        let len = std::fs::metadata(p).expect("meta").len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .expect("open");
        f.set_len(len / 3).expect("truncate");
    });
}

#[test]
fn a_file_with_overwritten_pages_is_a_clear_error() {
    check_damaged(|p| {
        let mut bytes = std::fs::read(p).expect("read");
        // Everything after the header region: table pages, whichever are live.
        for b in bytes.iter_mut().skip(4096) {
            *b ^= 0xff;
        }
        std::fs::write(p, bytes).expect("write");
    });
}
