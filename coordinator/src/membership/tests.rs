#![allow(clippy::unwrap_used)]

use super::*;
use crate::ids::Epoch;

/// One step of a scenario: the time it happens at (ms) and the input.
enum Step {
    Register(u64, &'static str, u32),
    Heartbeat(u64, &'static str),
    Tick(u64),
}

/// A compact view of effects so tables stay readable: "up a", "down b", "move r a->b @2".
fn show(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .map(|e| match e {
            Effect::NodeUp(n) => format!("up {n}"),
            Effect::NodeDown(n) => format!("down {n}"),
            Effect::Moved(m) => {
                let name = |n: &Option<NodeId>| n.as_ref().map_or("-".to_owned(), |n| n.0.clone());
                format!(
                    "move {} {}->{} @{}",
                    m.repo,
                    name(&m.from),
                    name(&m.to),
                    m.epoch
                )
            }
        })
        .collect()
}

fn registration(name: &str, capacity: u32) -> Registration {
    Registration {
        name: NodeId::new(name),
        capacity,
        agents: vec!["repo-agent".to_owned()],
        labels: BTreeMap::new(),
        addr: "127.0.0.1:1".to_owned(),
    }
}

/// Run the steps on a one-repo cluster and compare the effects (or error) of each step.
fn check(steps: &[Step], expected: &[&[&str]]) {
    let mut m = Membership::new(MembershipConfig::default(), [RepoName::new("r")]);
    let ms = Duration::from_millis;
    let got: Vec<Vec<String>> = steps
        .iter()
        .map(|step| match step {
            Step::Register(t, n, c) => match m.register(ms(*t), registration(n, *c)) {
                Ok(e) => show(&e),
                Err(e) => vec![e.to_string()],
            },
            Step::Heartbeat(t, n) => match m.heartbeat(ms(*t), &NodeId::new(*n)) {
                Ok(()) => vec![],
                Err(e) => vec![e.to_string()],
            },
            Step::Tick(t) => show(&m.tick(ms(*t))),
        })
        .collect();
    let expected: Vec<Vec<String>> = expected
        .iter()
        .map(|e| e.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    assert_eq!(got, expected);
}

use Step::*;

#[test]
fn join_heartbeat_and_timeout() {
    check(
        &[
            Register(0, "a", 1),
            Tick(1000),
            Heartbeat(1500, "a"),
            Tick(3500),
            Tick(3501),
        ],
        &[
            &["up a", "move r -->a @1"],
            &[],
            &[],
            &[],
            &["down a", "move r a->- @2"],
        ],
    );
}

#[test]
fn silence_of_exactly_the_bound_is_not_yet_down() {
    check(
        &[Register(0, "a", 1), Tick(2000), Tick(2001)],
        &[
            &["up a", "move r -->a @1"],
            &[],
            &["down a", "move r a->- @2"],
        ],
    );
}

#[test]
fn a_down_node_must_register_again() {
    check(
        &[
            Register(0, "a", 1),
            Tick(5000),
            Heartbeat(5100, "a"),
            Register(5200, "a", 1),
        ],
        &[
            &["up a", "move r -->a @1"],
            &["down a", "move r a->- @2"],
            &["node a is not registered"],
            &["up a", "move r -->a @3"],
        ],
    );
}

#[test]
fn unknown_heartbeat_and_zero_capacity_are_refused() {
    check(
        &[Heartbeat(0, "x"), Register(0, "x", 0)],
        &[
            &["node x is not registered"],
            &["node x registered with capacity 0"],
        ],
    );
}

#[test]
fn loss_moves_the_repo_to_the_survivor() {
    // Which of a, b owns r is fixed by the hash; find out, then kill that one.
    let mut m = Membership::new(MembershipConfig::default(), [RepoName::new("r")]);
    let ms = Duration::from_millis;
    m.register(ms(0), registration("a", 1)).unwrap();
    m.register(ms(0), registration("b", 1)).unwrap();
    let first = m.shards()[0].clone();
    let owner = first.owner.clone().unwrap();
    let survivor = if owner.0 == "a" { "b" } else { "a" };
    m.heartbeat(ms(1900), &NodeId::new(survivor)).unwrap();
    let effects = m.tick(ms(2500));
    assert_eq!(effects[0], Effect::NodeDown(owner.clone()));
    let Effect::Moved(mv) = &effects[1] else {
        panic!("expected a move: {effects:?}")
    };
    assert_eq!(mv.to, Some(NodeId::new(survivor)));
    assert!(mv.epoch > first.epoch);
    assert_eq!(m.member(&owner).map(|x| x.state), Some(NodeState::Down));
    assert_eq!(m.shards()[0].epoch, Epoch(first.epoch.0 + 1));
}

#[test]
fn re_registering_while_up_keeps_the_node_up_and_bumps_its_incarnation() {
    let mut m = Membership::new(MembershipConfig::default(), [RepoName::new("r")]);
    let ms = Duration::from_millis;
    m.register(ms(0), registration("a", 1)).unwrap();
    let effects = m.register(ms(10), registration("a", 1)).unwrap();
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(m.member(&NodeId::new("a")).map(|x| x.incarnation), Some(2));
}
