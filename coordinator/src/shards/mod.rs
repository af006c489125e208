//! The shard map: which live node owns each repo.
//!
//! Placement is rendezvous (highest random weight) hashing weighted by capacity: every node scores
//! every repo with `-capacity / ln(u)`, `u` a stable hash of the pair in (0, 1), and the highest
//! score owns it. A node's expected share is its capacity over the total, and a join or a loss
//! moves only the repos that node gains or had. Each shard carries an [`Epoch`] that rises on
//! every change of owner (including to and from "no owner") and never falls.
//!
//! Pure: no clock, no IO. The map keeps the invariant that each owned repo sits on its highest
//! scoring live node, which lets [`ShardMap::assign`] work incrementally: only the repos of
//! removed nodes are rescanned, and the others compare their owner with the added nodes.

mod hash;
#[cfg(test)]
mod tests;

use crate::ids::{Epoch, NodeId, RepoName};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Why [`ShardMap::fence`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FenceError {
    /// The repo is not in the map.
    #[error("unknown repo {0}")]
    UnknownRepo(RepoName),
    /// The message carried an epoch other than the shard's current one (older, from a former
    /// owner, or newer, which no honest sender can hold).
    #[error("stale epoch {got} for {repo}: current is {current}")]
    Stale {
        /// The repo.
        repo: RepoName,
        /// The epoch the message carried.
        got: Epoch,
        /// The shard's epoch now.
        current: Epoch,
    },
    /// The epoch is current but the sender does not own the shard.
    #[error("{node} does not own {repo}")]
    NotOwner {
        /// The repo.
        repo: RepoName,
        /// The sender.
        node: NodeId,
    },
}

/// A live node as the shard map sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weighted {
    /// The node's name.
    pub name: NodeId,
    /// Its relative capacity; 0 means it takes no shards.
    pub capacity: u32,
}

impl Weighted {
    /// A node with a capacity.
    pub fn new(name: &str, capacity: u32) -> Self {
        Weighted {
            name: NodeId::new(name),
            capacity,
        }
    }
}

/// A change of owner for one repo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// The repo that moved.
    pub repo: RepoName,
    /// Its previous owner, if it had one.
    pub from: Option<NodeId>,
    /// Its new owner, or none when no node is live.
    pub to: Option<NodeId>,
    /// The shard's epoch after the move.
    pub epoch: Epoch,
}

/// One shard as reported to callers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// The repo.
    pub repo: RepoName,
    /// Its owner, if any node is live.
    pub owner: Option<NodeId>,
    /// Its current epoch.
    pub epoch: Epoch,
}

struct RepoEntry {
    name: RepoName,
    hash: u64,
    owner: Option<usize>,
    epoch: Epoch,
}

/// Interned so owners are small indices and node keys are hashed once.
struct NodeEntry {
    name: NodeId,
    key: u64,
}

/// A live node in the form the inner loop wants.
#[derive(Clone, Copy)]
struct Live {
    node: usize,
    capacity: f64,
}

/// Repo -> node placement with epochs.
#[derive(Default)]
pub struct ShardMap {
    repos: Vec<RepoEntry>,
    repo_index: HashMap<RepoName, usize>,
    nodes: Vec<NodeEntry>,
    node_index: HashMap<NodeId, usize>,
    /// The live set of the last `assign`, by node index, with its capacity.
    live: BTreeMap<usize, u32>,
}

impl ShardMap {
    /// A map over these repos, none of them owned yet.
    pub fn new<I: IntoIterator<Item = RepoName>>(repos: I) -> Self {
        let mut map = ShardMap::default();
        for repo in repos {
            map.add_repo(repo);
        }
        map
    }

