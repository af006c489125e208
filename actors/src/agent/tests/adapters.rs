//! The built-in adapters (Claude Code, Codex, Aider) run for real against stand-ins of their
//! programs: scripts that check the command line each adapter builds, read the prompt where the
//! real program reads it (stdin, or the file named after `--message-file`), edit the worktree and
//! print what the real program prints. Only `argv[0]` is swapped for the stand-in's path; the
//! arguments, the prompt delivery, the environment and the report parsing are the adapter's own.

use super::{Fixture, R, budget, task};
use crate::agent::{AgentSpec, commit_and_push, prepare, run_agent};

/// Run `spec` (its program replaced by a script with `body`) with prompt `prompt`; the report's
/// summary and cost, and the pushed diff.
async fn run_adapter(
    fx: &Fixture,
    mut spec: AgentSpec,
    body: &str,
    prompt: &str,
) -> Result<(String, f64, String), Box<dyn std::error::Error>> {
    let program = spec.argv[0].clone();
    let stand_in = fx.agent(&program, body)?;
    spec.argv[0] = stand_in.argv[0].clone();
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let run = run_agent(&spec, &wt, &task(), prompt, budget(30.0)).await?;
    let delivered = commit_and_push(&wt, "adapter test", false).await?;
    Ok((run.report.summary, run.cost_usd, delivered.diff))
}

/// A script line that fails the run with `message` unless `test` holds.
fn require(test: &str, message: &str) -> String {
    format!("{test} || {{ echo '{message}' >&2; exit 9; }}")
}

#[tokio::test]
async fn claude_code_gets_the_prompt_on_stdin_and_its_json_is_the_report() -> R {
    let fx = Fixture::new()?;
    let body = [
        require(
            r#"[ "$*" = "-p --output-format json --permission-mode acceptEdits" ]"#,
            "unexpected claude arguments",
        ),
        r#"prompt="$(cat)""#.to_string(),
        require(
            r#"[ "$prompt" = "add a line to src/lib.txt" ]"#,
            "prompt not on stdin",
        ),
        "echo two >> src/lib.txt".to_string(),
        r#"printf '{"type":"result","is_error":false,"result":"added a line","total_cost_usd":0.0123}'"#
            .to_string(),
    ]
    .join("\n");
    let (summary, cost, diff) = run_adapter(
        &fx,
        AgentSpec::claude_code(),
        &body,
        "add a line to src/lib.txt",
    )
    .await?;
    assert_eq!(summary, "added a line");
    assert!((cost - 0.0123).abs() < 1e-9, "{cost}");
    assert!(diff.contains("+two"), "{diff}");
    Ok(())
}

#[tokio::test]
async fn claude_code_reporting_an_error_fails_the_run() -> R {
    let fx = Fixture::new()?;
    let body = r#"cat > /dev/null
printf '{"type":"result","is_error":true,"result":"rate limited","total_cost_usd":0.001}'"#;
    let mut spec = AgentSpec::claude_code();
    let stand_in = fx.agent("claude", body)?;
    spec.argv[0] = stand_in.argv[0].clone();
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let err = run_agent(&spec, &wt, &task(), "p", budget(30.0))
        .await
        .err()
        .ok_or("an error result must fail the run")?;
    assert!(err.to_string().contains("rate limited"), "{err}");
    Ok(())
}

#[tokio::test]
async fn codex_reads_the_prompt_from_stdin_and_its_output_tail_is_the_summary() -> R {
    let fx = Fixture::new()?;
    let body = [
        require(
            r#"[ "$*" = "exec --full-auto -" ]"#,
            "unexpected codex arguments",
        ),
        require(r#"[ "$(cat)" = "edit it" ]"#, "prompt not on stdin"),
        "echo three >> src/lib.txt".to_string(),
        "echo 'codex: appended a line'".to_string(),
    ]
    .join("\n");
    let (summary, cost, diff) = run_adapter(&fx, AgentSpec::codex(), &body, "edit it").await?;
    assert!(summary.ends_with("codex: appended a line"), "{summary}");
    assert_eq!(cost, 0.0);
    assert!(diff.contains("+three"), "{diff}");
    Ok(())
}

#[tokio::test]
async fn aider_reads_its_message_file_and_its_session_cost_is_the_cost() -> R {
    let fx = Fixture::new()?;
    let body = [
        require(
            r#"[ "$1 $2 $3 $4 $5" = "--yes-always --no-auto-commits --no-gitignore --no-check-update --message-file" ]"#,
            "unexpected aider arguments",
        ),
        require(r#"[ "$(cat "$6")" = "edit via aider" ]"#, "prompt file not passed"),
        "echo four >> src/lib.txt".to_string(),
        "echo 'Tokens: 2.1k sent, 90 received. Cost: $0.0042 message, $0.0042 session.'"
            .to_string(),
    ]
    .join("\n");
    let (summary, cost, diff) =
        run_adapter(&fx, AgentSpec::aider(), &body, "edit via aider").await?;
    assert!(summary.contains("Cost:"), "{summary}");
    assert!((cost - 0.0042).abs() < 1e-9, "{cost}");
    assert!(diff.contains("+four"), "{diff}");
    Ok(())
}
