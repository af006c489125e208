//! The factory's actors and the domain logic they run.
//!
//! Owns: the org model, contract checks, the planner, agent execution, verification, the bundle,
//! memory and learning, networking between nodes and the supervision of actors.
//! Does not own: the wire format (`protocol`), membership and scheduling (`coordinator`).
pub mod agent;
pub mod learner;
pub mod memory;
pub mod net;
pub mod org;
pub use protocol::outcome;
pub mod bundle;
pub mod contracts;
pub mod example;
pub mod plan;
pub mod remote;
pub mod simagent;
pub mod supervise;
pub mod telemetry;
pub mod verify;
