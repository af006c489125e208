//! The learner's tables, export/import and the database file.

use super::*;

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
            note: String::new(),
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
