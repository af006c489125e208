//! Durable runs and failover with real processes: nodes killed or paused mid-task, a node killed
//! mid-verification, the coordinator killed mid-run (and during a skill replay after delivery)
//! and restarted on its state, a worker crashing on demand, and a lossy UDP path. Every case ships the demo outcome with `factory ship --detach` and follows it with
//! `factory runs --json` until it is delivered.
//!
//! The agent is gated (see `support::fleet`): it notes which node it started on and waits for the
//! test to open the gate, so "a task is running on node X" is a fact the test waits for, not a
//! guess about timing.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use support::checks::{assert_delivered, assert_moved_once, events, task, wait_logged};
use support::fleet::{Fleet, signal};
use support::udp_proxy::{Faults, UdpProxy};
use support::{Proc, wait_until};

/// The cases run one at a time: each is a whole cluster, and starving heartbeats of CPU would
/// add failovers nobody asked for.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// A coordinator and node-1, node-2, settled.
fn cluster(fleet: &Fleet, node_env: &[(&str, &str)]) -> (Proc, String, Vec<Proc>) {
    let (coordinator, addr) = fleet.coordinator("127.0.0.1:0");
    let nodes = ["node-1", "node-2"]
        .iter()
        .map(|n| fleet.node(n, &addr, &[], node_env))
        .collect();
    fleet.wait_settled(&addr, 2);
    (coordinator, addr, nodes)
}

fn index(name: &str) -> usize {
    if name == "node-1" { 0 } else { 1 }
}

fn other(name: &str) -> &'static str {
    if name == "node-1" { "node-2" } else { "node-1" }
}

#[test]
fn a_node_killed_mid_task_loses_the_task_to_the_other_node() {
    let _one = serial();
    let fleet = Fleet::new(true);
    let (_coordinator, addr, mut nodes) = cluster(&fleet, &[]);
    let run_id = fleet.ship(&addr);
    let task_id = fleet.wait_running(&addr, &run_id);
    let repo = task_id.split(':').next().unwrap().to_owned();
    let first = fleet.wait_started(None, Duration::from_secs(60));
    let (_, epoch_before) = fleet.shard(&addr, &repo);

    nodes[index(&first)].kill();
    let killed = Instant::now();
    let second = fleet.wait_started(Some(&first), Duration::from_secs(30));
    let failover = killed.elapsed();
    assert_eq!(second, other(&first));
    fleet.open_gate();

    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    let attempt1 = assert_moved_once(&run, &task_id, &first, epoch_before);
    assert_eq!(attempt1["node"], second.as_str());
    // The dead node never had a result admitted.
    assert!(
        run["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["results"].as_array().unwrap())
            .all(|r| r["node"] != first.as_str())
    );
    eprintln!("failover from kill to the task running on {second}: {failover:?}");
    assert!(failover < Duration::from_secs(10), "{failover:?}");
}

#[test]
fn a_paused_node_steps_down_and_the_run_delivers_once() {
    let _one = serial();
    let fleet = Fleet::new(true);
    let (_coordinator, addr, nodes) = cluster(&fleet, &[]);
    let run_id = fleet.ship(&addr);
    let task_id = fleet.wait_running(&addr, &run_id);
    let repo = task_id.split(':').next().unwrap().to_owned();
    let paused = fleet.wait_started(None, Duration::from_secs(60));
    let (_, epoch_before) = fleet.shard(&addr, &repo);
    let node = &nodes[index(&paused)];

    signal(node, Signal::STOP);
    let elsewhere = fleet.wait_started(Some(&paused), Duration::from_secs(30));
    assert_eq!(elsewhere, other(&paused));
    let s = fleet.status(&addr);
    let entry = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == paused.as_str())
        .unwrap();
    assert_eq!(entry["up"], false, "the paused node is marked down");

    signal(node, Signal::CONT);
    node.wait_stderr("registering again", Duration::from_secs(30));
    fleet.wait_settled(&addr, 2);
    // Wait until the resumed node has heard what became of the repo, so its paused attempt
    // sees it has lost it before it would push.
    let (owner, epoch) = fleet.shard(&addr, &repo);
    assert!(epoch > epoch_before);
    if owner.as_deref() == Some(paused.as_str()) {
        wait_logged(node, "shard granted", &repo, Some(epoch));
    } else {
        wait_logged(node, "shard revoked", &repo, None);
    }
    fleet.open_gate();

    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    node.wait_stderr("stepping down", Duration::from_secs(30));
    let results = task(&run, &task_id)["results"].as_array().unwrap();
    assert_eq!(results[0]["attempt"], 1);
    assert!(results[0]["epoch"].as_u64().unwrap() > epoch_before);
    assert!(!events(&run, "task.moved").is_empty());
}

