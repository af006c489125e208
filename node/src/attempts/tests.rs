use super::*;
use protocol::{Epoch, RepoName};
use std::time::Duration;

fn key(attempt: u32, epoch: u64) -> AttemptKey {
    AttemptKey {
        run: "r1".into(),
        task: "backend:change".into(),
        attempt,
        epoch,
    }
}

fn pong(n: u8) -> Body {
    Body::Pong { payload: vec![n] }
}

#[tokio::test]
async fn a_repeat_waits_for_the_running_attempt_and_gets_its_reply() {
    let attempts = Attempts::new();
    let Claim::Run(tx) = attempts.claim(&key(1, 1)) else {
        panic!("the first claim runs");
    };
    let Claim::Repeat(rx) = attempts.claim(&key(1, 1)) else {
        panic!("a repeat while running waits");
    };
    let waiting = tokio::spawn(repeat(rx));
    attempts.finish(&key(1, 1), tx, pong(1));
    assert_eq!(waiting.await.unwrap(), pong(1));
    // After it finished, a repeat gets the kept reply at once.
    let Claim::Repeat(rx) = attempts.claim(&key(1, 1)) else {
        panic!("a repeat after the end gets the kept reply");
    };
    assert_eq!(repeat(rx).await, pong(1));
}

#[test]
fn another_attempt_or_epoch_is_a_new_run() {
    let attempts = Attempts::new();
    for (attempt, epoch) in [(1, 1), (2, 1), (1, 2)] {
        assert!(
            matches!(attempts.claim(&key(attempt, epoch)), Claim::Run(_)),
            "attempt {attempt} epoch {epoch}"
        );
    }
}

#[test]
fn only_the_last_finished_attempts_are_kept() {
    let attempts = Attempts::new();
    for i in 0..(KEPT as u32 + 10) {
        if let Claim::Run(tx) = attempts.claim(&key(i, 1)) {
            attempts.finish(&key(i, 1), tx, pong(0));
        }
    }
    assert_eq!(attempts.len(), KEPT);
    assert!(
        matches!(attempts.claim(&key(0, 1)), Claim::Run(_)),
        "oldest forgotten"
    );
}

#[tokio::test]
async fn a_repeat_of_a_run_that_died_gets_an_error_not_a_hang() {
    let attempts = Attempts::new();
    let Claim::Run(tx) = attempts.claim(&key(1, 1)) else {
        panic!("first claim runs");
    };
    let Claim::Repeat(rx) = attempts.claim(&key(1, 1)) else {
        panic!("repeat");
    };
    drop(tx);
    assert!(matches!(repeat(rx).await, Body::Error { .. }));
}

#[tokio::test]
async fn two_epochs_of_one_task_take_turns() {
    let attempts = Arc::new(Attempts::new());
    let first = attempts.turn(&key(1, 1)).await;
    let a = attempts.clone();
    let second = tokio::spawn(async move { a.turn(&key(1, 2)).await });
    tokio::task::yield_now().await;
    assert!(!second.is_finished(), "the second waits for the first");
    drop(first);
    second.await.unwrap();
}

/// A tenure on backend at epoch 1 (granted by a heartbeat sent before the attempt started);
/// then, if `reply` is set, the reply to a heartbeat sent after it started.
fn check(reply: Option<&[(&str, u64)]>, epoch: u64, expected: Option<&str>) {
    let (tx, rx) = watch::channel(Grants {
        shards: grants(&[("backend", 1)]),
        asked_at: Some(before()),
    });
    let tenure = Tenure::start(&rx);
    if let Some(reply) = reply {
        tx.send_replace(Grants {
            shards: grants(reply),
            asked_at: Some(after()),
        });
    }
    let lost = tenure.lost("backend", epoch);
    match expected {
        None => assert_eq!(lost, None, "{reply:?}"),
        Some(needle) => assert!(
            lost.as_deref().unwrap_or("").contains(needle),
            "{reply:?} {lost:?}"
        ),
    }
}

/// A heartbeat time surely before a tenure started now, and one surely after.
fn before() -> Instant {
    let now = Instant::now();
    // Just after boot there may be no second to go back; then the tenure's start, taken after
    // this, is still later.
    now.checked_sub(Duration::from_secs(1)).unwrap_or(now)
}

fn after() -> Instant {
    Instant::now() + Duration::from_secs(1)
}

fn grants(list: &[(&str, u64)]) -> Vec<ShardGrant> {
    list.iter()
        .map(|(r, e)| ShardGrant {
            repo: RepoName::new(*r),
            epoch: Epoch(*e),
        })
        .collect()
}

#[test]
fn an_attempt_steps_down_only_when_its_repo_moved_on() {
    check(None, 1, None);
    check(Some(&[("backend", 1)]), 1, None);
    check(Some(&[("backend", 3)]), 1, Some("at epoch 3"));
    check(Some(&[("frontend", 2)]), 1, Some("no longer granted"));
    // A grant learned after the dispatch (same epoch) is no reason to stop.
    check(Some(&[("backend", 2), ("frontend", 2)]), 2, None);
}

#[test]
fn a_repo_that_came_and_went_between_heartbeats_is_lost() {
    // Dispatched at epoch 2 before any heartbeat told this node of the grant; by the next
    // heartbeat the repo went back to its former owner at epoch 3. The lists before and after
    // are the same (nothing), which is still news: the attempt must not push.
    let (tx, rx) = watch::channel(Grants {
        shards: vec![],
        asked_at: Some(before()),
    });
    let tenure = Tenure::start(&rx);
    assert_eq!(
        tenure.lost("backend", 2),
        None,
        "no heartbeat since the start"
    );
    tx.send_replace(Grants {
        shards: vec![],
        asked_at: Some(after()),
    });
    let lost = tenure.lost("backend", 2);
    assert!(
        lost.as_deref()
            .is_some_and(|l| l.contains("no longer granted")),
        "{lost:?}"
    );
}

#[test]
fn a_reply_to_a_heartbeat_sent_before_the_start_proves_nothing() {
    let (tx, rx) = watch::channel(Grants::default());
    let tenure = Tenure::start(&rx);
    tx.send_replace(Grants {
        shards: vec![],
        asked_at: Some(before()),
    });
    assert_eq!(tenure.lost("backend", 2), None);
}

fn round(run: &str, n: u32) -> AttemptKey {
    AttemptKey::round(&VerifyRequest {
        run_id: run.into(),
        round: n,
        repos: vec![],
        changes: vec![],
        gates: vec![],
        setup_steps: vec![],
    })
}

#[tokio::test]
async fn a_repeated_round_gets_the_first_reply_and_never_meets_a_task() {
    let attempts = Attempts::new();
    let Claim::Run(tx) = attempts.claim(&round("r1", 1)) else {
        panic!("the first send of a round runs it");
    };
    // Another round, and a task of the same run with the same number, are claims of their own.
    assert!(matches!(attempts.claim(&round("r1", 2)), Claim::Run(_)));
    assert!(matches!(attempts.claim(&key(1, 0)), Claim::Run(_)));
    attempts.finish(&round("r1", 1), tx, pong(7));
    let Claim::Repeat(rx) = attempts.claim(&round("r1", 1)) else {
        panic!("a re-sent round gets the kept reply");
    };
    assert_eq!(repeat(rx).await, pong(7));
}
