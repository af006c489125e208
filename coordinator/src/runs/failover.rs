//! Failover of one task attempt, or one verification round, while it runs: send it to the repo's
//! owner, and when that node is lost or the repo moves away, send the *same* attempt to the
//! repo's new owner under the new epoch. Losing a node is not the agent's fault, so it must not
//! burn one of the task's attempts (or one of the run's rounds).
//!
//! This is the real driver's form of the simulated `FailoverPolicy` (see the Chaos section of ARCHITECTURE.md): a move or a
//! lost node re-sends the attempt with its number unchanged, and only a result that passes the
//! shard fence is returned as final. Nodes keep finished attempts by (run, task, attempt, epoch),
//! so a re-send to a node that already ran it gets the kept result instead of a second run.

use std::time::{Duration, Instant};

use actors::net::NetError;
use protocol::run::{TaskAssignment, TaskDone, TaskMove, VerifyDone, VerifyRequest};
use protocol::targets::{REPO_AGENT, VERIFIER};
use protocol::{Body, Epoch, NodeId, RepoName};
use ractor::call_t;

use super::service::Inner;
use crate::driver::now_unix_ms;
use crate::service::{CoordinatorMsg, Placement};

/// Sends of one attempt beyond the first (moves and re-sends together); past this the attempt
/// fails like any other, so a flapping cluster cannot hold a run forever.
pub(crate) const MAX_RESENDS: usize = 5;

/// How often a running call checks whether its repo still belongs to the node it was sent to.
/// With the 100 ms membership tick this bounds failover at detection + 200 ms.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// How long a lost call waits for the repo to move before sending to the same owner again: the
/// failure-detection bound (2 s silence + a tick) with a margin. A node that is still the owner
/// after it was only a transport hiccup answers the re-send from its kept results.
const LOST_GRACE: Duration = Duration::from_secs(3);

/// How one call to one node ended.
enum Sent {
    /// The node answered.
    Reply(Body),
    /// The node was lost or the repo moved away while it ran; why.
    Lost(String),
}

/// Send `assignment` to `placement`, following its repo to new owners until a result passes the
/// fence, the deadline passes or the re-sends are used up. Returns the last result (which the
/// caller fences again: a result refused here after the last re-send is refused there too) and the
/// moves made on the way.
pub(crate) async fn send(
    inner: &Inner,
    mut assignment: TaskAssignment,
    mut placement: Placement,
    timeout: Duration,
) -> Result<(TaskDone, Vec<TaskMove>), String> {
    let deadline = Instant::now() + timeout;
    let repo = RepoName::new(assignment.task.repo.clone());
    let mut moves = Vec::new();
    let mut resends = 0;
    loop {
        assignment.epoch = placement.epoch.0;
        let body = Body::RunTask {
            assignment: Box::new(assignment.clone()),
        };
        let sent = call_owner(
            inner,
            REPO_AGENT,
            body,
            &placement,
            &repo,
            deadline,
            Watch::Moves,
        )
        .await?;
        let reason = match sent {
            Sent::Reply(Body::TaskDone { done }) => {
                let refused = fence(inner, &repo, &done).await?;
                match refused {
                    Some(reason) if resends < MAX_RESENDS => reason,
                    _ => return Ok((*done, moves)),
                }
            }
            Sent::Reply(other) => {
                let node = &placement.node;
                return Err(format!("node {node} answered {} to a task", other.kind()));
            }
            Sent::Lost(reason) if resends < MAX_RESENDS => reason,
            Sent::Lost(reason) => {
                return Err(format!("{reason} (after {resends} re-sends)"));
            }
        };
        resends += 1;
        let next = next_owner(inner, &repo, &placement, deadline).await?;
        tracing::warn!(run = %assignment.task.run_id, task = %assignment.task.task_id, attempt = assignment.task.attempt,
            from = %placement.node, from_epoch = placement.epoch.0, to = %next.node, epoch = next.epoch.0, %reason, "task re-sent");
        moves.extend(moved(&placement, &next, reason));
        placement = next;
    }
}

