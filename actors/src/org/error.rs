//! Errors from reading an org: every message names the file, line and column when it can,
//! then the field, then what is wrong, so a person can fix the file without guessing.

use std::fmt;
use std::path::PathBuf;

/// A place in a file, 1-based: `file:line:col`. (The file is shared to keep errors small.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file's label, e.g. `backend/factory.toml`.
    pub file: std::sync::Arc<str>,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Why a contract schema could not be loaded (returned by a schema loader).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// No file at that path.
    #[error("file not found")]
    Missing,
    /// The file exists but could not be read.
    #[error("cannot read: {0}")]
    Unreadable(String),
    /// The file is not valid JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
}

/// Everything that can go wrong reading an org catalog and its manifests.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    /// A file could not be read from disk.
    #[error("{path}: cannot read: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The TOML is malformed or does not fit the expected shape (unknown key, missing field,
    /// bad value).
    #[error("{at}: {field}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// Dotted path of the field, e.g. `provides[0].kind`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A provided contract's schema file does not exist.
    #[error("{at}: {field}: schema file `{schema}` not found in the repo")]
    MissingSchema {
        /// Where the schema is named.
        at: Location,
        /// The field naming it.
        field: String,
        /// The schema path as written.
        schema: String,
    },
    /// A provided contract's schema file is not JSON (or unreadable).
    #[error("{at}: {field}: schema file `{schema}` is unusable: {reason}")]
    BadSchema {
        /// Where the schema is named.
        at: Location,
        /// The field naming it.
        field: String,
        /// The schema path as written.
        schema: String,
        /// The loader's reason.
        reason: SchemaError,
    },
    /// A repo consumes a contract no repo provides.
    #[error("{at}: {field}: contract `{contract}` is consumed by `{repo}` but provided by no repo")]
    Unprovided {
        /// Where the consumption is declared.
        at: Location,
        /// The field.
        field: String,
        /// The contract.
        contract: String,
        /// The consuming repo.
        repo: String,
    },
    /// Two repos provide the same contract.
    #[error("{at}: {field}: contract `{contract}` is provided by both `{first}` and `{second}`")]
    ProvidedTwice {
        /// Where the second provider declares it.
        at: Location,
        /// The field.
        field: String,
        /// The contract.
        contract: String,
        /// The first provider.
        first: String,
        /// The second provider.
        second: String,
    },
    /// `deploy_after` names a repo the org does not have.
    #[error("{at}: {field}: deploy_after names unknown repo `{name}`")]
    UnknownDeployAfter {
        /// Where.
        at: Location,
        /// The field.
        field: String,
        /// The unknown name.
        name: String,
    },
    /// `deploy_after` hints form a cycle.
    #[error("deploy_after cycle: {}", cycle.join(" -> "))]
    DeployCycle {
        /// The repos on the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// Two catalog entries share a name.
    #[error("{at}: {field}: duplicate repo name `{name}`")]
    DuplicateRepo {
        /// Where the second entry names it.
        at: Location,
        /// The field.
        field: String,
        /// The name.
        name: String,
    },
    /// A repo's origin does not exist (or holds no `factory.toml`).
    #[error("{at}: {field}: origin of repo `{repo}` not usable: {reason}")]
    MissingOrigin {
        /// Where the origin is named.
        at: Location,
        /// The field.
        field: String,
        /// The repo.
        repo: String,
        /// What is missing.
        reason: String,
    },
    /// A git command on an origin failed.
    #[error("git {args} in {origin}: {stderr}")]
    Git {
        /// The origin.
        origin: String,
        /// The git arguments.
        args: String,
        /// What git said.
        stderr: String,
    },
}
