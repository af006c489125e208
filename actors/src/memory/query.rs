//! Read queries. Each runs in one redb read transaction, so it sees one consistent snapshot.

use std::collections::{BTreeSet, VecDeque};

use redb::{ReadOnlyTable, ReadTransaction, ReadableDatabase};

use super::model::{Direction, Edge, Entity, EntityKind, Fact, Relation, Time};
use super::store::{self, Key3, MemoryStore, decode};
use super::{MemoryError, db_err};

/// Relations a change travels along, read from the changed entity: who depends on it, who
/// consumes it, and (forward) the contracts it provides.
const BLAST: [(Relation, Direction); 3] = [
    (Relation::DependsOn, Direction::Incoming),
    (Relation::Consumes, Direction::Incoming),
    (Relation::Provides, Direction::Outgoing),
];

impl MemoryStore {
    fn read(&self) -> Result<ReadTransaction, MemoryError> {
        self.db.begin_read().map_err(db_err)
    }

    /// The entity with this id.
    pub fn entity(&self, id: &str) -> Result<Option<Entity>, MemoryError> {
        let t = self.read()?.open_table(store::ENTITIES).map_err(db_err)?;
        match t.get(id).map_err(db_err)? {
            Some(v) => decode("entities", id, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Ids of the entities with this name (names are not unique across kinds).
    pub fn ids_named(&self, name: &str) -> Result<Vec<String>, MemoryError> {
        let t = self
            .read()?
            .open_multimap_table(store::NAMES)
            .map_err(db_err)?;
        collect_multimap(t.get(name).map_err(db_err)?)
    }

    /// Ids of every entity of this kind, sorted.
    pub fn ids_of_kind(&self, kind: EntityKind) -> Result<Vec<String>, MemoryError> {
        let t = self
            .read()?
            .open_multimap_table(store::KINDS)
            .map_err(db_err)?;
        collect_multimap(t.get(kind.as_str()).map_err(db_err)?)
    }

    /// Edges touching `id` in one direction, optionally of one relation. Edges come back in their
    /// stored orientation (`src --rel--> dst`) whichever direction was asked.
    pub fn neighbours(
        &self,
        id: &str,
        rel: Option<Relation>,
        dir: Direction,
    ) -> Result<Vec<Edge>, MemoryError> {
        let tx = self.read()?;
        let edges = tx.open_table(store::EDGES).map_err(db_err)?;
        let rev = tx.open_table(store::EDGES_REV).map_err(db_err)?;
        let mut out = Vec::new();
        for (r, other) in adjacent(&edges, &rev, id, rel, dir)? {
            let (src, dst) = match dir {
                Direction::Outgoing => (id, other.as_str()),
                Direction::Incoming => (other.as_str(), id),
            };
            let attrs = match edges.get((src, r.as_str(), dst)).map_err(db_err)? {
                Some(v) => decode("edges", src, v.value())?,
                None => Default::default(),
            };
            out.push(Edge {
                src: src.to_string(),
                rel: r,
                dst: dst.to_string(),
                attrs,
            });
        }
        Ok(out)
    }

    /// Entities that read `field` of the contract with id `contract` (from `reads` edge attrs).
    pub fn readers_of_field(
        &self,
        contract: &str,
        field: &str,
    ) -> Result<Vec<String>, MemoryError> {
        let edges = self.neighbours(contract, Some(Relation::Reads), Direction::Incoming)?;
        Ok(edges
            .into_iter()
            .filter(|e| {
                e.attrs
                    .get("fields")
                    .is_some_and(|f| f.split(',').any(|p| p.trim() == field))
            })
            .map(|e| e.src)
            .collect())
    }

    /// Everything a change to `id` can reach, breadth first, with its distance; `id` excluded.
    pub fn blast_radius(&self, id: &str) -> Result<Vec<(String, u32)>, MemoryError> {
        let tx = self.read()?;
        let edges = tx.open_table(store::EDGES).map_err(db_err)?;
        let rev = tx.open_table(store::EDGES_REV).map_err(db_err)?;
        let mut seen = BTreeSet::from([id.to_string()]);
        let mut queue = VecDeque::from([(id.to_string(), 0u32)]);
        let mut out = Vec::new();
        while let Some((node, depth)) = queue.pop_front() {
            for (rel, dir) in BLAST {
                for (_, next) in adjacent(&edges, &rev, &node, Some(rel), dir)? {
                    if seen.insert(next.clone()) {
                        out.push((next.clone(), depth + 1));
                        queue.push_back((next, depth + 1));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The fact with this id.
    pub fn fact(&self, id: &str) -> Result<Option<Fact>, MemoryError> {
        let tx = self.read()?;
        let ids = tx.open_table(store::FACT_IDS).map_err(db_err)?;
        let facts = tx.open_table(store::FACTS).map_err(db_err)?;
        fact_in(&ids, &facts, id)
    }

    /// Every fact about `subject`, open and closed, by predicate then record time.
    pub fn facts_about(&self, subject: &str) -> Result<Vec<Fact>, MemoryError> {
        let tx = self.read()?;
        let facts = tx.open_table(store::FACTS).map_err(db_err)?;
        let mut out = facts_of(&facts, subject)?;
        out.sort_by(|a, b| {
            (a.predicate.as_str(), a.recorded_at).cmp(&(b.predicate.as_str(), b.recorded_at))
        });
        Ok(out)
    }

    /// The facts about `subject` that were true at `t` (valid time), whether or not memory has
    /// closed them since.
    pub fn facts_as_of(&self, subject: &str, t: Time) -> Result<Vec<Fact>, MemoryError> {
        let mut out = self.facts_about(subject)?;
        out.retain(|f| f.valid_at(t));
        Ok(out)
    }

    /// The planner's context: open facts about the named repos and contracts and about their
    /// direct neighbours (either direction, any relation), most confident first.
    pub fn context_for(
        &self,
        repos: &[&str],
        contracts: &[&str],
    ) -> Result<Vec<Fact>, MemoryError> {
        let tx = self.read()?;
        let edges = tx.open_table(store::EDGES).map_err(db_err)?;
        let rev = tx.open_table(store::EDGES_REV).map_err(db_err)?;
        let facts = tx.open_table(store::FACTS).map_err(db_err)?;
        let seeds = repos
            .iter()
            .map(|r| EntityKind::Repo.id(r))
            .chain(contracts.iter().map(|c| EntityKind::Contract.id(c)));
        let mut subjects = BTreeSet::new();
        for seed in seeds {
            for dir in [Direction::Outgoing, Direction::Incoming] {
                for (_, other) in adjacent(&edges, &rev, &seed, None, dir)? {
                    subjects.insert(other);
                }
            }
            subjects.insert(seed);
        }
        let mut out = Vec::new();
        for s in &subjects {
            out.extend(facts_of(&facts, s)?.into_iter().filter(Fact::is_open));
        }
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Open facts last verified before `older_than`, oldest first, at most `limit`.
    pub fn reverify_queue(&self, older_than: Time, limit: usize) -> Result<Vec<Fact>, MemoryError> {
        let tx = self.read()?;
        let queue = tx.open_table(store::REVERIFY).map_err(db_err)?;
        let ids = tx.open_table(store::FACT_IDS).map_err(db_err)?;
        let facts = tx.open_table(store::FACTS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in queue
            .range(..(older_than.0, ""))
            .map_err(db_err)?
            .take(limit)
        {
            let (k, _) = item.map_err(db_err)?;
            let id = k.value().1;
            out.push(
                fact_in(&ids, &facts, id)?.ok_or_else(|| MemoryError::NotFound {
                    what: "fact",
                    id: id.to_string(),
                })?,
            );
        }
        Ok(out)
    }
}

/// `(relation, other end)` of the edges touching `id`, by prefix range scan of the forward or
/// reverse table.
fn adjacent(
    edges: &ReadOnlyTable<Key3, &'static [u8]>,
    rev: &ReadOnlyTable<Key3, ()>,
    id: &str,
    rel: Option<Relation>,
    dir: Direction,
) -> Result<Vec<(Relation, String)>, MemoryError> {
    let pairs = match dir {
        Direction::Outgoing => scan(edges, id, rel.map(Relation::as_str))?,
        Direction::Incoming => scan(rev, id, rel.map(Relation::as_str))?,
    };
    pairs
        .into_iter()
        .map(|(r, other)| {
            Relation::parse(&r)
                .map(|r| (r, other))
                .ok_or_else(|| MemoryError::Corrupt {
                    table: "edges",
                    key: id.to_string(),
                    detail: format!("unknown relation {r}"),
                })
        })
        .collect()
}

/// The second and third parts of every key starting with `first` (and `second`, if given).
pub(crate) fn scan<V: redb::Value + 'static>(
    table: &ReadOnlyTable<Key3, V>,
    first: &str,
    second: Option<&str>,
) -> Result<Vec<(String, String)>, MemoryError> {
    let mut out = Vec::new();
    for item in table
        .range((first, second.unwrap_or(""), "")..)
        .map_err(db_err)?
    {
        let (k, _) = item.map_err(db_err)?;
        let (a, b, c) = k.value();
        if a != first || second.is_some_and(|s| s != b) {
            break;
        }
        out.push((b.to_string(), c.to_string()));
    }
    Ok(out)
}

/// Every fact about `subject`: one prefix range scan of the facts table.
fn facts_of(
    facts: &ReadOnlyTable<Key3, &'static [u8]>,
    subject: &str,
) -> Result<Vec<Fact>, MemoryError> {
    let mut out = Vec::new();
    for item in facts.range((subject, "", "")..).map_err(db_err)? {
        let (k, v) = item.map_err(db_err)?;
        let (s, _, id) = k.value();
        if s != subject {
            break;
        }
        out.push(decode("facts", id, v.value())?);
    }
    Ok(out)
}

fn fact_in(
    ids: &ReadOnlyTable<&'static str, (&'static str, &'static str)>,
    facts: &ReadOnlyTable<Key3, &'static [u8]>,
    id: &str,
) -> Result<Option<Fact>, MemoryError> {
    let Some(key) = ids.get(id).map_err(db_err)? else {
        return Ok(None);
    };
    let (subject, predicate) = key.value();
    match facts.get((subject, predicate, id)).map_err(db_err)? {
        Some(v) => decode("facts", id, v.value()).map(Some),
        None => Ok(None),
    }
}

fn collect_multimap(
    values: redb::MultimapValue<'static, &'static str>,
) -> Result<Vec<String>, MemoryError> {
    values
        .map(|v| v.map(|v| v.value().to_string()).map_err(db_err))
        .collect()
}
