//! Export and import of the whole store as one JSON document, for backups, inspection and
//! moving memory between machines.

use std::collections::BTreeMap;

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::learner::{Artifact, Evaluation, Promotion};
use super::model::{Edge, Entity, Fact, Relation};
use super::store::{self, MemoryStore, decode, encode};
use super::write::WriteTables;
use super::{MemoryError, db_err};

/// Everything in the store, in key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Every entity.
    pub entities: Vec<Entity>,
    /// Every edge.
    pub edges: Vec<Edge>,
    /// Every fact, open and closed.
    pub facts: Vec<Fact>,
    /// Every artifact version.
    pub artifacts: Vec<Artifact>,
    /// Champion artifact id by slot.
    pub champions: BTreeMap<String, String>,
    /// The promotion log.
    pub promotions: Vec<Promotion>,
    /// Every evaluation.
    pub evaluations: Vec<Evaluation>,
}

impl MemoryStore {
    /// Read the whole store in one snapshot.
    pub fn snapshot(&self) -> Result<Snapshot, MemoryError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let mut s = Snapshot::default();
        for item in tx
            .open_table(store::ENTITIES)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.entities.push(decode("entities", k.value(), v.value())?);
        }
        for item in tx
            .open_table(store::EDGES)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            let (src, rel, dst) = k.value();
            let rel = Relation::parse(rel).ok_or_else(|| MemoryError::Corrupt {
                table: "edges",
                key: src.to_string(),
                detail: format!("unknown relation {rel}"),
            })?;
            s.edges.push(Edge {
                src: src.to_string(),
                rel,
                dst: dst.to_string(),
                attrs: decode("edges", src, v.value())?,
            });
        }
        for item in tx
            .open_table(store::FACTS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.facts.push(decode("facts", k.value().2, v.value())?);
        }
        for item in tx
            .open_table(store::ARTIFACTS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.artifacts.push(decode("artifacts", k.value(), v.value())?);
        }
        for item in tx
            .open_table(store::CHAMPIONS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.champions
                .insert(k.value().to_string(), v.value().to_string());
        }
        for item in tx
            .open_table(store::PROMOTIONS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.promotions
                .push(decode("promotions", &k.value().to_string(), v.value())?);
        }
        for item in tx
            .open_table(store::EVALUATIONS)
            .map_err(db_err)?
            .iter()
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            s.evaluations
                .push(decode("evaluations", k.value().0, v.value())?);
        }
        Ok(s)
    }

    /// The whole store as a JSON document.
    pub fn export_json(&self) -> Result<String, MemoryError> {
        serde_json::to_string_pretty(&self.snapshot()?)
            .map_err(|e| MemoryError::Encode(e.to_string()))
    }

    /// Load a document from [`MemoryStore::export_json`] in one transaction. Records are stored
    /// exactly as exported (no contradiction checks) and replace records with the same keys.
    pub fn import_json(&self, json: &str) -> Result<(), MemoryError> {
        let s: Snapshot =
            serde_json::from_str(json).map_err(|e| MemoryError::Json(e.to_string()))?;
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = WriteTables::open(&tx)?;
            for e in &s.entities {
                t.put_entity(e)?;
            }
            for e in &s.edges {
                t.put_edge(e)?;
            }
            for f in &s.facts {
                t.store_fact(f)?;
            }
            // Artifacts come in key (hash) order, so a child may precede its parent: store all,
            // then link.
            for a in &s.artifacts {
                t.artifacts
                    .insert(a.id.as_str(), encode(a)?.as_slice())
                    .map_err(db_err)?;
            }
            for a in &s.artifacts {
                if let Some(p) = &a.parent {
                    t.children
                        .insert((p.as_str(), a.id.as_str()), ())
                        .map_err(db_err)?;
                }
            }
            for (slot, id) in &s.champions {
                t.champions
                    .insert(slot.as_str(), id.as_str())
                    .map_err(db_err)?;
            }
            for p in &s.promotions {
                t.promotions
                    .insert(p.seq, encode(p)?.as_slice())
                    .map_err(db_err)?;
            }
            for e in &s.evaluations {
                t.evaluations
                    .insert(
                        (e.artifact.as_str(), e.at.0, e.case.as_str()),
                        encode(e)?.as_slice(),
                    )
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }
}
