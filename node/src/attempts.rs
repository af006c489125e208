//! The attempts this node is running or has finished, so a re-sent task is not run twice.
//!
//! The coordinator re-sends an attempt when it lost the connection or restarted; the node may
//! still be running it, or have finished it with the reply lost. A request is keyed by (run,
//! task, attempt, epoch): a repeat of a running one waits for that run's reply, a repeat of a
//! finished one gets the kept reply. The table keeps the last [`KEPT`] finished attempts.
//!
//! Two sends of one task under different epochs (the repo moved away and back, or the coordinator
//! restarted) are different keys, but they share a worktree, so they take turns: the later one
//! starts after the earlier one ends, and the earlier one steps down when it sees its epoch is
//! no longer current (see [`Tenure`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use protocol::run::{TaskAssignment, VerifyRequest};
use protocol::{Body, ShardGrant};
use tokio::sync::{OwnedMutexGuard, watch};

/// Finished attempts kept for repeats; older ones are forgotten (their runs have moved on).
pub const KEPT: usize = 256;

/// One attempt of one task under one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey {
    /// Run id.
    pub run: String,
    /// Task id.
    pub task: String,
    /// Attempt number.
    pub attempt: u32,
    /// Shard epoch it was sent under.
    pub epoch: u64,
}

impl AttemptKey {
    /// The key of an assignment.
    pub fn of(a: &TaskAssignment) -> Self {
        AttemptKey {
            run: a.task.run_id.clone(),
            task: a.task.task_id.clone(),
            attempt: a.task.attempt,
            epoch: a.epoch,
        }
    }

    /// The key of a verification round: its task is `verify` (task ids always hold a `:`, so
    /// the two kinds never meet) and its attempt is the round number.
    pub fn round(r: &VerifyRequest) -> Self {
        AttemptKey {
            run: r.run_id.clone(),
            task: "verify".into(),
            attempt: r.round,
            epoch: 0,
        }
    }
}

/// What a request should do with its attempt.
pub enum Claim {
    /// Nobody has it: run it and [`Attempts::finish`] it with this sender.
    Run(watch::Sender<Option<Body>>),
    /// It is running or finished: wait for this reply.
    Repeat(watch::Receiver<Option<Body>>),
}

#[derive(Default)]
struct Table {
    replies: HashMap<AttemptKey, watch::Receiver<Option<Body>>>,
    finished: VecDeque<AttemptKey>,
    turns: HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>,
}

/// The table of attempts. Shared by every incarnation of the RepoAgent actor, so a restarted
/// actor still recognises repeats.
#[derive(Default)]
pub struct Attempts {
    table: Mutex<Table>,
}

impl Attempts {
    /// An empty table.
    pub fn new() -> Self {
        Attempts::default()
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // A panic while holding this lock leaves the maps consistent (every change is one call),
        // so a poisoned lock is still usable.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claim an attempt: run it, or wait for the run already under way (or finished).
    pub fn claim(&self, key: &AttemptKey) -> Claim {
        let mut table = self.table();
        if let Some(reply) = table.replies.get(key) {
            return Claim::Repeat(reply.clone());
        }
        let (tx, rx) = watch::channel(None);
        table.replies.insert(key.clone(), rx);
        Claim::Run(tx)
    }

    /// Wait until no other send of this task runs on this node; the turn ends when dropped.
    pub async fn turn(&self, key: &AttemptKey) -> OwnedMutexGuard<()> {
        let lock = self
            .table()
            .turns
            .entry((key.run.clone(), key.task.clone()))
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Record an attempt's reply, answer whoever waits for it, and forget the oldest finished.
    pub fn finish(&self, key: &AttemptKey, tx: watch::Sender<Option<Body>>, reply: Body) {
        let _ = tx.send(Some(reply));
        let mut table = self.table();
        table.finished.push_back(key.clone());
        while table.finished.len() > KEPT {
            if let Some(old) = table.finished.pop_front() {
                table.replies.remove(&old);
            }
        }
        // Turns nobody holds or waits for are dropped, so the map stays as small as the work.
        table.turns.retain(|_, lock| Arc::strong_count(lock) > 1);
    }

    /// How many attempts the table remembers (running and finished).
    pub fn len(&self) -> usize {
        self.table().replies.len()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Wait for the reply of an attempt another request is running.
pub async fn repeat(mut reply: watch::Receiver<Option<Body>>) -> Body {
    match reply.wait_for(Option::is_some).await {
        Ok(body) => body.clone().unwrap_or_else(lost),
        Err(_) => lost(),
    }
}

fn lost() -> Body {
    Body::error(
        protocol::ErrorCode::Internal,
        "the original run of this attempt ended without a reply",
    )
}

/// The node's shard grants as its last heartbeat reply stated them, and when that heartbeat was
/// sent. Every reply is news, even one that repeats the last: "still nothing for this repo" from
/// a heartbeat sent after an attempt started means the repo is not this node's any more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    /// The repos the coordinator says this node owns, with their epochs.
    pub shards: Vec<ShardGrant>,
    /// When the heartbeat that brought them was sent; `None` before the first reply.
    pub asked_at: Option<Instant>,
}

/// The node's hold on a repo while one attempt works on it: taken from the shard grants when the
/// attempt starts. Before pushing, the attempt checks it and steps down if the repo moved on, so
/// a node that was paused or cut off does not push over its successor.
pub struct Tenure {
    grants: watch::Receiver<Grants>,
    started: Instant,
}

impl Tenure {
    /// Start watching the grants from now.
    pub fn start(grants: &watch::Receiver<Grants>) -> Self {
        Tenure {
            grants: grants.clone(),
            started: Instant::now(),
        }
    }

    /// Why this node no longer holds `repo` at `epoch`, if it does not: the grants show a newer
    /// epoch, or a heartbeat sent after the attempt started does not list the repo. A reply to a
    /// heartbeat sent earlier may predate the grant itself, so its silence proves nothing.
    ///
    /// Comparing grants with their previous value would miss a repo that came and went between
    /// two heartbeats (granted to this node, then back to a returning owner): the lists before
    /// and after are equal, and the attempt would push under a dead epoch.
    pub fn lost(&self, repo: &str, epoch: u64) -> Option<String> {
        let grants = self.grants.borrow();
        let fresh = grants.asked_at.is_some_and(|t| t > self.started);
        match grants.shards.iter().find(|g| g.repo.as_str() == repo) {
            Some(g) if g.epoch.0 > epoch => Some(format!(
                "{repo} is at epoch {} now, this attempt ran under {epoch}",
                g.epoch.0
            )),
            None if fresh => Some(format!(
                "{repo} is no longer granted to this node (attempt ran under epoch {epoch})"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
