//! Writes: every call to [`MemoryStore::apply`] is one redb write transaction, so all writes of
//! one step land together or not at all.

use redb::{MultimapTable, ReadableTable, Table, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::learner::{Artifact, Evaluation, Promotion};
use super::model::{Edge, Entity, Fact, Relation, Time};
use super::store::{self, Key3, MemoryStore, decode, encode};
use super::{MemoryError, db_err};

/// How much of the remaining doubt one successful verification removes.
pub const VERIFY_GAIN: f64 = 0.5;

/// The default half-life of an unverified fact's confidence: 30 days.
pub const DEFAULT_HALF_LIFE_MS: u64 = 30 * 24 * 3600 * 1000;

/// One change to memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Write {
    /// Insert or replace an entity.
    PutEntity(Entity),
    /// Insert or replace the edge (src, rel, dst).
    PutEdge(Edge),
    /// Remove the edge (src, rel, dst), if present.
    RemoveEdge {
        /// Source id.
        src: String,
        /// Relation.
        rel: Relation,
        /// Destination id.
        dst: String,
    },
    /// Record a fact. An open fact on the same subject and predicate with the same object is
    /// confirmed instead (verified at the new fact's `recorded_at`); one with a different object
    /// is closed as contradicted. Both are kept.
    RecordFact(Fact),
    /// The fact was checked against its source and still holds.
    VerifyFact {
        /// Fact id.
        id: String,
        /// When it was checked.
        at: Time,
    },
    /// Close a fact: it stopped being true at `at`.
    CloseFact {
        /// Fact id.
        id: String,
        /// When.
        at: Time,
        /// Why.
        reason: String,
    },
    /// Lower the confidence of every fact not verified since before `now`:
    /// `anchor * 0.5^(age / half_life)`. Recomputed from the anchor, so repeating it is harmless.
    Decay {
        /// The present.
        now: Time,
        /// Age at which confidence halves.
        half_life_ms: u64,
    },
    /// Store an artifact version (kept forever; storing the same content again is a no-op).
    PutArtifact(Artifact),
    /// Move a slot's champion pointer and log it; fails if `from` is not the current champion.
    MoveChampion(Promotion),
    /// Record one replay result.
    RecordEvaluation(Evaluation),
}

/// What one [`MemoryStore::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplySummary {
    /// Entities written.
    pub entities: usize,
    /// Edges written or removed.
    pub edges: usize,
    /// Ids of facts newly recorded.
    pub facts_recorded: Vec<String>,
    /// Ids of open facts a recorded fact confirmed.
    pub facts_confirmed: Vec<String>,
    /// Ids of facts closed (contradicted or closed explicitly).
    pub facts_closed: Vec<String>,
    /// Facts verified.
    pub facts_verified: usize,
    /// Facts whose confidence decay changed.
    pub facts_decayed: usize,
    /// Sequence numbers of champion moves logged.
    pub promotions: Vec<u64>,
}

impl MemoryStore {
    /// Apply a batch of writes in one transaction; on any error nothing is written.
    pub fn apply(&self, writes: Vec<Write>) -> Result<ApplySummary, MemoryError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let mut summary = ApplySummary::default();
        {
            let mut t = WriteTables::open(&tx)?;
            for w in writes {
                t.apply_one(w, &mut summary)?;
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(summary)
    }

    /// Record one fact (see [`Write::RecordFact`]).
    pub fn record_fact(&self, fact: Fact) -> Result<ApplySummary, MemoryError> {
        self.apply(vec![Write::RecordFact(fact)])
    }

    /// Mark a fact verified at `now`: confidence up, moved to the back of the re-verify queue.
    pub fn verify_fact(&self, id: &str, now: Time) -> Result<Fact, MemoryError> {
        self.apply(vec![Write::VerifyFact {
            id: id.to_string(),
            at: now,
        }])?;
        self.fact(id)?.ok_or_else(|| MemoryError::NotFound {
            what: "fact",
            id: id.to_string(),
        })
    }

    /// Decay unverified facts with the default half-life; returns how many changed.
    pub fn decay(&self, now: Time) -> Result<usize, MemoryError> {
        let s = self.apply(vec![Write::Decay {
            now,
            half_life_ms: DEFAULT_HALF_LIFE_MS,
        }])?;
        Ok(s.facts_decayed)
    }
}

/// Every table, opened once per transaction.
pub(crate) struct WriteTables<'t> {
    pub(crate) entities: Table<'t, &'static str, &'static [u8]>,
    pub(crate) names: MultimapTable<'t, &'static str, &'static str>,
    pub(crate) kinds: MultimapTable<'t, &'static str, &'static str>,
    pub(crate) edges: Table<'t, Key3, &'static [u8]>,
    pub(crate) edges_rev: Table<'t, Key3, ()>,
    pub(crate) facts: Table<'t, Key3, &'static [u8]>,
    pub(crate) fact_ids: Table<'t, &'static str, (&'static str, &'static str)>,
    pub(crate) reverify: Table<'t, (u64, &'static str), ()>,
    pub(crate) artifacts: Table<'t, &'static str, &'static [u8]>,
    pub(crate) children: Table<'t, (&'static str, &'static str), ()>,
    pub(crate) champions: Table<'t, &'static str, &'static str>,
    pub(crate) promotions: Table<'t, u64, &'static [u8]>,
    pub(crate) evaluations: Table<'t, (&'static str, u64, &'static str), &'static [u8]>,
}

