use super::*;
use crate::verify::fixtures::{live_members, provider, require_python};
use crate::verify::{capture_events, capture_events_within, capture_http};

/// Waits (with a deadline) until no process of the groups is running.
async fn assert_groups_gone(groups: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let live: Vec<u32> = groups.iter().flat_map(|g| live_members(*g)).collect();
        if live.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "still running: {live:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn provider_starts_and_payloads_are_captured() {
    require_python();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(
        vec![provider("backend", dir.path(), BTreeMap::new())],
        &dir.path().join("sandbox"),
    )
    .await
    .unwrap();
    let port = sandbox.port("backend").unwrap();
    assert_eq!(
        sandbox.url("backend").unwrap(),
        format!("http://127.0.0.1:{port}")
    );
    assert!(sandbox.port("nope").is_none());

    let got = capture_http(port, "GET", "/orders/1001").await.unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.body["created_at"], "2026-01-01T00:00:00Z");
    assert!(got.raw.contains("\"total\": 42"));
    let missing = capture_http(port, "GET", "/nothing").await.unwrap();
    assert_eq!(missing.status, 404);

    // Two triggers: each capture returns only the event its trigger produced.
    for _ in 0..2 {
        let events = capture_events(&sandbox, "orders", Some("POST /orders"), "backend")
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["type"], "order.created");
    }
    let all = capture_events(&sandbox, "orders", None, "backend")
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    let (name, log) = &sandbox.logs()[0];
    assert_eq!(name, "backend");
    assert!(
        std::fs::read_to_string(log)
            .unwrap()
            .contains("provider on")
    );

    let groups = sandbox.process_groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(live_members(groups[0]).len(), 2, "sh and python expected");
    drop(sandbox);
    assert_groups_gone(&groups).await;
}

#[tokio::test]
async fn bad_event_lines_and_quiet_channels_are_errors() {
    require_python();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(
        vec![provider("backend", dir.path(), BTreeMap::new())],
        &dir.path().join("sandbox"),
    )
    .await
    .unwrap();
    let err = capture_events(&sandbox, "orders", Some("POST /bad-event"), "backend")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VerifyError::BadEvent { line: 1, .. }),
        "{err}"
    );
    let err = capture_events_within(
        &sandbox,
        "silent",
        None,
        "backend",
        Duration::from_millis(200),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VerifyError::Timeout { .. }), "{err}");
    let err = capture_events(&sandbox, "orders", Some("POST /nope"), "backend")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    let err = capture_events(&sandbox, "../x", None, "backend")
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::BadName(_)), "{err}");
    let err = capture_events(&sandbox, "orders", Some("POST /orders"), "ghost")
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::UnknownService(_)), "{err}");
    sandbox.stop().await;
}

#[tokio::test]
async fn early_exit_reports_the_log_tail_and_stops_the_others() {
    require_python();
    let dir = tempfile::tempdir().unwrap();
    let seedless = ServiceSpec {
        name: "worker".to_string(),
        cwd: dir.path().to_path_buf(),
        command: "python3 -c \"open('seed/orders.json')\"".to_string(),
        health_path: Some("/health".to_string()),
        env: BTreeMap::new(),
    };
    let started = Instant::now();
    let err = Sandbox::start_within(
        vec![provider("backend", dir.path(), BTreeMap::new()), seedless],
        &dir.path().join("sandbox"),
        Duration::from_secs(20),
    )
    .await
    .unwrap_err();
    // The exit is noticed at once, not at the health deadline.
    assert!(started.elapsed() < Duration::from_secs(10));
    match &err {
        VerifyError::ExitedEarly { name, tail, .. } => {
            assert_eq!(name, "worker");
            assert!(tail.contains("seed/orders.json"), "{tail}");
        }
        other => panic!("unexpected {other}"),
    }
    // The provider started first; the failed start must not leave it running.
    let log = std::fs::read_to_string(dir.path().join("sandbox/logs/backend.log")).unwrap();
    let line = log.lines().find(|l| l.starts_with("provider on")).unwrap();
    let port: u16 = line.rsplit(' ').next().unwrap().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while request(
        port as u16,
        "GET",
        "/health",
        None,
        Duration::from_millis(500),
    )
    .await
    .is_ok()
    {
        assert!(Instant::now() < deadline, "provider still answering");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn unhealthy_service_times_out_and_bad_names_are_refused() {
    require_python();
    let dir = tempfile::tempdir().unwrap();
    let mut mute = provider("backend", dir.path(), BTreeMap::new());
    mute.health_path = Some("/never".to_string());
    let err = Sandbox::start_within(
        vec![mute],
        &dir.path().join("s1"),
        Duration::from_millis(800),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, VerifyError::NotHealthy { .. }), "{err}");

    let mut bad = provider("../up", dir.path(), BTreeMap::new());
    bad.health_path = None;
    let err = Sandbox::start(vec![bad], &dir.path().join("s2"))
        .await
        .unwrap_err();
    assert!(matches!(err, VerifyError::BadName(_)), "{err}");
}

#[test]
fn service_for_a_repo_comes_from_its_manifest() {
    use crate::org::model::{Commands, Manifest, Repo, UnitKind};
    let repo = |start: Option<&str>| Repo {
        name: "backend".into(),
        origin: "git@example.com:org/backend".into(),
        owner: "orders".into(),
        manifest: Manifest {
            kind: UnitKind::Service,
            deploy_after: vec![],
            commands: Commands {
                setup: None,
                build: None,
                test: "true".into(),
                start: start.map(str::to_string),
                health: Some("/health".into()),
            },
            provides: vec![],
            consumes: vec![],
            ui_pages: vec![],
        },
    };
    let wt = Path::new("wt/backend");
    let spec = ServiceSpec::for_repo(&repo(Some("python3 app.py")), wt).unwrap();
    assert_eq!(
        (
            spec.name.as_str(),
            spec.command.as_str(),
            spec.health_path.as_deref(),
            spec.cwd.as_path()
        ),
        ("backend", "python3 app.py", Some("/health"), wt)
    );
    assert!(ServiceSpec::for_repo(&repo(None), wt).is_none());
    assert!(ServiceSpec::for_repo(&repo(Some(" ")), wt).is_none());
}