#[test]
fn a_node_killed_mid_verification_loses_the_round_to_the_other_node() {
    let _one = serial();
    let fleet = Fleet::new(false);
    fleet.gate_verification();
    let (_coordinator, addr, mut nodes) = cluster(&fleet, &[]);
    let run_id = fleet.ship(&addr);
    let first = fleet.wait_round_started(None, Duration::from_secs(120));

    nodes[index(&first)].kill();
    fleet.forget_node(&first);
    let killed = Instant::now();
    let second = fleet.wait_round_started(Some(&first), Duration::from_secs(30));
    let failover = killed.elapsed();
    assert_eq!(second, other(&first));
    fleet.open_verification();

    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    let rounds = run["verifications"].as_array().unwrap();
    assert!(
        rounds.iter().all(|r| r["node"] == second.as_str()),
        "no report came from the killed node: {rounds:?}"
    );
    let moves = rounds[0]["moves"]
        .as_array()
        .expect("round 1 records its move");
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0]["from"], first.as_str());
    assert_eq!(moves[0]["to"], second.as_str());
    assert!(moves[0]["epoch"].as_u64() > moves[0]["from_epoch"].as_u64());
    eprintln!("failover from kill to the round running on {second}: {failover:?}");
    assert!(failover < Duration::from_secs(10), "{failover:?}");
}

#[test]
fn a_coordinator_killed_mid_run_resumes_it_from_its_state() {
    let _one = serial();
    let fleet = Fleet::new(true);
    let (mut coordinator, addr, nodes) = cluster(&fleet, &[]);
    let run_id = fleet.ship(&addr);
    let task_id = fleet.wait_running(&addr, &run_id);
    let repo = task_id.split(':').next().unwrap().to_owned();
    let runner = fleet.wait_started(None, Duration::from_secs(60));
    let (_, epoch_before) = fleet.shard(&addr, &repo);

    coordinator.kill();
    let (_coordinator, again) = fleet.coordinator(&addr);
    assert_eq!(again, addr);
    fleet.wait_settled(&addr, 2);
    // The resumed run sends the same attempt again under the new epoch; the node must know that
    // epoch before the first send's agent finishes, so that send steps down instead of pushing.
    let (owner, epoch) = fleet.shard(&addr, &repo);
    assert!(epoch > epoch_before);
    let node = &nodes[index(owner.as_deref().unwrap())];
    wait_logged(node, "shard granted", &repo, Some(epoch));
    fleet.open_gate();

    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    // The first send, still running when the coordinator died, saw the new epoch and stepped
    // down instead of pushing; the re-send did the work.
    nodes[index(&runner)].wait_stderr("stepping down", Duration::from_secs(30));
    // One commit per attempt that changed the repo, and one push per commit.
    let branch = format!("factory/{run_id}");
    let commits = fleet.commits(&repo, &branch);
    let attempts = task(&run, &task_id)["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == true || !r["head"].is_null())
        .count();
    assert_eq!(commits.len(), attempts, "{commits:#?}");
    for n in 1..=attempts {
        let tag = format!("task {task_id} attempt {n}");
        assert_eq!(
            commits.iter().filter(|c| c.contains(&tag)).count(),
            1,
            "{commits:#?}"
        );
    }
    assert_eq!(fleet.pushes(&repo, &branch), commits.len(), "pushed twice");
}

#[test]
fn a_coordinator_killed_during_a_skill_replay_replays_it_after_restart() {
    let _one = serial();
    let fleet = Fleet::new(true);
    let (mut coordinator, addr, _nodes) = cluster(&fleet, &[]);
    let run_id = fleet.ship(&addr);
    fleet.open_gate();
    // Round 3 starts once every agent of the run has finished (backend twice: the casing slip,
    // then its fix); from then on the gate holds the skill replay's agent.
    wait_until("verification round 3", Duration::from_secs(120), || {
        let run = fleet.run(&addr, &run_id)?;
        (events(&run, "verify.started").len() >= 3).then_some(())
    });
    fleet.close_gate();
    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    let replays = || {
        fleet
            .started_in()
            .iter()
            .filter(|dir| dir.contains("learner-replays"))
            .count()
    };
    wait_until("the skill replay's agent", Duration::from_secs(60), || {
        (replays() > 0).then_some(())
    });

    coordinator.kill();
    let before = replays();
    let (restarted, again) = fleet.coordinator(&addr);
    assert_eq!(again, addr);
    restarted.wait_stderr(
        "replaying skill proposals left without a verdict",
        Duration::from_secs(30),
    );
    wait_until("the replay to start again", Duration::from_secs(60), || {
        (replays() > before).then_some(())
    });
    fleet.open_gate();
    let verdict = restarted.wait_stderr("skill skill:backend accepted", Duration::from_secs(120));
    assert!(verdict.contains("regresses none"), "{verdict}");
}

#[test]
fn a_worker_that_panics_is_reported_and_its_task_retried() {
    let _one = serial();
    let fleet = Fleet::new(false);
    let env = [(node::task::PANIC_ONCE_ENV, "worker")];
    let (_coordinator, addr, nodes) = cluster(&fleet, &env);
    let run_id = fleet.ship(&addr);
    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    let retries = events(&run, "task.retry");
    assert!(
        retries
            .iter()
            .any(|m| m.starts_with("worker:change attempt 1") && m.contains("crashed")),
        "{retries:?}"
    );
    let worker = task(&run, "worker:change");
    assert_eq!(worker["results"][0]["ok"], false);
    assert_eq!(worker["results"][1]["ok"], true);
    assert!(
        nodes.iter().any(|n| n.stderr().contains("worker crashed")),
        "a node logs the crash"
    );
}

#[test]
fn a_lossy_path_between_a_node_and_the_coordinator_still_delivers() {
    let _one = serial();
    let fleet = Fleet::new(false);
    let (_coordinator, addr, _) = {
        let (c, a) = fleet.coordinator("127.0.0.1:0");
        (c, a, ())
    };
    let faults = |seed| Faults {
        seed,
        drop: 0.03,
        delay: 0.2,
        max_delay: Duration::from_millis(40),
        reorder: 0.05,
    };
    // Both directions of node-1's QUIC path go through a proxy: its calls to the coordinator,
    // and the coordinator's calls to it (node-1 advertises the second proxy's address).
    let to_coordinator = UdpProxy::start(Some(addr.parse().unwrap()), faults(7));
    let to_node = UdpProxy::start(None, faults(11));
    let join = to_coordinator.addr().to_string();
    let advertise = to_node.addr().to_string();
    let lossy = fleet.node("node-1", &join, &["--advertise", &advertise], &[]);
    let listening = lossy.wait_stdout("listening on", Duration::from_secs(5));
    to_node.set_target(listening.rsplit(' ').next().unwrap().parse().unwrap());
    let _plain = fleet.node("node-2", &addr, &[], &[]);
    fleet.wait_settled(&addr, 2);

    let run_id = fleet.ship(&addr);
    let run = fleet.wait_finished(&addr, &run_id);
    assert_delivered(&run);
    for proxy in [&to_coordinator, &to_node] {
        let c = proxy.counts();
        let n = |x: &std::sync::atomic::AtomicU64| x.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            n(&c.forwarded) > 0 && n(&c.dropped) > 0 && n(&c.delayed) > 0,
            "the faults happened: {c:?}"
        );
    }
}