impl<'t> WriteTables<'t> {
    pub(crate) fn open(tx: &'t WriteTransaction) -> Result<Self, MemoryError> {
        Ok(WriteTables {
            entities: tx.open_table(store::ENTITIES).map_err(db_err)?,
            names: tx.open_multimap_table(store::NAMES).map_err(db_err)?,
            kinds: tx.open_multimap_table(store::KINDS).map_err(db_err)?,
            edges: tx.open_table(store::EDGES).map_err(db_err)?,
            edges_rev: tx.open_table(store::EDGES_REV).map_err(db_err)?,
            facts: tx.open_table(store::FACTS).map_err(db_err)?,
            fact_ids: tx.open_table(store::FACT_IDS).map_err(db_err)?,
            reverify: tx.open_table(store::REVERIFY).map_err(db_err)?,
            artifacts: tx.open_table(store::ARTIFACTS).map_err(db_err)?,
            children: tx.open_table(store::ARTIFACT_CHILDREN).map_err(db_err)?,
            champions: tx.open_table(store::CHAMPIONS).map_err(db_err)?,
            promotions: tx.open_table(store::PROMOTIONS).map_err(db_err)?,
            evaluations: tx.open_table(store::EVALUATIONS).map_err(db_err)?,
        })
    }

    fn apply_one(&mut self, w: Write, s: &mut ApplySummary) -> Result<(), MemoryError> {
        match w {
            Write::PutEntity(e) => {
                self.put_entity(&e)?;
                s.entities += 1;
            }
            Write::PutEdge(e) => {
                self.put_edge(&e)?;
                s.edges += 1;
            }
            Write::RemoveEdge { src, rel, dst } => {
                self.edges
                    .remove((src.as_str(), rel.as_str(), dst.as_str()))
                    .map_err(db_err)?;
                self.edges_rev
                    .remove((dst.as_str(), rel.as_str(), src.as_str()))
                    .map_err(db_err)?;
                s.edges += 1;
            }
            Write::RecordFact(f) => self.record_fact(f, s)?,
            Write::VerifyFact { id, at } => {
                let mut f = self.open_fact(&id)?;
                f.confidence += (1.0 - f.confidence) * VERIFY_GAIN;
                f.anchor_confidence = f.confidence;
                f.last_verified_at = f.last_verified_at.max(at);
                self.store_fact(&f)?;
                s.facts_verified += 1;
            }
            Write::CloseFact { id, at, reason } => {
                let mut f = self.open_fact(&id)?;
                close(&mut f, at, at, reason);
                self.store_fact(&f)?;
                s.facts_closed.push(id);
            }
            Write::Decay { now, half_life_ms } => {
                s.facts_decayed += self.decay(now, half_life_ms)?
            }
            Write::PutArtifact(a) => self.put_artifact(&a)?,
            Write::MoveChampion(p) => s.promotions.push(self.move_champion(p)?),
            Write::RecordEvaluation(e) => {
                if self
                    .artifacts
                    .get(e.artifact.as_str())
                    .map_err(db_err)?
                    .is_none()
                {
                    return Err(not_found("artifact", &e.artifact));
                }
                let key = (e.artifact.as_str(), e.at.0, e.case.as_str());
                self.evaluations
                    .insert(key, encode(&e)?.as_slice())
                    .map_err(db_err)?;
            }
        }
        Ok(())
    }

    pub(crate) fn put_entity(&mut self, e: &Entity) -> Result<(), MemoryError> {
        let old = match self.entities.get(e.id.as_str()).map_err(db_err)? {
            Some(v) => Some(decode::<Entity>("entities", &e.id, v.value())?),
            None => None,
        };
        if let Some(old) = old {
            self.names
                .remove(old.name.as_str(), old.id.as_str())
                .map_err(db_err)?;
            self.kinds
                .remove(old.kind.as_str(), old.id.as_str())
                .map_err(db_err)?;
        }
        self.entities
            .insert(e.id.as_str(), encode(e)?.as_slice())
            .map_err(db_err)?;
        self.names
            .insert(e.name.as_str(), e.id.as_str())
            .map_err(db_err)?;
        self.kinds
            .insert(e.kind.as_str(), e.id.as_str())
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) fn put_edge(&mut self, e: &Edge) -> Result<(), MemoryError> {
        let rel = e.rel.as_str();
        self.edges
            .insert(
                (e.src.as_str(), rel, e.dst.as_str()),
                encode(&e.attrs)?.as_slice(),
            )
            .map_err(db_err)?;
        self.edges_rev
            .insert((e.dst.as_str(), rel, e.src.as_str()), ())
            .map_err(db_err)?;
        Ok(())
    }

