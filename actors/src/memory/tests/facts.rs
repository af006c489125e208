//! Facts: contradiction, time travel, verification, decay, context.

use super::*;

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
