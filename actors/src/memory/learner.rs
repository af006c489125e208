//! The learner's records: content-addressed artifacts, champion pointers, the promotion log and
//! evaluations. The learner itself lives elsewhere; this is only what it keeps in memory's store.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::Time;
use super::store::{self, MemoryStore, decode, encode};
use super::write::{WriteTables, not_found};
use super::{MemoryError, db_err};

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A prompt template or workflow.
    Skill,
    /// A check that can block delivery.
    Gate,
}

/// One version of a skill or gate. Its id is the hash of its content, so the same content stored
/// twice is one artifact; every version is kept, linked to its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// `artifact:<sha256 hex>` of kind, slot and body.
    pub id: String,
    /// Skill or gate.
    pub kind: ArtifactKind,
    /// The slot it was made for, e.g. `skill:planner/breaking-change`.
    pub slot: String,
    /// The version it was derived from.
    pub parent: Option<String>,
    /// The content: template, workflow or check source.
    pub body: String,
    /// When it was proposed.
    pub created_at: Time,
}

impl Artifact {
    /// An artifact with its content address computed.
    pub fn new(
        kind: ArtifactKind,
        slot: &str,
        parent: Option<&str>,
        body: &str,
        created_at: Time,
    ) -> Self {
        Artifact {
            id: content_id(kind, slot, body),
            kind,
            slot: slot.to_string(),
            parent: parent.map(str::to_string),
            body: body.to_string(),
            created_at,
        }
    }
}

/// The content address of an artifact. Fields are length-prefixed so no two different triples
/// hash the same bytes.
pub fn content_id(kind: ArtifactKind, slot: &str, body: &str) -> String {
    let mut h = Sha256::new();
    let kind = match kind {
        ArtifactKind::Skill => "skill",
        ArtifactKind::Gate => "gate",
    };
    for part in [kind, slot, body] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("artifact:{}", hex::encode(h.finalize()))
}

/// Promote a challenger or revert to an earlier version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionKind {
    /// A challenger won and becomes the champion.
    Promote,
    /// The champion is moved back.
    Revert,
}

/// One move of a slot's champion pointer. Applying it checks that `from` is the current
/// champion, so two learners cannot both promote over the same champion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// Position in the log; assigned by the store, ignored on write.
    pub seq: u64,
    /// The slot.
    pub slot: String,
    /// The champion before; `None` for a slot's first champion.
    pub from: Option<String>,
    /// The champion after.
    pub to: String,
    /// Promote or revert.
    pub kind: PromotionKind,
    /// When.
    pub at: Time,
    /// Why, e.g. the evaluation summary or the person who approved.
    pub reason: String,
}

/// The outcome of replaying one case with one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The artifact evaluated.
    pub artifact: String,
    /// The replay case (a run id of the corpus).
    pub case: String,
    /// When it was evaluated.
    pub at: Time,
    /// The outcome was delivered.
    pub delivered: bool,
    /// Every check was green.
    pub checks_green: bool,
    /// A contract violation got past the gates.
    pub violation_escaped: bool,
    /// A rollback was needed.
    pub rollback_needed: bool,
    /// Edits a person had to make.
    pub human_edits: u32,
    /// Cost in micro-dollars.
    pub cost_micros: u64,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
    /// What the replay showed, in words (e.g. why a proposal was rejected); empty when there is
    /// nothing to say. Added after the first stored records, hence the default.
    #[serde(default)]
    pub note: String,
}