/// A re-send of an attempt whose first send already pushed (its reply was lost, or its node was)
/// succeeds on another node without a second commit or push.
#[tokio::test]
async fn a_resent_attempt_that_already_pushed_does_not_push_again() {
    use node::task::{WorkConfig, run_task};
    use protocol::outcome::{ChangeSpec, TaskRole, TaskSpec};
    use protocol::run::TaskAssignment;

    let fleet = Fleet::new(false);
    let run_id = "0190aaaa-0000-7000-8000-000000000002";
    let created_at = |contract: &str| ChangeSpec::AddField {
        contract: contract.into(),
        field: "createdAt".into(),
        ty: "string".into(),
        format: Some("date-time".into()),
    };
    let a = TaskAssignment {
        task: TaskSpec {
            run_id: run_id.into(),
            task_id: "backend:change".into(),
            repo: "backend".into(),
            role: TaskRole::Writer,
            title: "expose the order creation time".into(),
            instructions: "add createdAt".into(),
            changes: vec![created_at("orders.v1"), created_at("order-events.v1")],
            attempt: 1,
            findings: vec![],
            context: vec![],
        },
        origin: fleet
            .root
            .join("org/origins/backend.git")
            .display()
            .to_string(),
        epoch: 1,
        agent: "sim".into(),
        skill: actors::agent::DEFAULT_TEMPLATE.into(),
        agent_timeout_secs: 120,
        agent_max_cost_usd: 1.0,
    };
    let on = |node: &str| WorkConfig {
        node: node.into(),
        work_dir: fleet.root.join("work").join(node),
        sim_argv: vec![support::factory_bin().into(), "sim-agent".into()],
        check_timeout: Duration::from_secs(120),
        coordinator: Default::default(),
    };
    let first = run_task(&on("node-1"), &a).await.result;
    assert!(first.ok, "{:?}", first.error);
    let again = run_task(&on("node-2"), &TaskAssignment { epoch: 2, ..a })
        .await
        .result;
    assert!(again.ok, "{:?}", again.error);
    assert_eq!(again.head, first.head);
    let branch = format!("factory/{run_id}");
    assert_eq!(fleet.commits("backend", &branch).len(), 1);
    assert_eq!(fleet.pushes("backend", &branch), 1);
}
