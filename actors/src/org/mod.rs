//! The org model and its parsing.
mod error;
mod load;
pub mod model;
mod parse;
mod source;
mod toml_loc;

pub use error::{Location, OrgError, SchemaError};
pub use load::load_org;
pub use model::*;
pub use parse::{parse_manifest, schema_from_bytes};