    /// Add a repo, unowned until the next [`ShardMap::assign`]. Adding a known repo does nothing.
    pub fn add_repo(&mut self, repo: RepoName) {
        if self.repo_index.contains_key(&repo) {
            return;
        }
        self.repo_index.insert(repo.clone(), self.repos.len());
        let hash = hash::name_hash(repo.as_str());
        self.repos.push(RepoEntry {
            name: repo,
            hash,
            owner: None,
            epoch: Epoch(0),
        });
    }

    /// Place every repo on `live` nodes and return the repos whose owner changed, with their new
    /// epochs. Nodes with capacity 0 are left out; a name listed twice counts once (the last).
    pub fn assign(&mut self, live: &[Weighted]) -> Vec<Move> {
        let mut next: BTreeMap<usize, u32> = BTreeMap::new();
        for w in live.iter().filter(|w| w.capacity > 0) {
            let idx = self.intern(&w.name);
            next.insert(idx, w.capacity);
        }
        // A node whose capacity changed is both removed and added.
        let removed: Vec<usize> = self
            .live
            .iter()
            .filter(|(n, c)| next.get(n) != Some(c))
            .map(|(n, _)| *n)
            .collect();
        let added: Vec<Live> = next
            .iter()
            .filter(|(n, c)| self.live.get(n) != Some(c))
            .map(|(n, c)| Live {
                node: *n,
                capacity: f64::from(*c),
            })
            .collect();
        let mut all: Vec<Live> = next
            .iter()
            .map(|(n, c)| Live {
                node: *n,
                capacity: f64::from(*c),
            })
            .collect();
        // Grouped by capacity so `best_of` recomputes its threshold rarely.
        all.sort_by(|a, b| a.capacity.total_cmp(&b.capacity));
        let keys: Vec<u64> = self.nodes.iter().map(|n| n.key).collect();
        // Capacity by node index, 0 when not live: the owner lookup below runs once per repo.
        let mut capacity = vec![0.0f64; self.nodes.len()];
        for l in &all {
            capacity[l.node] = l.capacity;
        }
        self.live = next;

        let mut moves = Vec::new();
        for entry in &mut self.repos {
            let stale = match entry.owner {
                None => true,
                Some(o) => removed.contains(&o),
            };
            let best = if stale {
                best_of(entry.hash, &all, &keys, &self.nodes, None)
            } else {
                // Invariant: the owner is the best of the nodes that stayed, so only the added
                // nodes can beat it.
                let owner = entry.owner.map(|o| Live {
                    node: o,
                    capacity: capacity[o],
                });
                best_of(entry.hash, &added, &keys, &self.nodes, owner)
            };
            let to = best.map(|l| l.node);
            if to != entry.owner {
                entry.epoch = entry.epoch.next();
                moves.push(Move {
                    repo: entry.name.clone(),
                    from: entry.owner.map(|o| self.nodes[o].name.clone()),
                    to: to.map(|o| self.nodes[o].name.clone()),
                    epoch: entry.epoch,
                });
                entry.owner = to;
            }
        }
        moves
    }

    /// Raise a repo's epoch to at least `floor`, e.g. to the epoch saved before a restart, so
    /// that epochs never repeat across coordinator restarts. Unknown repos are ignored.
    pub fn restore_epoch(&mut self, repo: &RepoName, floor: Epoch) {
        if let Some(&i) = self.repo_index.get(repo) {
            let entry = &mut self.repos[i];
            entry.epoch = entry.epoch.max(floor);
        }
    }

    /// Check that `node` may act on `repo` under `epoch`: the epoch must be the shard's current
    /// one and `node` its owner. This is the fence that keeps a former owner's late messages out.
    pub fn fence(&self, repo: &RepoName, epoch: Epoch, node: &NodeId) -> Result<(), FenceError> {
        let shard = self
            .shard(repo)
            .ok_or_else(|| FenceError::UnknownRepo(repo.clone()))?;
        if epoch != shard.epoch {
            return Err(FenceError::Stale {
                repo: repo.clone(),
                got: epoch,
                current: shard.epoch,
            });
        }
        if shard.owner.as_ref() != Some(node) {
            return Err(FenceError::NotOwner {
                repo: repo.clone(),
                node: node.clone(),
            });
        }
        Ok(())
    }

