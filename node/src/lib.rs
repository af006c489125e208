//! A build-farm node: the QUIC endpoint, RepoAgents and Verifiers, repo caches and sandboxes.
//!
//! Owns: running task attempts (agent + the repo's own checks) and verification rounds (contract
//! checks, the sandbox, payload capture, screenshots) on this machine.
//! Does not own: deciding what runs where (the coordinator) or how a run advances.
pub mod task;
