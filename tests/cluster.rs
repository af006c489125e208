//! Multi-process cluster tests: the real binary, over QUIC on loopback.
#![allow(clippy::unwrap_used)]

mod support;

use protocol::{Body, ErrorCode, RepoName};
use serde_json::Value;
use std::time::{Duration, Instant};
use support::rpc::call_as;
use support::{Certs, Proc, start_coordinator, start_node, status, wait_until};

const REPOS: &[&str] = &[
    "api", "web", "worker", "billing", "infra", "schemas", "docs", "search",
];

/// The node entry named `name` in a status document.
fn node<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["name"] == name)
}

/// (repo, owner, epoch) for every shard.
fn shards(status: &Value) -> Vec<(String, Option<String>, u64)> {
    status["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let owner = s["owner"].as_str().map(str::to_owned);
            (
                s["repo"].as_str().unwrap().to_owned(),
                owner,
                s["epoch"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn up_nodes(status: &Value) -> Vec<String> {
    let mut up: Vec<String> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["up"] == true)
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    up.sort();
    up
}

/// A coordinator and `n` nodes, once every node shows as up and every repo has an owner.
fn cluster(certs: &Certs, n: usize) -> (Proc, String, Vec<Proc>) {
    let (coordinator, addr) = start_coordinator(certs, REPOS);
    let names: Vec<String> = (1..=n).map(|i| format!("node-{i}")).collect();
    let nodes: Vec<Proc> = names
        .iter()
        .map(|name| start_node(certs, &addr, name))
        .collect();
    wait_until(
        "all nodes up and all repos owned",
        Duration::from_secs(20),
        || {
            let s = status(certs, &addr);
            (up_nodes(&s) == names && shards(&s).iter().all(|(_, o, _)| o.is_some())).then_some(())
        },
    );
    (coordinator, addr, nodes)
}

#[test]
fn nodes_join_and_show_in_status() {
    let certs = Certs::new();
    let (_coordinator, addr, _nodes) = cluster(&certs, 3);
    let s = status(&certs, &addr);
    assert_eq!(up_nodes(&s), ["node-1", "node-2", "node-3"]);
    // Every repo is listed once, under its owner, with the shard's epoch.
    let owned: usize = (1..=3)
        .map(|i| {
            node(&s, &format!("node-{i}")).unwrap()["shards"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(owned, REPOS.len());
    for (repo, owner, epoch) in shards(&s) {
        let owner = node(&s, owner.as_deref().unwrap()).unwrap();
        let grant = owner["shards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["repo"] == repo.as_str())
            .unwrap();
        assert_eq!(grant["epoch"].as_u64(), Some(epoch));
        assert!(epoch >= 1);
    }
    // Each node serves its own supervised `node` actor over QUIC.
    let node_addr = node(&s, "node-1").unwrap()["addr"]
        .as_str()
        .unwrap()
        .to_owned();
    let pong = call_as(
        &certs,
        "admin",
        &node_addr,
        "node",
        Body::Ping {
            payload: vec![4, 2],
        },
        None,
    );
    assert_eq!(
        pong,
        Body::Pong {
            payload: vec![4, 2]
        }
    );
    // The table form names every node.
    let out = std::process::Command::new(support::factory_bin())
        .args(["status", "--coordinator", &addr, "--certs", &certs.arg()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for name in ["node-1", "node-2", "node-3"] {
        assert!(table.contains(name), "{table}");
    }
}

#[test]
fn a_node_with_a_foreign_certificate_is_refused() {
    let certs = Certs::new();
    let (coordinator, addr) = start_coordinator(&certs, REPOS);
    // The rogue trusts the real CA (so it would accept the coordinator) but its own certificate
    // comes from another CA.
    let foreign = Certs::new();
    foreign.issue(&["rogue"]);
    let (_dir, rogue_dir) = support::scratch();
    std::fs::copy(certs.path().join("ca.pem"), rogue_dir.join("ca.pem")).unwrap();
    foreign.copy_identity_to("rogue", &rogue_dir);

    let rogue_certs = rogue_dir.display().to_string();
    let mut rogue = Proc::spawn(
        "rogue",
        &[
            "node",
            "--join",
            &addr,
            "--certs",
            &rogue_certs,
            "--name",
            "rogue",
        ],
    );
    let exit = rogue.wait_exit(Duration::from_secs(20));
    assert!(!exit.success(), "the rogue node should fail");
    let err = rogue.stderr();
    assert!(
        err.contains("node rogue could not join") && err.contains("refused"),
        "{err}"
    );
    coordinator.wait_stderr("handshake refused", Duration::from_secs(5));
    assert!(node(&status(&certs, &addr), "rogue").is_none());
}

#[test]
fn a_killed_node_is_marked_down_and_its_repos_move() {
    let certs = Certs::new();
    let (_coordinator, addr, mut nodes) = cluster(&certs, 3);
    let before = status(&certs, &addr);
    // Kill the node that owns the most repos, so something must move.
    let victim_index = (0..3)
        .max_by_key(|i| {
            node(&before, &format!("node-{}", i + 1)).unwrap()["shards"]
                .as_array()
                .unwrap()
                .len()
        })
        .unwrap();
    let victim = format!("node-{}", victim_index + 1);
    let owned_before: Vec<(String, u64)> = shards(&before)
        .into_iter()
        .filter(|(_, o, _)| o.as_deref() == Some(victim.as_str()))
        .map(|(r, _, e)| (r, e))
        .collect();
    assert!(!owned_before.is_empty());

    let killed_at = Instant::now();
    nodes[victim_index].kill();
    let after = wait_until(
        "the killed node to be marked down",
        Duration::from_secs(10),
        || {
            let s = status(&certs, &addr);
            (node(&s, &victim).unwrap()["up"] == false).then_some(s)
        },
    );
    let detected = killed_at.elapsed();
    // Bound: 2 s of silence plus a 100 ms tick; 3 s leaves room for status polling.
    assert!(
        detected < Duration::from_secs(3),
        "detection took {detected:?}"
    );

    let now: Vec<(String, Option<String>, u64)> = shards(&after);
    for (repo, epoch_before) in owned_before {
        let (_, owner, epoch) = now.iter().find(|(r, _, _)| *r == repo).unwrap();
        let owner = owner
            .as_deref()
            .expect("every repo has an owner after the move");
        assert_ne!(owner, victim, "{repo} is still on the dead node");
        assert!(*epoch > epoch_before, "{repo} moved without a higher epoch");
    }
    assert!(
        node(&after, &victim).unwrap()["shards"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

/// Send a repo update as `name` under `epoch`; the reply body.
fn repo_update(certs: &Certs, addr: &str, name: &str, repo: &str, epoch: u64) -> Body {
    let body = Body::RepoUpdate {
        repo: RepoName::new(repo),
        detail: "tests passed".into(),
    };
    call_as(certs, name, addr, "coordinator", body, Some(epoch))
}

#[test]
fn a_message_under_an_old_epoch_is_refused() {
    let certs = Certs::new();
    let (coordinator, addr, mut nodes) = cluster(&certs, 2);
    let before = status(&certs, &addr);
    let (repo, owner, epoch) = shards(&before).into_iter().next().unwrap();
    let owner = owner.unwrap();
    // The owner's current epoch is accepted.
    assert_eq!(
        repo_update(&certs, &addr, &owner, &repo, epoch),
        Body::Ack {}
    );

    // The owner dies; the repo moves on with a higher epoch.
    let index = nodes
        .iter()
        .position(|_| true)
        .filter(|_| owner == "node-1")
        .unwrap_or(1);
    nodes[index].kill();
    let (new_owner, new_epoch) = wait_until("the repo to move", Duration::from_secs(10), || {
        let s = status(&certs, &addr);
        shards(&s)
            .into_iter()
            .find(|(r, o, _)| *r == repo && o.is_some() && o.as_deref() != Some(owner.as_str()))
            .map(|(_, o, e)| (o.unwrap(), e))
    });
    assert!(new_epoch > epoch);

    // A late message from the former owner, under its old epoch, is refused and logged.
    match repo_update(&certs, &addr, &owner, &repo, epoch) {
        Body::Error { code, .. } => assert_eq!(code, ErrorCode::StaleEpoch),
        other => panic!("expected StaleEpoch, got {other:?}"),
    }
    coordinator.wait_stderr("stale epoch", Duration::from_secs(5));
    // The new owner under the new epoch is accepted.
    assert_eq!(
        repo_update(&certs, &addr, &new_owner, &repo, new_epoch),
        Body::Ack {}
    );
}

#[test]
fn epochs_survive_a_coordinator_restart() {
    let certs = Certs::new();
    let (_dir, state) = support::scratch();
    let state = state.display().to_string();
    let epochs = |addr: &str| -> Vec<u64> {
        wait_until("every repo owned", Duration::from_secs(20), || {
            let s = shards(&status(&certs, addr));
            s.iter()
                .all(|(_, o, _)| o.is_some())
                .then(|| s.iter().map(|(_, _, e)| *e).collect())
        })
    };
    let (mut coordinator, addr) =
        support::start_coordinator_with(&certs, REPOS, &["--state", &state]);
    let mut node = start_node(&certs, &addr, "node-1");
    let first = epochs(&addr);
    node.kill();
    coordinator.kill();

    // A new coordinator on the same state directory hands out only higher epochs.
    let (_coordinator, addr) = support::start_coordinator_with(&certs, REPOS, &["--state", &state]);
    let _node = start_node(&certs, &addr, "node-1");
    let second = epochs(&addr);
    for (before, after) in first.iter().zip(&second) {
        assert!(after > before, "epochs went from {first:?} to {second:?}");
    }
}
