use super::*;

fn repos(names: &[&str]) -> Vec<RepoName> {
    names.iter().map(|n| RepoName::new(*n)).collect()
}

fn owners(map: &ShardMap) -> Vec<(String, Option<String>, u64)> {
    map.shards()
        .into_iter()
        .map(|s| (s.repo.0, s.owner.map(|o| o.0), s.epoch.0))
        .collect()
}

/// Run a list of live sets through one map; check the number of moves after each step and the
/// invariants every step must keep.
fn check(steps: &[&[(&str, u32)]], expected_moves: &[usize]) {
    let names: Vec<String> = (0..200).map(|i| format!("repo-{i}")).collect();
    let mut map = ShardMap::new(names.iter().map(|n| RepoName::new(n.as_str())));
    let mut got = Vec::new();
    for step in steps {
        let live: Vec<Weighted> = step.iter().map(|(n, c)| Weighted::new(n, *c)).collect();
        let before = owners(&map);
        let moves = map.assign(&live);
        got.push(moves.len());
        let after = owners(&map);
        for ((repo, old, old_epoch), (_, new, new_epoch)) in before.iter().zip(&after) {
            if old == new {
                assert_eq!(
                    old_epoch, new_epoch,
                    "{repo} kept its owner but changed epoch"
                );
            } else {
                assert!(new_epoch > old_epoch, "{repo} moved without a higher epoch");
                assert!(
                    moves.iter().any(|m| m.repo.0 == *repo),
                    "{repo} moved unreported"
                );
            }
        }
        // The incremental result equals a placement from scratch.
        let mut fresh = ShardMap::new(names.iter().map(|n| RepoName::new(n.as_str())));
        fresh.assign(&live);
        let fresh_owners: Vec<_> = owners(&fresh).into_iter().map(|(_, o, _)| o).collect();
        let our_owners: Vec<_> = after.into_iter().map(|(_, o, _)| o).collect();
        assert_eq!(
            our_owners, fresh_owners,
            "incremental placement drifted at step {step:?}"
        );
    }
    assert_eq!(got, expected_moves);
}

#[test]
fn placements_from_tables() {
    // No nodes: nothing to move.
    check(&[&[]], &[0]);
    // First node takes everything; losing it orphans everything.
    check(&[&[("a", 1)], &[]], &[200, 200]);
    // Capacity 0 takes nothing.
    check(&[&[("a", 1), ("z", 0)]], &[200]);
    // Same live set twice: no moves.
    check(&[&[("a", 1), ("b", 1)], &[("a", 1), ("b", 1)]], &[200, 0]);
}

#[test]
fn join_and_loss_move_only_that_nodes_share() {
    let names: Vec<String> = (0..200).map(|i| format!("repo-{i}")).collect();
    let mut map = ShardMap::new(names.iter().map(|n| RepoName::new(n.as_str())));
    map.assign(&[Weighted::new("a", 1), Weighted::new("b", 1)]);
    let moves = map.assign(&[
        Weighted::new("a", 1),
        Weighted::new("b", 1),
        Weighted::new("c", 1),
    ]);
    assert!(!moves.is_empty());
    assert!(moves.iter().all(|m| m.to == Some(NodeId::new("c"))));
    let moves = map.assign(&[Weighted::new("a", 1), Weighted::new("c", 1)]);
    assert!(moves.iter().all(|m| m.from == Some(NodeId::new("b"))));
}

#[test]
fn capacity_change_reshuffles_only_toward_or_away_from_that_node() {
    let names: Vec<String> = (0..500).map(|i| format!("repo-{i}")).collect();
    let mut map = ShardMap::new(names.iter().map(|n| RepoName::new(n.as_str())));
    map.assign(&[Weighted::new("a", 1), Weighted::new("b", 1)]);
    let moves = map.assign(&[Weighted::new("a", 3), Weighted::new("b", 1)]);
    assert!(moves.iter().all(|m| m.to == Some(NodeId::new("a"))));
    let on_a = map
        .shards()
        .iter()
        .filter(|s| s.owner == Some(NodeId::new("a")))
        .count();
    // Expected 375 of 500; allow sampling noise.
    assert!((330..=420).contains(&on_a), "a owns {on_a}");
}

