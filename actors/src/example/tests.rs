use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::testutil::{ExampleOrg, assert_repo_tests_pass, command, sh};
use super::*;
use crate::org::{Medium, UnitKind, load_org};

#[test]
fn generated_org_loads() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let org = load_org(&example.org_toml).expect("example org loads");
    let names: Vec<&str> = org.repos.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["backend", "worker", "frontend", "infra"]);
    let backend = org.repo("backend").expect("backend");
    assert_eq!(backend.manifest.kind, UnitKind::Service);
    assert_eq!(backend.manifest.deploy_after, ["infra"]);
    assert_eq!(
        backend.manifest.commands.setup.as_deref(),
        Some("python3 scripts/seed.py")
    );
    assert!(
        matches!(backend.manifest.provides[1].medium, Medium::Event { ref channel, .. } if channel == "orders")
    );
    let flows: Vec<(String, String, String)> = org
        .flows()
        .into_iter()
        .map(|f| (f.contract, f.writer, f.reader))
        .collect();
    assert_eq!(
        flows,
        [
            ("order-events.v1".into(), "backend".into(), "worker".into()),
            ("orders.v1".into(), "backend".into(), "frontend".into()),
        ]
    );
    assert_eq!(
        org.repo("frontend").expect("frontend").manifest.ui_pages,
        ["/"]
    );
}

#[test]
fn refuses_to_overwrite() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let err = generate(example.dir.path(), &ExampleOptions::default())
        .expect_err("second generate fails");
    assert!(matches!(err, ExampleError::Exists(_)), "{err}");
}

#[test]
fn every_repo_passes_its_own_tests() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    for (name, _) in repos::REPOS {
        assert_repo_tests_pass(&example.clone_repo(name));
    }
}

#[test]
fn contract_url_env_names() {
    assert_eq!(contract_url_env("orders.v1"), "FACTORY_URL_ORDERS_V1");
    assert_eq!(
        contract_url_env("order-events.v1"),
        "FACTORY_URL_ORDER_EVENTS_V1"
    );
}

/// Start backend's `start` command on a free port; the first output line it prints.
fn start_backend(repo: &std::path::Path) -> String {
    let start = command(repo, "start").expect("start command");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {start} 2>&1"))
        .current_dir(repo)
        .env("PORT", "0")
        .env("FACTORY_EVENTS_DIR", repo.join("events"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start backend");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("backend prints a line within 30 s");
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn backend_starts_after_setup() {
    let example = ExampleOrg::new(&ExampleOptions::default());
    let repo = example.clone_repo("backend");
    let (ok, out) = sh(&repo, &command(&repo, "setup").expect("setup"));
    assert!(ok, "{out}");
    assert!(start_backend(&repo).starts_with("backend listening on 127.0.0.1:"));
}

#[test]
fn missing_seed_step_fails_start_clearly() {
    let example = ExampleOrg::new(&ExampleOptions {
        missing_seed_step: true,
    });
    let repo = example.clone_repo("backend");
    assert_eq!(command(&repo, "setup"), None);
    assert!(start_backend(&repo).contains("seed data missing"));
    // The repo's own tests still pass: they seed a temp file themselves.
    assert_repo_tests_pass(&repo);
}

#[test]
fn generation_is_deterministic() {
    let head = |example: &ExampleOrg| {
        let origin = example.dir.path().join("origins/backend.git");
        git(&origin, &["rev-parse", "HEAD"]).expect("rev-parse")
    };
    let (a, b) = (
        ExampleOrg::new(&ExampleOptions::default()),
        ExampleOrg::new(&ExampleOptions::default()),
    );
    assert_eq!(head(&a), head(&b));
    let c = ExampleOrg::new(&ExampleOptions {
        missing_seed_step: true,
    });
    assert_ne!(head(&a), head(&c));
    let branch = git(
        &a.dir.path().join("origins/backend.git"),
        &["symbolic-ref", "HEAD"],
    )
    .expect("HEAD");
    assert_eq!(branch.trim(), "refs/heads/main");
}
