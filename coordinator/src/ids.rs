//! The ids the coordinator works with; they are the wire's own newtypes.

pub use protocol::{Epoch, NodeId, RepoName};
