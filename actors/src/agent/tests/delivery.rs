//! The good path: prepare, run, commit, push; re-push; retry; no change; a missing origin.

use super::{Fixture, R, budget, report, task};
use crate::agent::{AgentError, DEFAULT_TEMPLATE, commit_and_push, prepare, render, run_agent};

#[tokio::test]
async fn good_agent_delivers_a_pushed_branch_and_repush_is_a_noop() -> R {
    let fx = Fixture::new()?;
    let main = fx.origin_rev("main")?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    assert_eq!(
        (wt.branch.as_str(), wt.base.as_str(), wt.start.as_str()),
        ("factory/r1", main.as_str(), main.as_str())
    );
    let agent = fx.agent(
        "good",
        &format!("grep -q 'Goal: expose createdAt' \"$FACTORY_PROMPT_FILE\" || exit 9\necho changed > README.md\n{}", report(0.25)),
    )?;
    let prompt = render(DEFAULT_TEMPLATE, &task())?;
    let run = run_agent(&agent, &wt, &task(), &prompt, budget(30.0)).await?;
    assert_eq!(
        (run.exit_code, run.cost_usd, run.report.summary.as_str()),
        (0, 0.25, "did it")
    );
    assert!(run.stdout_log.is_file() && run.stderr_log.is_file());

    let delivered = commit_and_push(&wt, "factory: expose createdAt", false).await?;
    assert!(delivered.pushed);
    assert_eq!(delivered.files_changed, vec!["README.md".to_string()]);
    assert!(
        delivered.diff.contains("-hello\n+changed"),
        "{}",
        delivered.diff
    );
    assert_eq!(fx.origin_rev("factory/r1")?, delivered.head);
    assert_eq!(fx.origin_rev("main")?, main, "main must not move");

    let again = commit_and_push(&wt, "factory: expose createdAt", false).await?;
    assert!(!again.pushed, "second push must be a no-op");
    assert_eq!(again.head, delivered.head);

    wt.remove().await?;
    assert!(!wt.sandbox.exists());
    let listed = super::sh_git(&wt.cache, &["worktree", "list", "--porcelain"])?;
    assert!(!listed.contains("sandboxes"), "{listed}");
    Ok(())
}

#[tokio::test]
async fn retry_continues_from_the_pushed_branch_even_from_a_new_cache() -> R {
    let fx = Fixture::new()?;
    let main = fx.origin_rev("main")?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let first = fx.agent(
        "first",
        &format!("echo changed > README.md\n{}", report(0.1)),
    )?;
    run_agent(&first, &wt, &task(), "p", budget(30.0)).await?;
    let one = commit_and_push(&wt, "attempt 1", false).await?;

    // The same node retries, and another node (with an empty cache) resumes.
    for cache in [fx.cache_dir.clone(), fx.dir.path().join("other-node")] {
        let wt = prepare(&cache, &fx.origin(), "r1", "backend").await?;
        assert_eq!(
            (wt.start.as_str(), wt.base.as_str()),
            (one.head.as_str(), main.as_str())
        );
        let readme = std::fs::read_to_string(wt.path.join("README.md"))?;
        assert_eq!(readme, "changed\n");
        let no_op = commit_and_push(&wt, "nothing", false).await;
        assert!(
            matches!(no_op, Err(AgentError::NoChange { .. })),
            "{no_op:?}"
        );
    }
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let second = fx.agent(
        "second",
        &format!("echo two >> src/lib.txt\n{}", report(0.1)),
    )?;
    run_agent(&second, &wt, &task(), "p", budget(30.0)).await?;
    let two = commit_and_push(&wt, "attempt 2", false).await?;
    assert!(two.pushed);
    assert_eq!(
        fx.origin_rev("factory/r1^")?,
        one.head,
        "attempt 2 builds on attempt 1"
    );
    assert_eq!(
        two.files_changed,
        vec!["README.md".to_string(), "src/lib.txt".to_string()]
    );
    Ok(())
}

#[tokio::test]
async fn no_change_is_an_error_unless_allowed() -> R {
    let fx = Fixture::new()?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r2", "backend").await?;
    let idle = fx.agent("idle", &report(0.0))?;
    run_agent(&idle, &wt, &task(), "p", budget(30.0)).await?;
    let err = commit_and_push(&wt, "nothing", false).await;
    match err {
        Err(e @ AgentError::NoChange { .. }) => {
            assert_eq!(e.to_string(), "agent made no change on branch `factory/r2`")
        }
        other => panic!("expected NoChange, got {other:?}"),
    }
    let allowed = commit_and_push(&wt, "nothing", true).await?;
    assert!(allowed.pushed && allowed.diff.is_empty() && allowed.files_changed.is_empty());
    assert_eq!(fx.origin_rev("factory/r2")?, fx.origin_rev("main")?);
    Ok(())
}

#[tokio::test]
async fn missing_origin_is_named_in_the_error() -> R {
    let fx = Fixture::new()?;
    let missing = fx
        .dir
        .path()
        .join("nope.git")
        .to_string_lossy()
        .into_owned();
    let err = prepare(&fx.cache_dir, &missing, "r1", "ghost").await;
    match err {
        Err(e @ AgentError::OriginUnreachable { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("cannot read origin `{missing}`: ")),
                "{text}"
            );
        }
        other => panic!("expected OriginUnreachable, got {other:?}"),
    }
    // A later attempt with a good origin must not trip over a half-made cache.
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "ghost").await?;
    assert!(wt.path.join("README.md").is_file());
    let bad_name = prepare(&fx.cache_dir, &fx.origin(), "r1", "../up").await;
    assert!(bad_name.is_err_and(|e| e.to_string().contains("repo name `../up` must be")));
    Ok(())
}
