use super::*;

fn spec(name: &str, command: &str, cwd: &Path, timeout: Duration) -> CheckSpec {
    CheckSpec {
        name: name.to_string(),
        command: command.to_string(),
        cwd: cwd.to_path_buf(),
        env: BTreeMap::from([("GREETING".to_string(), "hi".to_string())]),
        timeout,
    }
}

/// Runs `command` and compares what matters: (exit code, timed out, passed).
async fn check(command: &str, expected: (Option<i32>, bool, bool)) -> CheckRecord {
    let dir = tempfile::tempdir().unwrap();
    let rec = run_check(
        &spec("c", command, dir.path(), Duration::from_secs(20)),
        &dir.path().join("logs"),
    )
    .await
    .unwrap();
    assert_eq!(
        (rec.exit_code, rec.timed_out, rec.passed),
        expected,
        "{command}"
    );
    assert_eq!(rec.log_sha256, sha256_file(&rec.log_path).unwrap());
    rec
}

#[tokio::test]
async fn exit_codes_decide_pass_and_fail() {
    check("true", (Some(0), false, true)).await;
    check("exit 3", (Some(3), false, false)).await;
    check("kill -9 $$", (None, false, false)).await;
}

#[tokio::test]
async fn log_holds_stdout_stderr_and_given_env_only() {
    let dir = tempfile::tempdir().unwrap();
    let rec = run_check(
        &spec(
            "env test",
            "echo out-$GREETING; echo err-line >&2; pwd",
            dir.path(),
            Duration::from_secs(20),
        ),
        &dir.path().join("logs"),
    )
    .await
    .unwrap();
    let log = std::fs::read_to_string(&rec.log_path).unwrap();
    assert!(rec.passed);
    assert!(rec.log_path.ends_with("logs/env_test.log"));
    for want in ["out-hi", "err-line", "# exit code 0"] {
        assert!(log.contains(want), "{want} missing from {log}");
    }
    let cwd = dir.path().canonicalize().unwrap();
    assert!(log.contains(cwd.to_str().unwrap()), "{log}");
}

/// The environment filter is a pass list: `cargo test` sets CARGO_MANIFEST_DIR for us, and it
/// is not on the list, so the check must not see it.
#[tokio::test]
async fn unlisted_variables_do_not_leak() {
    assert!(
        std::env::var("CARGO_MANIFEST_DIR").is_ok(),
        "run under cargo test: the test needs CARGO_MANIFEST_DIR set"
    );
    let dir = tempfile::tempdir().unwrap();
    let rec = run_check(
        &spec(
            "leak",
            "test -z \"$CARGO_MANIFEST_DIR\"",
            dir.path(),
            Duration::from_secs(20),
        ),
        dir.path(),
    )
    .await
    .unwrap();
    assert!(
        rec.passed,
        "{}",
        std::fs::read_to_string(&rec.log_path).unwrap()
    );
}

#[tokio::test]
async fn time_out_kills_the_whole_group_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("child-survived");
    // A background grandchild that would write the marker if it outlived the kill.
    let command = format!("(sleep 1; touch {}) & sleep 60", marker.display());
    let started = Instant::now();
    let rec = run_check(
        &spec("slow", &command, dir.path(), Duration::from_millis(300)),
        dir.path(),
    )
    .await
    .unwrap();
    assert!(rec.timed_out && !rec.passed && rec.exit_code.is_none());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let log = std::fs::read_to_string(&rec.log_path).unwrap();
    assert!(log.contains("timed out"), "{log}");
    // The grandchild would fire at 1 s; the group kill must have taken it too.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && !marker.exists() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!marker.exists(), "background job outlived the check");
}

#[tokio::test]
async fn output_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let rec = run_check(
        &spec(
            "big",
            "head -c 3000000 /dev/zero | tr '\\0' x",
            dir.path(),
            Duration::from_secs(20),
        ),
        dir.path(),
    )
    .await
    .unwrap();
    assert!(rec.passed);
    let len = std::fs::metadata(&rec.log_path).unwrap().len();
    assert!(len < LOG_LIMIT_BYTES + 1024, "{len}");
    let log = std::fs::read_to_string(&rec.log_path).unwrap();
    assert!(log.contains("more bytes dropped"));
}

#[tokio::test]
async fn missing_cwd_is_a_failed_check() {
    let dir = tempfile::tempdir().unwrap();
    let rec = run_check(
        &spec(
            "nowhere",
            "true",
            &dir.path().join("missing"),
            Duration::from_secs(5),
        ),
        dir.path(),
    )
    .await
    .unwrap();
    assert!(!rec.passed && rec.exit_code.is_none());
    let log = std::fs::read_to_string(&rec.log_path).unwrap();
    assert!(log.contains("could not start"), "{log}");
}

#[tokio::test]
async fn repo_checks_run_in_order_and_stop_at_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    let commands = Commands {
        setup: Some("echo setup >> order".into()),
        build: Some("echo build >> order; exit 1".into()),
        test: "echo test >> order".into(),
        start: None,
        health: None,
    };
    let recs = repo_checks(
        dir.path(),
        &commands,
        &dir.path().join("logs"),
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let names: Vec<_> = recs.iter().map(|r| (r.name.as_str(), r.passed)).collect();
    assert_eq!(names, [("setup", true), ("build", false)]);
    let order = std::fs::read_to_string(dir.path().join("order")).unwrap();
    assert_eq!(order, "setup\nbuild\n");
}

#[tokio::test]
async fn repo_checks_skip_absent_commands() {
    let dir = tempfile::tempdir().unwrap();
    let commands = Commands {
        setup: None,
        build: Some("  ".into()),
        test: "true".into(),
        start: None,
        health: None,
    };
    let recs = repo_checks(dir.path(), &commands, dir.path(), Duration::from_secs(20))
        .await
        .unwrap();
    let names: Vec<_> = recs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["test"]);
}
