use super::*;
use protocol::{Epoch, RepoName};

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

fn check(grants: &[(&str, u64)], changed: bool, epoch: u64, expected: Option<&str>) {
    let (tx, rx) = watch::channel(vec![ShardGrant {
        repo: RepoName::new("backend"),
        epoch: Epoch(1),
    }]);
    let tenure = Tenure::start(&rx);
    let grants: Vec<ShardGrant> = grants
        .iter()
        .map(|(r, e)| ShardGrant {
            repo: RepoName::new(*r),
            epoch: Epoch(*e),
        })
        .collect();
    if changed {
        tx.send_replace(grants);
    }
    let lost = tenure.lost("backend", epoch);
    match expected {
        None => assert_eq!(lost, None),
        Some(needle) => assert!(
            lost.as_deref().unwrap_or("").contains(needle),
            "{grants_changed} {lost:?}",
            grants_changed = changed
        ),
    }
}

#[test]
fn an_attempt_steps_down_only_when_its_repo_moved_on() {
    check(&[], false, 1, None);
    check(&[("backend", 1)], true, 1, None);
    check(&[("backend", 3)], true, 1, Some("at epoch 3"));
    check(&[("frontend", 2)], true, 1, Some("no longer granted"));
    // A grant learned after the dispatch (same epoch) is no reason to stop.
    check(&[("backend", 2), ("frontend", 2)], true, 2, None);
}
