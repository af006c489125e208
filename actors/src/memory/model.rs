//! The memory graph's types: entities, relations, edges and facts with provenance.
//!
//! Time is an input everywhere (`Time`, milliseconds since the Unix epoch), so callers and tests
//! control it; nothing here reads the clock.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(pub u64);

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A git repository.
    Repo,
    /// A deployable service.
    Service,
    /// An interface a service exposes (endpoint, channel, table).
    Interface,
    /// A contract between a writer and its readers.
    Contract,
    /// A team of people.
    Team,
    /// An environment (staging, production).
    Environment,
    /// A recorded decision.
    Decision,
    /// An incident.
    Incident,
    /// A factory run.
    Run,
    /// A fact promoted to an entity so edges can point at it.
    Fact,
    /// A skill (prompt template or workflow).
    Skill,
    /// A gate (a check).
    Gate,
    /// A deployment of a repo to an environment.
    Deployment,
}

impl EntityKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntityKind; 13] = [
        EntityKind::Repo,
        EntityKind::Service,
        EntityKind::Interface,
        EntityKind::Contract,
        EntityKind::Team,
        EntityKind::Environment,
        EntityKind::Decision,
        EntityKind::Incident,
        EntityKind::Run,
        EntityKind::Fact,
        EntityKind::Skill,
        EntityKind::Gate,
        EntityKind::Deployment,
    ];

    /// The lowercase name used in ids (`repo:backend`) and in the kind index.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Repo => "repo",
            EntityKind::Service => "service",
            EntityKind::Interface => "interface",
            EntityKind::Contract => "contract",
            EntityKind::Team => "team",
            EntityKind::Environment => "environment",
            EntityKind::Decision => "decision",
            EntityKind::Incident => "incident",
            EntityKind::Run => "run",
            EntityKind::Fact => "fact",
            EntityKind::Skill => "skill",
            EntityKind::Gate => "gate",
            EntityKind::Deployment => "deployment",
        }
    }

    /// The stable id of the entity of this kind with this name: `kind:name`.
    pub fn id(self, name: &str) -> String {
        format!("{}:{name}", self.as_str())
    }
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable id, `kind:name` by convention (`repo:backend`, `contract:orders.v1`).
    pub id: String,
    /// What it is.
    pub kind: EntityKind,
    /// Human name; indexed, not unique across kinds.
    pub name: String,
    /// Free attributes.
    pub attrs: BTreeMap<String, String>,
}

impl Entity {
    /// An entity with the conventional id and no attributes.
    pub fn new(kind: EntityKind, name: &str) -> Self {
        Entity {
            id: kind.id(name),
            kind,
            name: name.to_string(),
            attrs: BTreeMap::new(),
        }
    }

    /// The same entity with one more attribute.
    pub fn with_attr(mut self, key: &str, value: &str) -> Self {
        self.attrs.insert(key.to_string(), value.to_string());
        self
    }
}

/// A typed, directed relation. Each has a reverse name for reading edges backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Repo or service provides a contract (it writes the payloads).
    Provides,
    /// Repo or service consumes a contract.
    Consumes,
    /// Reader reads fields of a contract (attrs hold the field paths).
    Reads,
    /// Writer writes a contract.
    Writes,
    /// Team owns a repo or service.
    Owns,
    /// Source depends on destination (the reader depends on the writer).
    DependsOn,
    /// Gate guards a flow or contract.
    Guards,
    /// Incident caused by a run.
    CausedBy,
    /// Fact or skill learned from a run.
    LearnedFrom,
    /// Fact verified by a run.
    VerifiedBy,
    /// A newer version supersedes an older one.
    Supersedes,
}

impl Relation {
    /// Every relation, in declaration order.
    pub const ALL: [Relation; 11] = [
        Relation::Provides,
        Relation::Consumes,
        Relation::Reads,
        Relation::Writes,
        Relation::Owns,
        Relation::DependsOn,
        Relation::Guards,
        Relation::CausedBy,
        Relation::LearnedFrom,
        Relation::VerifiedBy,
        Relation::Supersedes,
    ];