    /// The shard of one repo.
    pub fn shard(&self, repo: &RepoName) -> Option<Shard> {
        self.repo_index.get(repo).map(|&i| self.shard_at(i))
    }

    /// Every shard, in the order repos were added.
    pub fn shards(&self) -> Vec<Shard> {
        (0..self.repos.len()).map(|i| self.shard_at(i)).collect()
    }

    /// The live nodes in rendezvous rank for a repo, best first. The owner comes first; the
    /// second is where the repo goes if the owner is lost.
    pub fn ranked(&self, repo: &RepoName) -> Vec<NodeId> {
        let hash = hash::name_hash(repo.as_str());
        let mut scored: Vec<(f64, &NodeId)> = self
            .live
            .iter()
            .map(|(n, c)| {
                let node = &self.nodes[*n];
                (hash::score(hash, node.key, f64::from(*c)), &node.name)
            })
            .collect();
        scored.sort_by(|a, b| compare(b.0, b.1, a.0, a.1));
        scored.into_iter().map(|(_, n)| n.clone()).collect()
    }

    /// The best live node for a repo that is not in `excluding`: where to fail over to.
    pub fn next_by_rank(&self, repo: &RepoName, excluding: &[NodeId]) -> Option<NodeId> {
        self.ranked(repo)
            .into_iter()
            .find(|n| !excluding.contains(n))
    }

    fn shard_at(&self, i: usize) -> Shard {
        let e = &self.repos[i];
        Shard {
            repo: e.name.clone(),
            owner: e.owner.map(|o| self.nodes[o].name.clone()),
            epoch: e.epoch,
        }
    }

    fn intern(&mut self, name: &NodeId) -> usize {
        if let Some(&i) = self.node_index.get(name) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(NodeEntry {
            name: name.clone(),
            key: hash::node_key(name.as_str()),
        });
        self.node_index.insert(name.clone(), i);
        i
    }
}

/// The highest scoring of `candidates` and `start`. This is the hot loop of a full placement
/// (repos x nodes), so it skips the logarithm where it can: a candidate of capacity `c` can only
/// win if its `u` exceeds `exp(-c / best)`, and that threshold changes only when the best or the
/// capacity does (callers sort candidates by capacity).
fn best_of(
    repo_hash: u64,
    candidates: &[Live],
    keys: &[u64],
    nodes: &[NodeEntry],
    start: Option<Live>,
) -> Option<Live> {
    let mut best = start.map(|l| (l, hash::score(repo_hash, keys[l.node], l.capacity)));
    // (capacity, best score) the threshold was computed for, and the threshold.
    let mut cached = (f64::NAN, f64::NAN, 0.0f64);
    for &l in candidates {
        let u = hash::unit(repo_hash, keys[l.node]);
        if let Some((_, bs)) = best {
            if cached.0 != l.capacity || cached.1 != bs {
                // Shaved a little so rounding in exp and ln never skips a true winner.
                cached = (l.capacity, bs, (-l.capacity / bs).exp() * (1.0 - 1e-12));
            }
            if u < cached.2 {
                continue;
            }
        }
        let s = -l.capacity / u.ln();
        let better = match best {
            None => true,
            Some((b, bs)) => {
                compare(s, &nodes[l.node].name, bs, &nodes[b.node].name) == Ordering::Greater
            }
        };
        if better {
            best = Some((l, s));
        }
    }
    best.map(|(l, _)| l)
}

/// Order by score, then by name so that exact ties (in practice never) still give one answer.
fn compare(a: f64, a_name: &NodeId, b: f64, b_name: &NodeId) -> Ordering {
    a.total_cmp(&b).then_with(|| b_name.cmp(a_name))
}
