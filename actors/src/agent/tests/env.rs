//! The agent sees a filtered environment.
//!
//! Setting a variable in this process needs `unsafe` in Rust 2024 (and the crate forbids it), so
//! the test re-runs this test binary with a secret-looking variable set, filtered to the child
//! test below, and checks that the child test passed.

use super::{Fixture, R, budget, report, task};
use crate::agent::{prepare, run_agent};

const SECRET: &str = "FACTORY_TEST_SECRET_TOKEN";
const PASSED: &str = "FACTORY_TEST_PASSED_VAR";

#[test]
fn the_agent_environment_is_filtered() -> R {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "agent::tests::env::child_checks_the_agent_env",
            "--nocapture",
        ])
        .env(SECRET, "hunter2")
        .env(PASSED, "visible")
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "child test did not run:\n{stdout}"
    );
    Ok(())
}

/// Runs only inside [`the_agent_environment_is_filtered`], which sets the variables.
#[tokio::test]
async fn child_checks_the_agent_env() -> R {
    if std::env::var_os(SECRET).is_none() {
        return Ok(());
    }
    let fx = Fixture::new()?;
    let wt = prepare(&fx.cache_dir, &fx.origin(), "r1", "backend").await?;
    let mut agent = fx.agent(
        "env",
        &format!("env > \"$TMPDIR/env.txt\"\n{}", report(0.0)),
    )?;
    agent.env_pass = vec![PASSED.into(), "FACTORY_TEST_UNSET_VAR".into()];
    run_agent(&agent, &wt, &task(), "p", budget(30.0)).await?;
    let dump = std::fs::read_to_string(wt.agent_dir().join("tmp/env.txt"))?;
    let mut names: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    names.sort();
    // PWD, SHLVL and _ are set by the shell itself.
    let expected = [
        "FACTORY_PROMPT_FILE",
        "FACTORY_REPORT_FILE",
        "FACTORY_TASK_FILE",
        "FACTORY_TEST_PASSED_VAR",
        "FACTORY_WORKTREE",
        "HOME",
        "LANG",
        "PATH",
        "PWD",
        "SHLVL",
        "TMPDIR",
        "_",
    ];
    let unexpected: Vec<&&str> = names.iter().filter(|n| !expected.contains(n)).collect();
    assert!(
        unexpected.is_empty(),
        "unexpected variables: {unexpected:?}\n{dump}"
    );
    assert!(!dump.contains("hunter2"));
    assert!(dump.contains(&format!("{PASSED}=visible")));
    let home = format!("HOME={}", wt.agent_dir().join("home").display());
    assert!(dump.lines().any(|l| l == home), "{dump}");
    Ok(())
}