    /// The forward name, as stored in edge keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Provides => "provides",
            Relation::Consumes => "consumes",
            Relation::Reads => "reads",
            Relation::Writes => "writes",
            Relation::Owns => "owns",
            Relation::DependsOn => "depends_on",
            Relation::Guards => "guards",
            Relation::CausedBy => "caused_by",
            Relation::LearnedFrom => "learned_from",
            Relation::VerifiedBy => "verified_by",
            Relation::Supersedes => "supersedes",
        }
    }

    /// The name of the relation read from destination to source.
    pub fn reverse_name(self) -> &'static str {
        match self {
            Relation::Provides => "provided_by",
            Relation::Consumes => "consumed_by",
            Relation::Reads => "read_by",
            Relation::Writes => "written_by",
            Relation::Owns => "owned_by",
            Relation::DependsOn => "dependency_of",
            Relation::Guards => "guarded_by",
            Relation::CausedBy => "caused",
            Relation::LearnedFrom => "taught",
            Relation::VerifiedBy => "verified",
            Relation::Supersedes => "superseded_by",
        }
    }

    /// The relation with this forward name.
    pub fn parse(name: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way to follow edges from an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Edges whose source is the entity.
    Outgoing,
    /// Edges whose destination is the entity.
    Incoming,
}

/// A directed edge `src --rel--> dst`; at most one per (src, rel, dst).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    /// Source entity id.
    pub src: String,
    /// The relation.
    pub rel: Relation,
    /// Destination entity id.
    pub dst: String,
    /// Free attributes, e.g. `fields` for `reads`.
    pub attrs: BTreeMap<String, String>,
}

impl Edge {
    /// An edge without attributes.
    pub fn new(src: &str, rel: Relation, dst: &str) -> Self {
        Edge {
            src: src.to_string(),
            rel,
            dst: dst.to_string(),
            attrs: BTreeMap::new(),
        }
    }
}

/// How a fact came to be known; sets its prior confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Declared in a manifest or catalog.
    Declared,
    /// Observed at run time (a captured payload, a test result).
    Observed,
    /// Inferred from code.
    Inferred,
    /// Stated by a person.
    Human,
    /// Extracted by a model.
    Model,
}

impl Method {
    /// The confidence a fact starts with when learned this way.
    pub fn prior(self) -> f64 {
        match self {
            Method::Declared => 0.9,
            Method::Observed => 0.8,
            Method::Inferred => 0.7,
            Method::Human => 0.95,
            Method::Model => 0.5,
        }
    }
}

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The run that learned it, if any.
    pub run: Option<String>,
    /// The step of that run.
    pub step: Option<String>,
    /// Who: an actor, a model or a person.
    pub agent: String,
    /// What it used: `repo@commit:path`.
    pub source: String,
    /// How it was learned.
    pub method: Method,
}

/// A statement about an entity, with two time axes and provenance.
///
/// Valid time (`valid_from`/`valid_to`) is when the statement was true in the world; record time
/// (`recorded_at`/`expired_at`) is when memory believed it. A contradicted fact is closed (both
/// `valid_to` and `expired_at` set, with a reason), never deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Unique id.
    pub id: String,
    /// The entity it is about.
    pub subject: String,
    /// What is said, e.g. `field.total.type`. Single-valued: a new object contradicts the old.
    pub predicate: String,
    /// The value: a string or JSON text.
    pub object: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// Current belief in [0, 1].
    pub confidence: f64,
    /// Confidence right after the last verification; decay starts from here.
    pub anchor_confidence: f64,
    /// Start of the time it was true.
    pub valid_from: Time,
    /// End of the time it was true; `None` while open.
    pub valid_to: Option<Time>,
    /// When memory learned it.
    pub recorded_at: Time,
    /// When memory stopped believing it; `None` while open.
    pub expired_at: Option<Time>,
    /// Why it was closed.
    pub closed_reason: Option<String>,
    /// When it was last checked against its source.
    pub last_verified_at: Time,
}

impl Fact {
    /// A fresh open fact learned at `now`, with the prior confidence of its method.
    pub fn new(
        id: &str,
        subject: &str,
        predicate: &str,
        object: &str,
        provenance: Provenance,
        now: Time,
    ) -> Self {
        let prior = provenance.method.prior();
        Fact {
            id: id.to_string(),
            subject: subject.to_string(),
            predicate: predicate.to_string(),
            object: object.to_string(),
            provenance,
            confidence: prior,
            anchor_confidence: prior,
            valid_from: now,
            valid_to: None,
            recorded_at: now,
            expired_at: None,
            closed_reason: None,
            last_verified_at: now,
        }
    }

    /// Whether memory still believes it.
    pub fn is_open(&self) -> bool {
        self.expired_at.is_none()
    }

    /// Whether it was true at `t` (valid time).
    pub fn valid_at(&self, t: Time) -> bool {
        self.valid_from <= t && self.valid_to.is_none_or(|end| t < end)
    }
}

/// A fresh, time-ordered fact id.
pub fn new_fact_id() -> String {
    format!("fact:{}", uuid::Uuid::now_v7())
}