    fn fact(&self, id: &str) -> Result<Option<Fact>, MemoryError> {
        let Some(key) = self.fact_ids.get(id).map_err(db_err)? else {
            return Ok(None);
        };
        let (subject, predicate) = key.value();
        match self.facts.get((subject, predicate, id)).map_err(db_err)? {
            Some(v) => decode("facts", id, v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn open_fact(&self, id: &str) -> Result<Fact, MemoryError> {
        let f = self.fact(id)?.ok_or_else(|| not_found("fact", id))?;
        if !f.is_open() {
            return Err(MemoryError::Conflict(format!("fact {id} is closed")));
        }
        Ok(f)
    }

    /// Write a fact and keep its indexes consistent: the only place facts are written.
    pub(crate) fn store_fact(&mut self, f: &Fact) -> Result<(), MemoryError> {
        if let Some(old) = self.fact(&f.id)? {
            self.reverify
                .remove((old.last_verified_at.0, old.id.as_str()))
                .map_err(db_err)?;
            // Only an import can move a fact to another subject or predicate.
            self.facts
                .remove((
                    old.subject.as_str(),
                    old.predicate.as_str(),
                    old.id.as_str(),
                ))
                .map_err(db_err)?;
        }
        let (s, p) = (f.subject.as_str(), f.predicate.as_str());
        self.facts
            .insert((s, p, f.id.as_str()), encode(f)?.as_slice())
            .map_err(db_err)?;
        self.fact_ids
            .insert(f.id.as_str(), (s, p))
            .map_err(db_err)?;
        if f.is_open() {
            self.reverify
                .insert((f.last_verified_at.0, f.id.as_str()), ())
                .map_err(db_err)?;
        }
        Ok(())
    }

    fn record_fact(&mut self, new: Fact, s: &mut ApplySummary) -> Result<(), MemoryError> {
        if self.fact(&new.id)?.is_some() {
            return Err(MemoryError::Conflict(format!("fact {} exists", new.id)));
        }
        let mut open = self.facts_on(&new.subject, &new.predicate)?;
        open.retain(Fact::is_open);
        if let Some(mut same) = open.iter().find(|f| f.object == new.object).cloned() {
            same.confidence += (1.0 - same.confidence) * VERIFY_GAIN;
            same.anchor_confidence = same.confidence;
            same.last_verified_at = same.last_verified_at.max(new.recorded_at);
            self.store_fact(&same)?;
            s.facts_confirmed.push(same.id);
            return Ok(());
        }
        for mut old in open {
            let reason = format!("contradicted by {}: {}", new.id, new.object);
            let end = new.valid_from.max(old.valid_from);
            close(&mut old, end, new.recorded_at, reason);
            self.store_fact(&old)?;
            s.facts_closed.push(old.id);
        }
        self.store_fact(&new)?;
        s.facts_recorded.push(new.id);
        Ok(())
    }

    fn facts_on(&self, subject: &str, predicate: &str) -> Result<Vec<Fact>, MemoryError> {
        let mut out = Vec::new();
        for item in self
            .facts
            .range((subject, predicate, "")..)
            .map_err(db_err)?
        {
            let (k, v) = item.map_err(db_err)?;
            let (s, p, id) = k.value();
            if s != subject || p != predicate {
                break;
            }
            out.push(decode("facts", id, v.value())?);
        }
        Ok(out)
    }

    fn decay(&mut self, now: Time, half_life_ms: u64) -> Result<usize, MemoryError> {
        let mut stale = Vec::new();
        for item in self.reverify.range(..(now.0, "")).map_err(db_err)? {
            let (k, _) = item.map_err(db_err)?;
            stale.push(k.value().1.to_string());
        }
        let mut changed = 0;
        for id in stale {
            let mut f = self.fact(&id)?.ok_or_else(|| not_found("fact", &id))?;
            let age = now.0.saturating_sub(f.last_verified_at.0) as f64;
            let c = f.anchor_confidence * 0.5f64.powf(age / half_life_ms.max(1) as f64);
            if (c - f.confidence).abs() > 1e-9 {
                f.confidence = c;
                self.store_fact(&f)?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

fn close(f: &mut Fact, valid_to: Time, expired_at: Time, reason: String) {
    f.valid_to = Some(f.valid_to.unwrap_or(valid_to));
    f.expired_at = Some(expired_at);
    f.closed_reason = Some(reason);
}

pub(crate) fn not_found(what: &'static str, id: &str) -> MemoryError {
    MemoryError::NotFound {
        what,
        id: id.to_string(),
    }
}