#[test]
fn ranked_starts_with_the_owner_and_next_by_rank_fails_over_there() {
    let mut map = ShardMap::new(repos(&["r1", "r2", "r3"]));
    let live = [
        Weighted::new("a", 1),
        Weighted::new("b", 2),
        Weighted::new("c", 1),
    ];
    map.assign(&live);
    for repo in repos(&["r1", "r2", "r3"]) {
        let ranked = map.ranked(&repo);
        assert_eq!(ranked.len(), 3);
        let owner = map.shard(&repo).and_then(|s| s.owner);
        assert_eq!(Some(ranked[0].clone()), owner);
        let next = map.next_by_rank(&repo, std::slice::from_ref(&ranked[0]));
        assert_eq!(next, Some(ranked[1].clone()));
        // Losing the owner sends the repo to the second in rank.
        let mut fresh = ShardMap::new([repo.clone()]);
        let without: Vec<Weighted> = live
            .iter()
            .filter(|w| w.name != ranked[0])
            .cloned()
            .collect();
        fresh.assign(&without);
        assert_eq!(fresh.shard(&repo).and_then(|s| s.owner), next);
    }
}

/// 1,000 nodes of capacity 1 to 4 and 100,000 repos. A join and a series of losses must move a
/// fraction within 10% of the ideal (the node's capacity share), and only that node's repos.
#[test]
fn large_cluster_moves_close_to_the_ideal_fraction() {
    const REPOS: usize = 100_000;
    let mut map = ShardMap::new((0..REPOS).map(|i| RepoName(format!("org/repo-{i}"))));
    let mut live: Vec<Weighted> = (0..1000)
        .map(|i| Weighted::new(&format!("node-{i}"), 1 + (i % 4) as u32))
        .collect();
    assert_eq!(map.assign(&live).len(), REPOS);

    // A big node joins: its share is large enough that sampling noise is far below 10%.
    live.push(Weighted::new("big", 130));
    let total: u32 = live.iter().map(|w| w.capacity).sum();
    let ideal = 130.0 / f64::from(total);
    let moves = map.assign(&live);
    assert!(moves.iter().all(|m| m.to == Some(NodeId::new("big"))));
    within_ten_percent(moves.len() as f64 / REPOS as f64, ideal, "join");

    // It leaves again: exactly its repos move, back where they were.
    live.pop();
    let moves = map.assign(&live);
    assert!(moves.iter().all(|m| m.from == Some(NodeId::new("big"))));
    within_ten_percent(moves.len() as f64 / REPOS as f64, ideal, "loss of big");

    // Small nodes leave one at a time; each share is ~0.1%, so judge the sum.
    let (mut moved, mut ideal_sum) = (0usize, 0.0f64);
    for _ in 0..40 {
        let total: u32 = live.iter().map(|w| w.capacity).sum();
        let gone = live.remove(live.len() / 2);
        ideal_sum += f64::from(gone.capacity) / f64::from(total);
        let moves = map.assign(&live);
        assert!(moves.iter().all(|m| m.from.as_ref() == Some(&gone.name)));
        moved += moves.len();
    }
    within_ten_percent(moved as f64 / REPOS as f64, ideal_sum, "losses");
}

fn within_ten_percent(got: f64, ideal: f64, what: &str) {
    assert!(
        (got - ideal).abs() <= 0.1 * ideal,
        "{what}: moved {got:.5}, ideal {ideal:.5}"
    );
}

#[test]
fn fence_accepts_only_the_current_epoch_from_the_owner() {
    let mut map = ShardMap::new(repos(&["r"]));
    map.assign(&[Weighted::new("a", 1)]);
    map.assign(&[Weighted::new("b", 1)]);
    let r = RepoName::new("r");
    let (a, b) = (NodeId::new("a"), NodeId::new("b"));
    let stale = |got, current| FenceError::Stale {
        repo: r.clone(),
        got: Epoch(got),
        current: Epoch(current),
    };
    assert_eq!(map.fence(&r, Epoch(2), &b), Ok(()));
    assert_eq!(map.fence(&r, Epoch(1), &a), Err(stale(1, 2)));
    assert_eq!(map.fence(&r, Epoch(3), &b), Err(stale(3, 2)));
    assert_eq!(
        map.fence(&r, Epoch(2), &a),
        Err(FenceError::NotOwner {
            repo: r.clone(),
            node: a
        })
    );
    let other = RepoName::new("other");
    assert_eq!(
        map.fence(&other, Epoch(0), &b),
        Err(FenceError::UnknownRepo(other.clone()))
    );
}
