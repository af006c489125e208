//! Memory store benchmark: ingest rate of facts and latency of the planner's context query on a
//! graph of about 5,000 entities and 100,000 facts, against plain redb reads on the same machine.
//!
//! Run: `cargo bench -p factory-actors --bench memory`. Prints a Markdown table.

use std::time::{Duration, Instant};

use factory_actors::memory::{
    Edge, Entity, EntityKind, Fact, MemoryStore, Method, Provenance, Relation, Time, Write,
};
use redb::{Database, ReadableDatabase, TableDefinition};

const REPOS: usize = 2_000;
const CONTRACTS: usize = 2_000;
const TEAMS: usize = 100;
const SERVICES: usize = 900;
const FACTS: usize = 100_000;
const BATCH: usize = 1_000;
const QUERIES: usize = 2_000;

/// xorshift64*: a fixed-seed generator so every run builds the same graph.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

fn repo(i: usize) -> String {
    format!("repo-{i}")
}

fn contract(i: usize) -> String {
    format!("api-{i}.v1")
}

/// Entities and edges: each contract has one provider and three consumers (consumes, reads and
/// depends_on edges), teams own repos, services are built from repos.
fn graph(rng: &mut Rng) -> Vec<Write> {
    let mut w = Vec::new();
    for i in 0..TEAMS {
        w.push(Write::PutEntity(Entity::new(
            EntityKind::Team,
            &format!("team-{i}"),
        )));
    }
    for i in 0..REPOS {
        let r = Entity::new(EntityKind::Repo, &repo(i));
        let team = EntityKind::Team.id(&format!("team-{}", i % TEAMS));
        w.push(Write::PutEdge(Edge::new(&team, Relation::Owns, &r.id)));
        w.push(Write::PutEntity(r));
    }
    for i in 0..SERVICES {
        let s = Entity::new(EntityKind::Service, &format!("svc-{i}"));
        let r = EntityKind::Repo.id(&repo(rng.below(REPOS)));
        w.push(Write::PutEdge(Edge::new(&s.id, Relation::DependsOn, &r)));
        w.push(Write::PutEntity(s));
    }
    for i in 0..CONTRACTS {
        let c = Entity::new(EntityKind::Contract, &contract(i));
        let writer = EntityKind::Repo.id(&repo(i % REPOS));
        w.push(Write::PutEdge(Edge::new(
            &writer,
            Relation::Provides,
            &c.id,
        )));
        for _ in 0..3 {
            let reader = EntityKind::Repo.id(&repo(rng.below(REPOS)));
            w.push(Write::PutEdge(Edge::new(
                &reader,
                Relation::Consumes,
                &c.id,
            )));
            let mut reads = Edge::new(&reader, Relation::Reads, &c.id);
            reads
                .attrs
                .insert("fields".into(), "id,total,items[].sku".into());
            w.push(Write::PutEdge(reads));
            w.push(Write::PutEdge(Edge::new(
                &reader,
                Relation::DependsOn,
                &writer,
            )));
        }
        w.push(Write::PutEntity(c));
    }
    w
}

fn subjects() -> Vec<String> {
    (0..TEAMS)
        .map(|i| EntityKind::Team.id(&format!("team-{i}")))
        .chain((0..REPOS).map(|i| EntityKind::Repo.id(&repo(i))))
        .chain((0..SERVICES).map(|i| EntityKind::Service.id(&format!("svc-{i}"))))
        .chain((0..CONTRACTS).map(|i| EntityKind::Contract.id(&contract(i))))
        .collect()
}

