//! Hostile and broken agents: hangs, exit codes, garbage, escapes, overspending, no program.

use std::time::{Duration, Instant};

use super::{Fixture, R, budget, report, task};
use crate::agent::{AgentError, AgentRun, AgentSpec, Budget, prepare, run_agent};

/// Prepares a worktree in a fresh fixture and runs `body` as the agent.
async fn run(body: &str, budget: Budget) -> (Fixture, Result<AgentRun, AgentError>) {
    let fx = Fixture::new().unwrap_or_else(|e| panic!("fixture: {e}"));
    let agent = fx
        .agent("agent", body)
        .unwrap_or_else(|e| panic!("agent: {e}"));
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend")
        .await
        .unwrap_or_else(|e| panic!("prepare: {e}"));
    let result = run_agent(&agent, &wt, &task(), "prompt", budget).await;
    (fx, result)
}

/// Live (non-zombie) processes in process group `pgid`, from /proc.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        panic!("this test reads /proc to find processes");
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Format: pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let pid = head.split_whitespace().next().and_then(|p| p.parse().ok());
        if let (Some(pid), Some(&state), Some(pgrp)) = (pid, fields.first(), fields.get(2))
            && state != "Z"
            && pgrp.parse() == Ok(pgid)
        {
            out.push(pid);
        }
    }
    out
}

#[tokio::test]
async fn a_hanging_agent_is_killed_with_its_group_at_the_time_limit() -> R {
    let body = "echo $$ > \"$TMPDIR/pgid\"\nsleep 1000 &\nsleep 1000";
    let started = Instant::now();
    let (fx, result) = run(body, budget(2.0)).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "returned after {elapsed:?}"
    );
    match &result {
        Err(e @ AgentError::TimedOut { limit_ms: 2000 }) => assert_eq!(
            e.to_string(),
            "agent ran past its time limit of 2000 ms and was killed with its process group"
        ),
        other => panic!("expected TimedOut, got {other:?}"),
    }
    let pgid_file = fx.cache_dir.join("sandboxes/r1/backend/agent/tmp/pgid");
    let pgid: u32 = std::fs::read_to_string(&pgid_file)?.trim().parse()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = group_members(pgid);
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "group {pgid} still has {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_cancelled_run_leaves_no_process_behind() -> R {
    let fx = Fixture::new()?;
    let agent = fx.agent(
        "hang",
        "echo $$ > \"$TMPDIR/pgid\"\nsleep 1000 &\nsleep 1000",
    )?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let pgid_file = wt.agent_dir().join("tmp/pgid");
    let task = task();
    // Boxed, so that `drop` below really drops the future (a pinned local would live on).
    let mut run = Box::pin(run_agent(&agent, &wt, &task, "prompt", budget(600.0)));
    // Drop the run once the agent has started, as an actor stopping mid-task would.
    let deadline = Instant::now() + Duration::from_secs(10);
    let pgid: u32 = loop {
        tokio::select! {
            done = &mut run => panic!("the agent cannot finish: {done:?}"),
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        if let Ok(text) = std::fs::read_to_string(&pgid_file)
            && let Ok(pgid) = text.trim().parse()
            && group_members(pgid).len() >= 2
        {
            break pgid;
        }
        assert!(Instant::now() < deadline, "the agent did not start");
    };
    drop(run);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !group_members(pgid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "group {pgid} survived the cancelled run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn a_failing_exit_code_is_reported_with_the_log_tail() -> R {
    let (_fx, result) = run(
        "echo changing things\necho boom: cannot parse >&2\nexit 3",
        budget(30.0),
    )
    .await;
    match result {
        Err(e @ AgentError::Exited { code: 3, .. }) => assert_eq!(
            e.to_string(),
            "agent exited with code 3; last output:\nboom: cannot parse"
        ),
        other => panic!("expected Exited, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn garbage_or_missing_reports_are_bad_reports() -> R {
    let (_fx, garbage) = run("echo 'all done!' > \"$FACTORY_REPORT_FILE\"", budget(30.0)).await;
    match garbage {
        Err(e @ AgentError::BadReport { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("agent report is missing or not valid: expected JSON"),
                "{text}"
            );
            assert!(text.ends_with("got \"all done!\\n\""), "{text}");
        }
        other => panic!("expected BadReport, got {other:?}"),
    }
    let (_fx, missing) = run("echo hi", budget(30.0)).await;
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.to_string().contains("no report file at")),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn writes_outside_the_worktree_are_caught() -> R {
    let body = format!("echo x > ../escape.txt\n{}", report(0.0));
    let (fx, result) = run(&body, budget(30.0)).await;
    let escape = fx
        .cache_dir
        .canonicalize()?
        .join("sandboxes/r1/backend/escape.txt");
    match result {
        Err(AgentError::WroteOutside { ref paths }) => assert_eq!(paths, &vec![escape.clone()]),
        ref other => panic!("expected WroteOutside, got {other:?}"),
    }
    let text = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        text,
        format!("agent wrote outside its worktree: {}", escape.display())
    );

    // Into the repo cache, found the way a real agent would: through git.
    let body = format!(
        "common=$(git rev-parse --git-common-dir) || exit 9\necho x > \"$common/hooks/post-checkout\"\n{}",
        report(0.0)
    );
    let (fx, result) = run(&body, budget(30.0)).await;
    let hook = fx
        .cache_dir
        .canonicalize()?
        .join("repos/backend.git/hooks/post-checkout");
    match result {
        Err(AgentError::WroteOutside { paths }) => assert_eq!(paths, vec![hook]),
        other => panic!("expected WroteOutside, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn an_agent_using_git_normally_is_not_flagged() -> R {
    let body = format!(
        "echo new > new.txt\ngit status --short > /dev/null\ngit add -A\ngit diff --cached --stat > /dev/null\n{}",
        report(0.0)
    );
    let (_fx, result) = run(&body, budget(30.0)).await;
    assert!(result.is_ok(), "{result:?}");
    Ok(())
}

#[tokio::test]
async fn a_cost_over_budget_is_refused() -> R {
    let (_fx, result) = run(&report(5.0), budget(30.0)).await;
    match result {
        Err(e @ AgentError::OverBudget { .. }) => {
            assert_eq!(
                e.to_string(),
                "agent cost $5.0000 is over the budget of $1.0000"
            )
        }
        other => panic!("expected OverBudget, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() -> R {
    let fx = Fixture::new()?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let spec = AgentSpec::custom(vec!["no-such-agent-program".into()]);
    let result = run_agent(&spec, &wt, &task(), "p", budget(30.0)).await;
    let text = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("cannot start agent program `no-such-agent-program`: "),
        "{text}"
    );
    Ok(())
}
