//! The durable run store on redb.
//!
//! One table keyed by the run id's 128 bits (UUID v7, so keys sort by submission time) holding the
//! run record as MessagePack. Every step of a run is one write transaction, so a crash leaves each
//! run at a step it fully recorded. redb is blocking: async callers go through `spawn_blocking`.

use std::path::Path;
use std::sync::{Arc, Mutex};

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
///
/// Writes are group-committed: a commit waits for the disk (an fsync, milliseconds), so puts
/// that arrive meanwhile queue up and the next writer commits all of them in one transaction.
/// Every put still returns only after its record is durable; under load one fsync covers many.
#[derive(Clone)]
pub struct RunStore {
    db: Arc<Database>,
    writes: Arc<Writes>,
}

/// Records waiting to be written, and the lock held by whoever is committing.
#[derive(Default)]
struct Writes {
    queue: Mutex<Vec<Pending>>,
    commit: Mutex<()>,
}

/// One queued put: its record and where its committer leaves the result.
struct Pending {
    key: u128,
    bytes: Vec<u8>,
    done: Arc<Mutex<Option<Result<(), String>>>>,
}

/// Lock a mutex; a poisoned one only means another writer panicked, and the data stays usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        Ok(RunStore {
            db: Arc::new(db),
            writes: Arc::default(),
        })
    }

    /// Write a run record (insert or replace); returns once it is committed, possibly in one
    /// transaction with other writers' records. Blocking.
    pub fn put(&self, run: &RunRecord) -> Result<(), StoreError> {
        let key = key(&run.id)?;
        let bytes = rmp_serde::to_vec_named(run).map_err(db_err)?;
        let done = Arc::new(Mutex::new(None));
        lock(&self.writes.queue).push(Pending {
            key,
            bytes,
            done: done.clone(),
        });
        // Whoever held the lock before us may have committed our record with theirs.
        let _committing = lock(&self.writes.commit);
        if let Some(result) = lock(&done).take() {
            return result.map_err(StoreError::Db);
        }
        let batch = std::mem::take(&mut *lock(&self.writes.queue));
        let result = self.commit(&batch).map_err(|e| e.to_string());
        for pending in &batch {
            *lock(&pending.done) = Some(result.clone());
        }
        // Our record was queued before we took the lock, so it was in this batch.
        lock(&done).take().unwrap_or(result).map_err(StoreError::Db)
    }

    /// Write `batch` in one transaction, in queue order (a later put of a run wins).
    fn commit(&self, batch: &[Pending]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(RUNS).map_err(db_err)?;
            for p in batch {
                table.insert(p.key, p.bytes.as_slice()).map_err(db_err)?;
            }
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

    /// Many writers at once, as bots submitting together: every put returns only once its
    /// record is stored, whichever writer committed it, and a run put twice keeps its last state.
    #[test]
    fn concurrent_puts_are_all_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runs.redb");
        let runs: Vec<RunRecord> = (0..64).map(|_| run()).collect();
        {
            let store = RunStore::open(&path).expect("open");
            std::thread::scope(|s| {
                for r in &runs {
                    let store = store.clone();
                    s.spawn(move || {
                        store.put(r).expect("put");
                        let mut later = r.clone();
                        later.status = RunStatus::Planned;
                        store.put(&later).expect("put again");
                        assert_eq!(store.get(&r.id).expect("get"), Some(later));
                    });
                }
            });
        }
        let store = RunStore::open(&path).expect("reopen");
        let stored = store.list().expect("list");
        assert_eq!(stored.len(), runs.len());
        assert!(stored.iter().all(|r| r.status == RunStatus::Planned));
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