/// Fact `n`: about one of the entities, one of 16 predicates; later facts on the same subject
/// and predicate with another object contradict earlier ones, as re-observation would.
fn fact(n: usize, subjects: &[String], rng: &mut Rng) -> Fact {
    let subject = &subjects[rng.below(subjects.len())];
    let predicate = format!("field.f{}.type", rng.below(16));
    let object = ["string", "number", "integer", "boolean"][rng.below(4)];
    let prov = Provenance {
        run: Some(format!("run-{}", n / BATCH)),
        step: Some("verify".into()),
        agent: "verifier".into(),
        source: format!("{subject}@0123abcd:contracts/schema.json"),
        method: [
            Method::Declared,
            Method::Observed,
            Method::Inferred,
            Method::Model,
        ][n % 4],
    };
    Fact::new(
        &format!("fact:{n:08}"),
        subject,
        &predicate,
        object,
        prov,
        Time(n as u64),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Time `op` `n` times; sorted durations.
fn sample(n: usize, mut op: impl FnMut(usize)) -> Vec<Duration> {
    let mut out: Vec<Duration> = (0..n)
        .map(|i| {
            let t = Instant::now();
            op(i);
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = MemoryStore::open(&dir.path().join("memory.redb"))?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let t = Instant::now();
    let graph_writes = graph(&mut rng);
    let n_graph = graph_writes.len();
    store.apply(graph_writes)?;
    let graph_time = t.elapsed();

    let subjects = subjects();
    let facts: Vec<Fact> = (0..FACTS).map(|n| fact(n, &subjects, &mut rng)).collect();
    let t = Instant::now();
    let (mut recorded, mut closed) = (0, 0);
    for chunk in facts.chunks(BATCH) {
        let s = store.apply(chunk.iter().cloned().map(Write::RecordFact).collect())?;
        recorded += s.facts_recorded.len();
        closed += s.facts_closed.len();
    }
    let ingest = t.elapsed();

    // Context queries: one repo and one contract, chosen at random.
    let picks: Vec<(String, String)> = (0..QUERIES)
        .map(|_| (repo(rng.below(REPOS)), contract(rng.below(CONTRACTS))))
        .collect();
    let mut returned = 0usize;
    for (r, c) in picks.iter().take(200) {
        store.context_for(&[r], &[c])?; // warm the page cache
    }
    let ctx = sample(QUERIES, |i| {
        let (r, c) = &picks[i];
        returned += store.context_for(&[r], &[c]).map(|f| f.len()).unwrap_or(0);
    });
    let avg_returned = returned / QUERIES;

    // Baseline: the same fact bytes in a plain redb table in its own file.
    const PLAIN: TableDefinition<&str, &[u8]> = TableDefinition::new("plain");
    let plain = Database::create(dir.path().join("plain.redb"))?;
    let tx = plain.begin_write()?;
    {
        let mut table = tx.open_table(PLAIN)?;
        for f in &facts {
            table.insert(f.id.as_str(), rmp_serde::to_vec_named(f)?.as_slice())?;
        }
    }
    tx.commit()?;
    let keys: Vec<String> = (0..QUERIES)
        .map(|_| facts[rng.below(FACTS)].id.clone())
        .collect();
    let get = sample(QUERIES, |i| {
        let tx = plain.begin_read().expect("read");
        let table = tx.open_table(PLAIN).expect("table");
        std::hint::black_box(
            table
                .get(keys[i].as_str())
                .expect("get")
                .map(|v| v.value().len()),
        );
    });
    let scan = sample(QUERIES, |i| {
        let tx = plain.begin_read().expect("read");
        let table = tx.open_table(PLAIN).expect("table");
        let mut bytes = 0;
        for item in table
            .range(keys[i].as_str()..)
            .expect("range")
            .take(avg_returned.max(1))
        {
            let (_, v) = item.expect("item");
            let f: Fact = rmp_serde::from_slice(v.value()).expect("decode");
            bytes += f.object.len();
        }
        std::hint::black_box(bytes);
    });

    let rate = FACTS as f64 / ingest.as_secs_f64();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| graph: entities + edges written (one transaction) | {n_graph} in {:.0} ms |",
        graph_time.as_secs_f64() * 1e3
    );
    println!(
        "| facts ingested, batches of {BATCH} | {FACTS} in {:.2} s = **{rate:.0} facts/s** ({recorded} recorded, {closed} closed as contradicted) |",
        ingest.as_secs_f64()
    );
    println!(
        "| context_for(1 repo, 1 contract), {QUERIES} queries, ~{avg_returned} open facts each | p50 {} / **p99 {}** / max {} |",
        us(percentile(&ctx, 0.5)),
        us(percentile(&ctx, 0.99)),
        us(percentile(&ctx, 1.0))
    );
    println!(
        "| baseline: plain redb get of one key | p50 {} / p99 {} |",
        us(percentile(&get, 0.5)),
        us(percentile(&get, 0.99))
    );
    println!(
        "| baseline: plain redb range scan of {avg_returned} keys + decode | p50 {} / p99 {} |",
        us(percentile(&scan, 0.5)),
        us(percentile(&scan, 0.99))
    );
    println!(
        "| ratio context_for / range scan (p50, p99) | {:.1}x, {:.1}x |",
        percentile(&ctx, 0.5).as_secs_f64() / percentile(&scan, 0.5).as_secs_f64(),
        percentile(&ctx, 0.99).as_secs_f64() / percentile(&scan, 0.99).as_secs_f64()
    );
    let goal = percentile(&ctx, 0.99) < Duration::from_millis(2);
    println!(
        "| goal: context_for p99 < 2 ms | {} |",
        if goal { "met" } else { "NOT met" }
    );
    // The machine may be shared: the load average says how far to trust the tail.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "| load average (1, 5, 15 min), {cores} cores | {} |",
            load.join(", ")
        );
    }
    Ok(())
}
