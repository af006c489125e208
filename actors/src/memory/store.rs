//! The redb store: table layout, opening, and the MessagePack codec.
//!
//! Layout (keys are tuples so every "all X of Y" question is a prefix range scan):
//! - `entities`: id -> Entity; `entity_names` (multimap): name -> id; `entity_kinds` (multimap):
//!   kind -> id.
//! - `edges`: (src, rel, dst) -> attrs; `edges_reverse`: (dst, rel, src) -> ().
//! - `facts`: (subject, predicate, id) -> Fact, so the facts about an entity are one range scan
//!   (the planner's context query reads nothing else); `fact_ids`: id -> (subject, predicate);
//!   `reverify_queue`: (last_verified_at, id) -> () for open facts only, oldest first.
//! - learner: `artifacts`: id -> Artifact; `artifact_children`: (parent, child) -> ();
//!   `champions`: slot -> artifact id; `promotions`: seq -> Promotion;
//!   `evaluations`: (artifact, at, case) -> Evaluation.
//!
//! redb is blocking: async callers go through [`super::MemoryActor`] or `spawn_blocking`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use redb::{Database, MultimapTableDefinition, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{MemoryError, db_err};

pub(crate) type Key3 = (&'static str, &'static str, &'static str);

pub(crate) const ENTITIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entities");
pub(crate) const NAMES: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("entity_names");
pub(crate) const KINDS: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("entity_kinds");
pub(crate) const EDGES: TableDefinition<Key3, &[u8]> = TableDefinition::new("edges");
pub(crate) const EDGES_REV: TableDefinition<Key3, ()> = TableDefinition::new("edges_reverse");
pub(crate) const FACTS: TableDefinition<Key3, &[u8]> = TableDefinition::new("facts");
pub(crate) const FACT_IDS: TableDefinition<&str, (&str, &str)> = TableDefinition::new("fact_ids");
pub(crate) const REVERIFY: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("reverify_queue");
pub(crate) const ARTIFACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("artifacts");
pub(crate) const ARTIFACT_CHILDREN: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("artifact_children");
pub(crate) const CHAMPIONS: TableDefinition<&str, &str> = TableDefinition::new("champions");
pub(crate) const PROMOTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("promotions");
pub(crate) const EVALUATIONS: TableDefinition<(&str, u64, &str), &[u8]> =
    TableDefinition::new("evaluations");

/// The memory graph on redb. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct MemoryStore {
    pub(crate) db: Arc<Database>,
}

impl MemoryStore {
    /// Open (or create) the store in the file at `path`.
    ///
    /// The file's checksums are verified on open, so a damaged file is refused with an error that
    /// names it instead of being trusted (redb may panic on pages it did not write).
    pub fn open(path: &Path) -> Result<Self, MemoryError> {
        let open_err = |detail: String| MemoryError::Open {
            path: path.display().to_string(),
            detail,
        };
        // A file from outside is untrusted input; should redb still panic on some damage its
        // integrity check misses, that becomes an error too rather than taking the process down.
        let opened = catch_unwind(AssertUnwindSafe(|| {
            Database::builder()
                .set_check_integrity_on_open(true)
                .create(path)
        }));
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(open_err(e.to_string())),
            Err(_) => return Err(open_err("the file is damaged (redb panicked)".into())),
        };
        Self::init(db).map_err(|e| open_err(e.to_string()))
    }

    /// A store held in memory (redb's `InMemoryBackend`), for tests and benchmarks.
    pub fn in_memory() -> Result<Self, MemoryError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| MemoryError::Open {
                path: "<memory>".into(),
                detail: e.to_string(),
            })?;
        Self::init(db)
    }

    /// Create every table, so readers never meet a missing one, and check the existing ones have
    /// the types this code expects.
    fn init(db: Database) -> Result<Self, MemoryError> {
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(ENTITIES).map_err(db_err)?;
        tx.open_multimap_table(NAMES).map_err(db_err)?;
        tx.open_multimap_table(KINDS).map_err(db_err)?;
        tx.open_table(EDGES).map_err(db_err)?;
        tx.open_table(EDGES_REV).map_err(db_err)?;
        tx.open_table(FACTS).map_err(db_err)?;
        tx.open_table(FACT_IDS).map_err(db_err)?;
        tx.open_table(REVERIFY).map_err(db_err)?;
        tx.open_table(ARTIFACTS).map_err(db_err)?;
        tx.open_table(ARTIFACT_CHILDREN).map_err(db_err)?;
        tx.open_table(CHAMPIONS).map_err(db_err)?;
        tx.open_table(PROMOTIONS).map_err(db_err)?;
        tx.open_table(EVALUATIONS).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(MemoryStore { db: Arc::new(db) })
    }
}

/// Encode a value as MessagePack with field names, so added fields stay readable.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, MemoryError> {
    rmp_serde::to_vec_named(value).map_err(|e| MemoryError::Encode(e.to_string()))
}

/// Decode a stored value; a failure names the table and key.
pub(crate) fn decode<T: DeserializeOwned>(
    table: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, MemoryError> {
    rmp_serde::from_slice(bytes).map_err(|e| MemoryError::Corrupt {
        table,
        key: key.to_string(),
        detail: e.to_string(),
    })
}