impl MemoryStore {
    /// The artifact with this id.
    pub fn artifact(&self, id: &str) -> Result<Option<Artifact>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::ARTIFACTS).map_err(db_err)?;
        match t.get(id).map_err(db_err)? {
            Some(v) => store::decode("artifacts", id, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The champion artifact id of a slot.
    pub fn champion(&self, slot: &str) -> Result<Option<String>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::CHAMPIONS).map_err(db_err)?;
        Ok(t.get(slot).map_err(db_err)?.map(|v| v.value().to_string()))
    }

    /// Every slot with its champion artifact id, by slot.
    pub fn champions(&self) -> Result<Vec<(String, String)>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::CHAMPIONS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push((k.value().to_string(), v.value().to_string()));
        }
        Ok(out)
    }

    /// Every artifact made for `slot`, oldest first. A full scan: artifacts are few (a handful
    /// per slot), so no slot index is kept.
    pub fn artifacts_in_slot(&self, slot: &str) -> Result<Vec<Artifact>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::ARTIFACTS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let a: Artifact = decode("artifacts", k.value(), v.value())?;
            if a.slot == slot {
                out.push(a);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// The promotion log of one slot, oldest first.
    pub fn promotions_of(&self, slot: &str) -> Result<Vec<Promotion>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::PROMOTIONS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let p: Promotion = decode("promotions", &k.value().to_string(), v.value())?;
            if p.slot == slot {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Every evaluation of one artifact, by time then case.
    pub fn evaluations_of(&self, artifact: &str) -> Result<Vec<Evaluation>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::EVALUATIONS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.range((artifact, 0u64, "")..).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            if k.value().0 != artifact {
                break;
            }
            out.push(decode("evaluations", artifact, v.value())?);
        }
        Ok(out)
    }

    /// Ids of the artifacts derived directly from `parent`.
    pub fn children(&self, parent: &str) -> Result<Vec<String>, MemoryError> {
        let t = self.db.begin_read().map_err(db_err)?;
        let t = t.open_table(store::ARTIFACT_CHILDREN).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.range((parent, "")..).map_err(db_err)? {
            let (k, _) = item.map_err(db_err)?;
            let (p, child) = k.value();
            if p != parent {
                break;
            }
            out.push(child.to_string());
        }
        Ok(out)
    }
}

/// The learner's writes, run inside [`MemoryStore::apply`]'s transaction.
impl WriteTables<'_> {
    pub(crate) fn put_artifact(&mut self, a: &Artifact) -> Result<(), MemoryError> {
        if self.artifacts.get(a.id.as_str()).map_err(db_err)?.is_some() {
            return Ok(());
        }
        if let Some(parent) = &a.parent {
            if self
                .artifacts
                .get(parent.as_str())
                .map_err(db_err)?
                .is_none()
            {
                return Err(not_found("artifact", parent));
            }
            self.children
                .insert((parent.as_str(), a.id.as_str()), ())
                .map_err(db_err)?;
        }
        self.artifacts
            .insert(a.id.as_str(), encode(a)?.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    pub(crate) fn move_champion(&mut self, mut p: Promotion) -> Result<u64, MemoryError> {
        let current = self
            .champions
            .get(p.slot.as_str())
            .map_err(db_err)?
            .map(|v| v.value().to_string());
        if current != p.from {
            return Err(MemoryError::Conflict(format!(
                "slot {}: champion is {current:?}, not {:?}",
                p.slot, p.from
            )));
        }
        let to: Artifact = match self.artifacts.get(p.to.as_str()).map_err(db_err)? {
            Some(v) => decode("artifacts", &p.to, v.value())?,
            None => return Err(not_found("artifact", &p.to)),
        };
        if to.slot != p.slot {
            return Err(MemoryError::Conflict(format!(
                "artifact {} belongs to slot {}, not {}",
                p.to, to.slot, p.slot
            )));
        }
        let last = self
            .promotions
            .last()
            .map_err(db_err)?
            .map(|(k, _)| k.value());
        p.seq = last.map_or(1, |n| n + 1);
        self.promotions
            .insert(p.seq, encode(&p)?.as_slice())
            .map_err(db_err)?;
        self.champions
            .insert(p.slot.as_str(), p.to.as_str())
            .map_err(db_err)?;
        Ok(p.seq)
    }
}
