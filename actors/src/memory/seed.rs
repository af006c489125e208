//! Seeding memory from the org model: what the catalog and manifests declare.

use std::collections::BTreeMap;

use super::model::{Edge, Entity, EntityKind, Relation};
use super::write::Write;
use crate::org::model::{Medium, Org};

/// The writes that put an org's declared structure into memory: teams, repos, contracts, and
/// the owns / provides / consumes / reads / depends_on edges between them. Entities come before
/// the edges that use them; apply the result as one batch.
pub fn seed_from_org(org: &Org) -> Vec<Write> {
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    let mut edges = Vec::new();
    for repo in &org.repos {
        let team = Entity::new(EntityKind::Team, &repo.owner);
        let unit = format!("{:?}", repo.manifest.kind).to_lowercase();
        let r = Entity::new(EntityKind::Repo, &repo.name)
            .with_attr("unit", &unit)
            .with_attr("origin", &repo.origin);
        edges.push(Edge::new(&team.id, Relation::Owns, &r.id));
        for p in &repo.manifest.provides {
            let (medium, at) = match &p.medium {
                Medium::Http { method, path } => ("http", format!("{method} {path}")),
                Medium::Event { channel, .. } => ("event", channel.clone()),
                Medium::Table { table } => ("table", table.clone()),
            };
            let c = Entity::new(EntityKind::Contract, &p.contract)
                .with_attr("medium", medium)
                .with_attr("at", &at)
                .with_attr("provider", &repo.name)
                .with_attr("schema", &p.schema_path.display().to_string());
            edges.push(Edge::new(&r.id, Relation::Provides, &c.id));
            entities.insert(c.id.clone(), c);
        }
        for c in &repo.manifest.consumes {
            let id = EntityKind::Contract.id(&c.contract);
            entities
                .entry(id.clone())
                .or_insert_with(|| Entity::new(EntityKind::Contract, &c.contract));
            edges.push(Edge::new(&r.id, Relation::Consumes, &id));
            let mut reads = Edge::new(&r.id, Relation::Reads, &id);
            reads.attrs.insert("fields".into(), c.reads.join(","));
            edges.push(reads);
        }
        entities.insert(team.id.clone(), team);
        entities.insert(r.id.clone(), r);
    }
    // One depends_on edge per reader and writer, listing every contract between them.
    let mut deps: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for flow in org.flows() {
        if flow.reader != flow.writer {
            deps.entry((flow.reader, flow.writer))
                .or_default()
                .push(flow.contract);
        }
    }
    for ((reader, writer), contracts) in deps {
        let mut e = Edge::new(
            &EntityKind::Repo.id(&reader),
            Relation::DependsOn,
            &EntityKind::Repo.id(&writer),
        );
        e.attrs.insert("contracts".into(), contracts.join(","));
        edges.push(e);
    }
    entities
        .into_values()
        .map(Write::PutEntity)
        .chain(edges.into_iter().map(Write::PutEdge))
        .collect()
}
