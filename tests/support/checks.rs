//! Checks on a finished run shared by the fault tests: delivered, each attempt counted once,
//! each commit pushed once; waits on what a node logged; and that no process outlives a test.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::fleet::Fleet;
use super::{Proc, wait_until};

/// The task `id` of a run.
pub fn task<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
}

/// The messages of the run's events of one kind.
pub fn events<'a>(run: &'a Value, kind: &str) -> Vec<&'a str> {
    run["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["message"].as_str().unwrap())
        .collect()
}

/// Wait until a node logs `message` about `repo` (at `epoch`, if given).
pub fn wait_logged(node: &Proc, message: &str, repo: &str, epoch: Option<u64>) {
    let fields = |l: &str| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.contains(&format!("repo={repo}").as_str())
            && epoch.is_none_or(|e| words.contains(&format!("epoch={e}").as_str()))
    };
    wait_until(
        &format!("a node to log {message} for {repo}"),
        Duration::from_secs(30),
        || {
            node.stderr()
                .lines()
                .any(|l| l.contains(message) && fields(l))
                .then_some(())
        },
    );
}

/// No attempt of any task was counted twice.
pub fn assert_counted_once(run: &Value) {
    for t in run["tasks"].as_array().unwrap() {
        let mut attempts: Vec<u64> = t["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attempt"].as_u64().unwrap())
            .collect();
        let n = attempts.len();
        attempts.dedup();
        assert_eq!(attempts.len(), n, "{} counted an attempt twice", t["id"]);
    }
}

/// The run delivered (its events are shown if not) and counted no attempt twice.
pub fn assert_delivered(run: &Value) {
    assert_eq!(
        run["status"],
        "delivered",
        "{}",
        serde_json::to_string_pretty(&run["events"]).unwrap()
    );
    assert_counted_once(run);
}

/// On the run's branch of `repo`: one commit per attempt of the repo's tasks that changed it,
/// and one push per commit.
pub fn assert_pushed_once(fleet: &Fleet, run: &Value, repo: &str) {
    let branch = format!("factory/{}", run["id"].as_str().unwrap());
    let commits = fleet.commits(repo, &branch);
    let prefix = format!("{repo}:");
    let mut attempts = 0;
    for t in run["tasks"].as_array().unwrap() {
        let id = t["id"].as_str().unwrap();
        if !id.starts_with(&prefix) {
            continue;
        }
        for r in t["results"].as_array().unwrap() {
            if r["ok"] != true && r["head"].is_null() {
                continue;
            }
            attempts += 1;
            let tag = format!("task {id} attempt {}", r["attempt"]);
            assert_eq!(
                commits.iter().filter(|c| c.contains(&tag)).count(),
                1,
                "{tag}: {commits:#?}"
            );
        }
    }
    assert_eq!(commits.len(), attempts, "{commits:#?}");
    assert_eq!(fleet.pushes(repo, &branch), commits.len(), "pushed twice");
}

/// Wait until no process mentions `dir` on its command line or works in it: whatever a test
/// started there (nodes, agents, checks) has exited. Panics listing what is left.
pub fn wait_no_process_under(dir: &Path, timeout: Duration) {
    let left = || -> Vec<String> {
        let needle = dir.display().to_string();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|e| {
                // A process may exit while it is read: then it is not left.
                let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                let cwd = std::fs::read_link(e.path().join("cwd")).ok();
                let inside = cmdline.contains(&needle) || cwd.is_some_and(|c| c.starts_with(dir));
                inside.then(|| format!("{} {cmdline}", e.file_name().to_string_lossy()))
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let procs = left();
        if procs.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processes outlived the test: {procs:#?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The task's attempt 1 moved off `from` (a `task.moved` event) and was counted once, at an epoch
/// above `epoch_before`: the move burned no attempt. Returns that attempt's result.
pub fn assert_moved_once<'a>(
    run: &'a Value,
    task_id: &str,
    from: &str,
    epoch_before: u64,
) -> &'a Value {
    let moved = events(run, "task.moved");
    assert!(
        moved
            .iter()
            .any(|m| m.starts_with(&format!("{task_id} attempt 1 moved from {from}@"))),
        "{moved:?}"
    );
    let attempt1 = &task(run, task_id)["results"].as_array().unwrap()[0];
    assert_eq!(attempt1["attempt"], 1, "the move burned no attempt");
    assert!(attempt1["epoch"].as_u64().unwrap() > epoch_before);
    attempt1
}
