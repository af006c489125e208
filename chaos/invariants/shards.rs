//! One owner per repo per epoch, epochs never fall, and results are admitted only from the
//! repo's owner under its latest epoch.

use std::collections::BTreeMap;

use coordinator::ids::{Epoch, NodeId, RepoName};
use coordinator::shards::Shard;

use super::{Invariant, Violation};

/// Every (repo, epoch) ever seen with an owner, and each repo's highest epoch. Kept across
/// coordinator restarts: a restarted coordinator must not reuse an epoch for another owner.
#[derive(Default, Debug)]
pub struct ShardHistory {
    owners: BTreeMap<(RepoName, Epoch), NodeId>,
    latest: BTreeMap<RepoName, Epoch>,
}

impl ShardHistory {
    /// Look at the shard map as it is now.
    pub fn observe(&mut self, shards: &[Shard]) -> Result<(), Violation> {
        for s in shards {
            let latest = self.latest.entry(s.repo.clone()).or_insert(s.epoch);
            if s.epoch < *latest {
                return Err(Violation::new(
                    Invariant::EpochsRise,
                    format!("{} fell from epoch {} to {}", s.repo, latest, s.epoch),
                ));
            }
            *latest = s.epoch;
            // "No owner" is not an owner: a restarted coordinator restores an epoch unowned.
            let Some(owner) = &s.owner else { continue };
            let seen = self
                .owners
                .entry((s.repo.clone(), s.epoch))
                .or_insert_with(|| owner.clone());
            if seen != owner {
                return Err(Violation::new(
                    Invariant::OneOwnerPerEpoch,
                    format!(
                        "{} at epoch {} owned by {seen} and {owner}",
                        s.repo, s.epoch
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A result under `epoch` from `node` was admitted for `repo`: that must be the repo's
    /// latest epoch and `node` its owner then. A former owner's result, even for the attempt
    /// the run is waiting for, was produced while another node may hold the repo.
    pub fn admitted(&self, repo: &RepoName, epoch: Epoch, node: &NodeId) -> Result<(), Violation> {
        let latest = self.latest.get(repo).copied();
        let owner = self.owners.get(&(repo.clone(), epoch));
        if latest == Some(epoch) && owner == Some(node) {
            return Ok(());
        }
        Err(Violation::new(
            Invariant::AdmittedFromOwner,
            format!(
                "{node}'s result for {repo} at epoch {epoch} admitted; latest epoch {latest:?}, \
                 owner at {epoch} {owner:?}"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(repo: &str, owner: Option<&str>, epoch: u64) -> Shard {
        Shard {
            repo: RepoName::new(repo),
            owner: owner.map(NodeId::new),
            epoch: Epoch(epoch),
        }
    }

    /// Feed snapshots one by one; the expected outcome is the invariant broken, if any.
    fn check(history: &[Vec<Shard>], expected: Option<Invariant>) {
        let mut h = ShardHistory::default();
        let got = history.iter().try_for_each(|s| h.observe(s)).err();
        assert_eq!(got.map(|v| v.invariant), expected);
    }

    #[test]
    fn good_and_bad_histories() {
        check(
            &[
                vec![shard("api", Some("a"), 1)],
                vec![shard("api", None, 2)],
                // A restart restores epoch 2 unowned, then the first registration moves it.
                vec![shard("api", None, 2)],
                vec![shard("api", Some("b"), 3)],
            ],
            None,
        );
        check(
            &[
                vec![shard("api", Some("a"), 3)],
                vec![shard("api", Some("a"), 2)],
            ],
            Some(Invariant::EpochsRise),
        );
        check(
            &[
                vec![shard("api", Some("a"), 3)],
                vec![shard("api", Some("b"), 3)],
            ],
            Some(Invariant::OneOwnerPerEpoch),
        );
    }

    #[test]
    fn admitted_results_must_come_from_that_epochs_owner() {
        let mut h = ShardHistory::default();
        h.observe(&[shard("api", Some("a"), 1)]).expect("fine");
        h.observe(&[shard("api", Some("b"), 2)]).expect("fine");
        let api = RepoName::new("api");
        assert!(h.admitted(&api, Epoch(2), &NodeId::new("b")).is_ok());
        // The former owner, under the epoch it did own: late, so refused.
        assert!(h.admitted(&api, Epoch(1), &NodeId::new("a")).is_err());
        assert!(h.admitted(&api, Epoch(2), &NodeId::new("a")).is_err());
        assert!(h.admitted(&api, Epoch(7), &NodeId::new("b")).is_err());
    }
}
