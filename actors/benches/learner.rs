//! The Learner's replay time per proposal over 50 recorded runs.
//!
//! `cargo bench -p factory-actors --bench learner --features testkit`
//!
//! 50 demo-shaped runs are learned into an in-memory store (each adds a replay case), then one
//! gate proposal is replayed against the whole corpus many times. Baseline in the same run: loading
//! the corpus from the store (the replay's own input), so the ratio says what judging costs on top
//! of reading the evidence.

use std::time::Instant;

use factory_actors::learner::fixtures::{NOW, demo_run, store};
use factory_actors::learner::{self, LearnerConfig};

fn percentile(sorted: &[u128], p: f64) -> u128 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let store = store();
    let cfg = LearnerConfig::default();
    let mut gate = None;
    for i in 0..50 {
        let report =
            learner::learn(&demo_run(&format!("run-{i:02}")), &store, NOW, &cfg).expect("learn");
        if gate.is_none() {
            gate = report.gates.first().map(|g| g.gate.clone());
        }
    }
    let gate = gate.expect("the first run proposes a gate");
    let reads = vec![
        "orderId".to_string(),
        "customer".into(),
        "total".into(),
        "createdAt".into(),
    ];
    let corpus = learner::load_corpus(&store).expect("corpus");
    assert_eq!(corpus.len(), 50);
    let (mut replay, mut load) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let r = learner::replay_gate(&gate, &corpus, &reads);
        replay.push(t.elapsed().as_micros());
        assert!(
            matches!(r.decision(), learner::Decision::Promote(_)),
            "the gate replays clean"
        );
        let t = Instant::now();
        let c = learner::load_corpus(&store).expect("corpus");
        load.push(t.elapsed().as_micros());
        assert_eq!(c.len(), 50);
    }
    replay.sort_unstable();
    load.sort_unstable();
    println!("| measure (50 runs, 150 rounds) | p50 µs | p99 µs |");
    println!("|---|---:|---:|");
    println!(
        "| replay one gate proposal | {} | {} |",
        percentile(&replay, 0.5),
        percentile(&replay, 0.99)
    );
    println!(
        "| baseline: load the corpus from redb | {} | {} |",
        percentile(&load, 0.5),
        percentile(&load, 0.99)
    );
    println!(
        "ratio replay/load (p50): {:.2}",
        percentile(&replay, 0.5) as f64 / percentile(&load, 0.5).max(1) as f64
    );
}
