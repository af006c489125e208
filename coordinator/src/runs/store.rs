//! The durable run store on redb.
//!
//! One table keyed by the run id's 128 bits (UUID v7, so keys sort by submission time) holding the
//! run record as MessagePack. Every step of a run is one write transaction, so a crash leaves each
//! run at a step it fully recorded. redb is blocking: async callers go through `spawn_blocking`.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::record::RunRecord;

const RUNS: TableDefinition<u128, &[u8]> = TableDefinition::new("runs");

/// Errors of the run store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or is damaged.
    #[error("run store {path}: cannot open: {source}")]
    Open {
        /// The file.
        path: String,
        /// Why.
        source: redb::DatabaseError,
    },
    /// A redb operation failed.
    #[error("run store: {0}")]
    Db(String),
    /// A stored record does not decode.
    #[error("run store: record {id} is unreadable: {detail}")]
    Corrupt {
        /// Run id.
        id: String,
        /// Why.
        detail: String,
    },
    /// A run id is not a UUID.
    #[error("not a run id: {0}")]
    BadId(String),
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// Durable runs. Cheap to clone.
#[derive(Clone)]
pub struct RunStore {
    db: Arc<Database>,
}

impl RunStore {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(db)
    }

    /// A store held in memory, for fast tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|source| StoreError::Open {
                path: "<memory>".into(),
                source,
            })?;
        Self::init(db)
    }

    fn init(db: Database) -> Result<Self, StoreError> {
        let tx = db.begin_write().map_err(db_err)?;
        tx.open_table(RUNS).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(RunStore { db: Arc::new(db) })
    }

    /// Write a run record (insert or replace) in one transaction.
    pub fn put(&self, run: &RunRecord) -> Result<(), StoreError> {
        let key = key(&run.id)?;
        let bytes = rmp_serde::to_vec_named(run).map_err(db_err)?;
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(RUNS).map_err(db_err)?;
            table.insert(key, bytes.as_slice()).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// The run with this id.
    pub fn get(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let key = key(id)?;
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(RUNS).map_err(db_err)?;
        match table.get(key).map_err(db_err)? {
            Some(v) => decode(id, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Every run, oldest first.
    pub fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(RUNS).map_err(db_err)?;
        let mut runs = Vec::new();
        for entry in table.iter().map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            let id = uuid::Uuid::from_u128(k.value()).to_string();
            runs.push(decode(&id, v.value())?);
        }
        Ok(runs)
    }
}

fn key(id: &str) -> Result<u128, StoreError> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.as_u128())
        .map_err(|_| StoreError::BadId(id.to_string()))
}

fn decode(id: &str, bytes: &[u8]) -> Result<RunRecord, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runs::record::{RunBudget, RunStatus};
    use actors::outcome::Outcome;

    fn run() -> RunRecord {
        let outcome = Outcome {
            title: "expose createdAt".into(),
            description: String::new(),
            changes: vec![],
        };
        RunRecord::new(
            uuid::Uuid::now_v7().to_string(),
            outcome,
            RunBudget::default(),
            1,
        )
    }

    #[test]
    fn a_run_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runs.redb");
        let mut r = run();
        {
            let store = RunStore::open(&path).expect("open");
            store.put(&r).expect("put");
            r.status = RunStatus::Changing;
            store.put(&r).expect("put again");
        }
        let store = RunStore::open(&path).expect("reopen");
        assert_eq!(store.get(&r.id).expect("get"), Some(r.clone()));
        assert_eq!(store.list().expect("list").len(), 1);
    }

    #[test]
    fn a_garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runs.redb");
        std::fs::write(&path, vec![0x5a; 4096]).expect("write");
        let err = RunStore::open(&path).err().expect("must fail");
        assert!(err.to_string().contains("runs.redb"), "{err}");
    }

    #[test]
    fn in_memory_store_lists_in_submission_order() {
        let store = RunStore::in_memory().expect("mem");
        let (a, b) = (run(), run());
        store.put(&b).expect("put");
        store.put(&a).expect("put");
        let ids: Vec<String> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec![a.id, b.id]);
        assert!(matches!(store.get("nope"), Err(StoreError::BadId(_))));
    }
}
