//! Registry names of the actors that answer remote requests.

/// The coordinator's membership and status actor.
pub const COORDINATOR: &str = "coordinator";
/// The coordinator's run service (submit, status, list).
pub const RUNS: &str = "runs";
/// A node's RepoAgent actor (task attempts).
pub const REPO_AGENT: &str = "repo-agent";
/// A node's Verifier actor (verification rounds).
pub const VERIFIER: &str = "verifier";
/// The coordinator's Memory (queries, and fenced records from nodes).
pub const MEMORY: &str = "memory";