/// Send a verification round to the owner of `repo`, following the repo to its next owner when
/// the node is lost or the repo moves while the round runs. A round only reads (checkouts, a
/// sandbox, reports), so running it again elsewhere has no side effect to undo; the node keeps
/// a finished round's reply, so a re-send to the same node does not run it twice. Returns the
/// reply, the node that gave it, and the moves made on the way.
pub(crate) async fn verify(
    inner: &Inner,
    request: VerifyRequest,
    mut placement: Placement,
    repo: RepoName,
    timeout: Duration,
) -> Result<(VerifyDone, Placement, Vec<TaskMove>), String> {
    let deadline = Instant::now() + timeout;
    let mut moves = Vec::new();
    let mut resends = 0;
    loop {
        let body = Body::Verify {
            request: Box::new(request.clone()),
        };
        let reason = match call_owner(
            inner,
            VERIFIER,
            body,
            &placement,
            &repo,
            deadline,
            Watch::NodeLoss,
        )
        .await?
        {
            Sent::Reply(Body::VerifyDone { done }) => return Ok((*done, placement, moves)),
            Sent::Reply(other) => {
                let node = &placement.node;
                return Err(format!(
                    "node {node} answered {} to a verification",
                    other.kind()
                ));
            }
            Sent::Lost(reason) if resends < MAX_RESENDS => reason,
            Sent::Lost(reason) => return Err(format!("{reason} (after {resends} re-sends)")),
        };
        let next = next_owner(inner, &repo, &placement, deadline).await?;
        tracing::warn!(run = %request.run_id, round = request.round, from = %placement.node,
            to = %next.node, epoch = next.epoch.0, %reason, "verification round re-sent");
        moves.extend(moved(&placement, &next, reason));
        placement = next;
        resends += 1;
    }
}

/// The move from `from` to `to`, unless it is a re-send to the same owner at the same epoch.
fn moved(from: &Placement, to: &Placement, reason: String) -> Option<TaskMove> {
    (to.epoch != from.epoch || to.node != from.node).then(|| TaskMove {
        from: from.node.to_string(),
        from_epoch: from.epoch.0,
        to: to.node.to_string(),
        epoch: to.epoch.0,
        reason,
        at_unix_ms: now_unix_ms(),
    })
}

/// What ends a call before its reply.
#[derive(Clone, Copy)]
enum Watch {
    /// The repo moving away (or its owner going down): a task's result from the old owner
    /// would be refused by the fence, so there is no point waiting for it.
    Moves,
    /// Only the node going down: a verification round only reads, so a repo that moved (say, to
    /// a node that just joined) is no reason to start the round again.
    NodeLoss,
}

/// Whether `node` is among the live nodes ranked for `repo`.
async fn live(inner: &Inner, repo: &RepoName, node: &NodeId) -> Result<bool, String> {
    let ranked = call_t!(
        inner.coordinator,
        CoordinatorMsg::Ranked,
        5_000,
        repo.clone()
    )
    .map_err(|e| format!("coordinator: {e}"))?;
    Ok(ranked.iter().any(|p| p.node == *node))
}

