//! Contract checks: does every reader accept everything its writer can send?
//!
//! A writer's payload is a [`Shape`] parsed from JSON Schema; a reader's [`Expectation`] is the
//! fields it reads. [`check_reads`] checks one flow statically, [`compare_writer`] and
//! [`compare_reader`] judge a change on either side, [`check_payload`] checks a payload captured
//! from a running writer. All pure: no IO.

pub mod check;
pub mod compare;
pub mod expect;
pub mod finding;
pub mod naming;
pub mod payload;
pub mod schema;
pub mod shape;
mod subset;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test
mod tests;

pub use check::{accepts, check_reads, compare_reader};
pub use compare::compare_writer;
pub use expect::{Expectation, Read};
pub use finding::{Category, Ctx, Finding, Fix, Location, Rule, Severity};
pub use payload::check_payload;
pub use shape::{Field, Kind, ObjectShape, Scalar, ScalarType, Shape};

/// A schema or a read path that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The value at the pointer is not a schema (an object or `true`).
    #[error("{pointer}: not a schema (expected an object)")]
    NotASchema {
        /// JSON pointer into the schema document.
        pointer: String,
    },
    /// A `type` that JSON Schema does not define.
    #[error(
        "{pointer}: unknown type `{ty}` (expected object, array, string, integer, number, boolean or null)"
    )]
    UnknownType {
        /// JSON pointer to the `type` keyword.
        pointer: String,
        /// The type given.
        ty: String,
    },
    /// A keyword with a value of the wrong form.
    #[error("{pointer}: `{keyword}` must be {expected}")]
    BadKeyword {
        /// JSON pointer to the keyword.
        pointer: String,
        /// The keyword.
        keyword: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A keyword whose meaning the checks do not model; refusing beats a silent pass.
    #[error("{pointer}: `{keyword}` is not supported")]
    Unsupported {
        /// JSON pointer to the keyword.
        pointer: String,
        /// The keyword.
        keyword: String,
    },
    /// The schema nests deeper than [`schema::MAX_DEPTH`].
    #[error("{pointer}: nested deeper than {} levels", schema::MAX_DEPTH)]
    TooDeep {
        /// JSON pointer where the limit was hit.
        pointer: String,
    },
    /// A read path that does not parse.
    #[error("read path `{path}`: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What was expected.
        reason: String,
    },
}
