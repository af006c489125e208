//! The org model: what the factory knows about an organization's repos before any run.
//!
//! Two files describe an org. `org.toml` lists the repos; each repo carries a `factory.toml`
//! manifest with its commands, the contracts it provides and consumes, and deploy hints.
//! These are the parsed, validated forms; parsing lives in `org::parse`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A whole org: its catalog and every repo's manifest, with contract schemas loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Org {
    /// The org's name (from `org.toml`).
    pub name: String,
    /// Repos by name, in catalog order.
    pub repos: Vec<Repo>,
}

/// One repo of the org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repo {
    /// Unique repo name, e.g. `backend`.
    pub name: String,
    /// Where the repo's origin lives: a local path or a git URL.
    pub origin: String,
    /// The owning team.
    pub owner: String,
    /// The parsed `factory.toml` of the repo (at the origin's default branch).
    pub manifest: Manifest,
}

/// The kind of unit a repo builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// A service with an API.
    Service,
    /// A UI served to browsers.
    Frontend,
    /// A background consumer.
    Worker,
    /// Configuration and infrastructure.
    Infra,
    /// A database schema.
    Db,
}

/// A repo's `factory.toml`.
///
/// ```toml
/// [repo]
/// kind = "service"
/// deploy_after = ["infra"]        # hints: deploy this repo after those
///
/// [commands]
/// setup = "python3 scripts/seed.py"   # optional, run once in a fresh worktree
/// build = "python3 -m compileall -q ."# optional
/// test = "python3 -m unittest discover -s tests"
/// start = "python3 app.py"            # optional: long-running; gets PORT and FACTORY_* env
/// health = "/health"                  # optional: HTTP path polled after start
///
/// [[provides]]
/// contract = "orders.v1"
/// kind = "http"
/// schema = "contracts/orders.v1.json" # JSON Schema of the payload the provider writes
/// method = "GET"
/// path = "/orders/1001"
///
/// [[provides]]
/// contract = "order-events.v1"
/// kind = "event"
/// schema = "contracts/order-created.v1.json"
/// channel = "orders"
/// trigger = 'POST /orders {"customer": "Ada"}' # request (and JSON body) that emits one event
///
/// [[consumes]]
/// contract = "orders.v1"
/// reads = ["id", "total", "items[].sku"] # field paths the consumer reads
///
/// [ui]
/// pages = ["/"]                        # pages to screenshot once started
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// What the repo builds.
    pub kind: UnitKind,
    /// Repos this one deploys after (hints added to the contract-derived order).
    pub deploy_after: Vec<String>,
    /// The repo's commands.
    pub commands: Commands,
    /// Contracts this repo writes (provides).
    pub provides: Vec<Provided>,
    /// Contracts this repo reads (consumes).
    pub consumes: Vec<Consumed>,
    /// UI pages to screenshot; empty for non-UI repos.
    pub ui_pages: Vec<String>,
}

/// Shell commands the factory runs in a repo's worktree (`sh -c`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    /// Run once in a fresh worktree before anything else.
    pub setup: Option<String>,
    /// Build step.
    pub build: Option<String>,
    /// Test step; required.
    pub test: String,
    /// Long-running process for the sandbox; gets `PORT` and `FACTORY_*` variables.
    pub start: Option<String>,
    /// HTTP path that answers 200 once `start` is ready.
    pub health: Option<String>,
}

/// The medium a contract travels over.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Medium {
    /// Synchronous HTTP with a JSON body; the provider writes the response.
    Http {
        /// HTTP method of the endpoint.
        method: String,
        /// Path to call to capture a real payload.
        path: String,
    },
    /// A durable event channel; the provider writes messages.
    Event {
        /// Channel name; in the sandbox, events land in `$FACTORY_EVENTS_DIR/<channel>.jsonl`.
        channel: String,
        /// Request (`METHOD /path [JSON body]`) that makes the provider emit an event, if any.
        trigger: Option<String>,
    },
    /// A database table; the provider writes rows.
    Table {
        /// Table name.
        table: String,
    },
}

impl Medium {
    /// Durable media keep old-format data around, so old writers matter to new readers.
    pub fn is_durable(&self) -> bool {
        !matches!(self, Medium::Http { .. })
    }
}

/// A contract a repo provides: it writes payloads of this schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provided {
    /// Contract name, unique in the org, e.g. `orders.v1`.
    pub contract: String,
    /// Where and how payloads travel.
    pub medium: Medium,
    /// Schema path relative to the repo root.
    pub schema_path: PathBuf,
    /// The JSON Schema document, loaded from `schema_path`.
    pub schema: serde_json::Value,
}

/// A contract a repo consumes: the fields it reads (a consumer expectation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumed {
    /// Contract name.
    pub contract: String,
    /// Field paths the consumer reads: `a.b` for nesting, `items[].sku` inside arrays.
    pub reads: Vec<String>,
}

/// A flow: one writer, one reader, one contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Flow {
    /// Contract name.
    pub contract: String,
    /// Repo that writes payloads.
    pub writer: String,
    /// Repo that reads them.
    pub reader: String,
}

impl Org {
    /// The repo with this name.
    pub fn repo(&self, name: &str) -> Option<&Repo> {
        self.repos.iter().find(|r| r.name == name)
    }

    /// Every flow of the org: for each consumed contract, its provider to the consumer.
    pub fn flows(&self) -> Vec<Flow> {
        let providers: BTreeMap<&str, &str> = self
            .repos
            .iter()
            .flat_map(|r| {
                r.manifest
                    .provides
                    .iter()
                    .map(move |p| (p.contract.as_str(), r.name.as_str()))
            })
            .collect();
        let mut flows: Vec<Flow> = self
            .repos
            .iter()
            .flat_map(|r| {
                let providers = &providers;
                r.manifest.consumes.iter().filter_map(move |c| {
                    providers.get(c.contract.as_str()).map(|w| Flow {
                        contract: c.contract.clone(),
                        writer: (*w).to_string(),
                        reader: r.name.clone(),
                    })
                })
            })
            .collect();
        flows.sort();
        flows
    }
}
