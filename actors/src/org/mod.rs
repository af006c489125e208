//! The org model and its parsing.
pub mod model;
pub use model::*;