/// One call to the node that owns `repo`, abandoned as soon as `watch` says the reply is moot:
/// waiting for the QUIC idle timeout would add seconds to every failover.
async fn call_owner(
    inner: &Inner,
    target: &str,
    body: Body,
    placement: &Placement,
    repo: &RepoName,
    deadline: Instant,
    watch: Watch,
) -> Result<Sent, String> {
    let node = &placement.node;
    let addr = placement
        .addr
        .parse()
        .map_err(|e| format!("node {node} has a bad address {}: {e}", placement.addr))?;
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("the deadline passed while it was re-placed".into());
    }
    let call = inner.endpoint.call(addr, target, body, left);
    tokio::pin!(call);
    loop {
        tokio::select! {
            reply = &mut call => {
                return match reply {
                    Ok(body) => Ok(Sent::Reply(body)),
                    Err(e) if is_transport(&e) => Ok(Sent::Lost(format!("node {node}: {e}"))),
                    Err(e) => Err(format!("node {node}: {e}")),
                };
            }
            _ = tokio::time::sleep(WATCH_EVERY) => match watch {
                Watch::Moves => match owner(inner, repo).await? {
                    Some(p) if p.epoch == placement.epoch => {}
                    Some(p) => return Ok(Sent::Lost(format!("{repo} moved to {} at epoch {}", p.node, p.epoch.0))),
                    None => return Ok(Sent::Lost(format!("node {node} is down"))),
                },
                Watch::NodeLoss => {
                    if !live(inner, repo, node).await? {
                        return Ok(Sent::Lost(format!("node {node} is down")));
                    }
                }
            },
        }
    }
}

/// The node was unreachable or the connection broke: the node may be gone. A refusal, a bad
/// reply or the task's own deadline are not transport failures and end the attempt.
fn is_transport(e: &NetError) -> bool {
    matches!(
        e,
        NetError::Connect { .. } | NetError::Connection(_) | NetError::Stream(_)
    )
}

/// Why the fence refuses this result, if it does.
async fn fence(inner: &Inner, repo: &RepoName, done: &TaskDone) -> Result<Option<String>, String> {
    let verdict = call_t!(
        inner.coordinator,
        CoordinatorMsg::Fence,
        5_000,
        repo.clone(),
        Epoch(done.result.epoch),
        NodeId::new(done.result.node.clone())
    )
    .map_err(|e| format!("coordinator: {e}"))?;
    Ok(verdict.err().map(|e| format!("result refused: {e}")))
}

/// The repo's live owner now, if any.
async fn owner(inner: &Inner, repo: &RepoName) -> Result<Option<Placement>, String> {
    call_t!(
        inner.coordinator,
        CoordinatorMsg::Owner,
        5_000,
        repo.clone()
    )
    .map_err(|e| format!("coordinator: {e}"))
}

/// Where to send next after `prev` failed: the repo's next owner once it moves, or `prev` again
/// if it is still the live owner after [`LOST_GRACE`].
async fn next_owner(
    inner: &Inner,
    repo: &RepoName,
    prev: &Placement,
    deadline: Instant,
) -> Result<Placement, String> {
    let started = Instant::now();
    let deadline = deadline.min(started + inner.cfg.placement_timeout.max(LOST_GRACE));
    loop {
        match owner(inner, repo).await? {
            Some(p) if p.epoch != prev.epoch => return Ok(p),
            Some(p) if started.elapsed() >= LOST_GRACE => return Ok(p),
            _ if Instant::now() >= deadline => {
                return Err(format!("no live node took over {repo} from {}", prev.node));
            }
            _ => tokio::time::sleep(WATCH_EVERY).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ErrorCode;

    fn check(e: NetError, expected: bool) {
        assert_eq!(is_transport(&e), expected, "{e}");
    }

    #[test]
    fn only_a_lost_peer_is_a_reason_to_move() {
        let addr = "127.0.0.1:1".parse().unwrap();
        check(quinn::ConnectionError::TimedOut.into(), true);
        check(
            NetError::Connect {
                addr,
                detail: "unreachable".into(),
            },
            true,
        );
        check(NetError::Stream("reset".into()), true);
        // A crash, a refusal or the task's own deadline is the attempt's end, not the node's.
        check(
            NetError::Remote {
                code: ErrorCode::Internal,
                detail: "RepoAgent crashed".into(),
            },
            false,
        );
        check(
            NetError::Refused {
                addr,
                detail: "bad certificate".into(),
            },
            false,
        );
        check(NetError::DeadlineExceeded { after_ms: 1 }, false);
    }
}
