//! Planner benchmark: `plan()` for an outcome touching one contract, on a generated org of 1,000
//! repos and 5,000 contracts (one provider, 1-5 consumers, about 10 fields each), against a
//! baseline of `org.flows()` over the same org. Run with `cargo bench -p factory-actors --bench plan`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use factory_actors::org::{Commands, Consumed, Manifest, Medium, Org, Provided, Repo, UnitKind};
use factory_actors::outcome::{ChangeSpec, Outcome};
use factory_actors::plan::plan;
use serde_json::json;

const REPOS: usize = 1_000;
const CONTRACTS: usize = 5_000;
const FIELDS: usize = 10;
const ITERATIONS: usize = 200;

/// xorshift64: deterministic, so every run plans the same org.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn field_name(i: usize) -> String {
    format!("field_{i}")
}

fn generate(rng: &mut Rng) -> Org {
    let mut repos: Vec<Repo> = (0..REPOS)
        .map(|i| Repo {
            name: format!("repo-{i}"),
            origin: format!("repos/repo-{i}"),
            owner: format!("team-{}", i % 50),
            manifest: Manifest {
                kind: UnitKind::Service,
                deploy_after: if i > 0 && i % 10 == 0 {
                    vec![format!("repo-{}", i - 1)]
                } else {
                    Vec::new()
                },
                commands: Commands {
                    test: "make test".into(),
                    ..Commands::default()
                },
                provides: Vec::new(),
                consumes: Vec::new(),
                ui_pages: Vec::new(),
            },
        })
        .collect();
    for c in 0..CONTRACTS {
        let contract = format!("contract-{c}.v1");
        let types = ["string", "integer", "number", "boolean"];
        let properties: serde_json::Map<String, serde_json::Value> = (0..FIELDS)
            .map(|f| (field_name(f), json!({"type": types[f % types.len()]})))
            .collect();
        let required: Vec<String> = (0..FIELDS).map(field_name).collect();
        let provider = c % REPOS;
        let medium = if c % 3 == 0 {
            Medium::Event {
                channel: format!("ch-{c}"),
                trigger: None,
            }
        } else {
            Medium::Http {
                method: "GET".into(),
                path: format!("/c/{c}"),
            }
        };
        repos[provider].manifest.provides.push(Provided {
            contract: contract.clone(),
            medium,
            schema_path: format!("contracts/{contract}.json").into(),
            schema: json!({"type": "object", "required": required, "properties": properties}),
        });
        for _ in 0..(1 + rng.below(5)) {
            let mut consumer = rng.below(REPOS);
            if consumer == provider {
                consumer = (consumer + 1) % REPOS;
            }
            let reads = (0..3).map(|_| field_name(rng.below(FIELDS))).collect();
            repos[consumer].manifest.consumes.push(Consumed {
                contract: contract.clone(),
                reads,
            });
        }
    }
    Org {
        name: "bench".into(),
        repos,
    }
}

/// Runs each job `ITERATIONS` times, interleaved so that load from other processes hits every
/// job alike, and returns each job's sorted durations.
fn time(jobs: &mut [&mut dyn FnMut()]) -> Vec<Vec<Duration>> {
    let mut out = vec![Vec::with_capacity(ITERATIONS); jobs.len()];
    for _ in 0..ITERATIONS {
        for (job, times) in jobs.iter_mut().zip(out.iter_mut()) {
            let start = Instant::now();
            job();
            times.push(start.elapsed());
        }
    }
    for times in &mut out {
        times.sort();
    }
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let start = Instant::now();
    let org = generate(&mut rng);
    let flows = org.flows().len();
    println!(
        "org: {REPOS} repos, {CONTRACTS} contracts, {flows} flows (generated in {:.0} ms)",
        ms(start.elapsed())
    );
    let outcomes = [
        (
            "add (writer first)",
            "add contract-42.v1 createdAt string:date-time",
        ),
        (
            "rename (expand/migrate/contract)",
            "rename contract-42.v1 field_0 fieldZero",
        ),
    ];
    let outcomes: Vec<Outcome> = outcomes
        .iter()
        .map(|(label, change)| {
            let change: ChangeSpec = match change.parse() {
                Ok(c) => c,
                Err(e) => panic!("benchmark change does not parse: {e}"),
            };
            let outcome = Outcome {
                title: label.to_string(),
                description: String::new(),
                changes: vec![change],
            };
            if let Err(e) = plan(&org, &outcome, &[]) {
                panic!("benchmark outcome does not plan: {e}");
            }
            outcome
        })
        .collect();
    let mut baseline = || {
        black_box(org.flows());
    };
    let mut add = || {
        let _ = black_box(plan(&org, &outcomes[0], &[]));
    };
    let mut rename = || {
        let _ = black_box(plan(&org, &outcomes[1], &[]));
    };
    let timings = time(&mut [&mut baseline, &mut add, &mut rename]);
    let base = &timings[0];
    println!(
        "baseline org.flows(): p50 {:.3} ms, p99 {:.3} ms ({ITERATIONS} iterations)",
        ms(pct(base, 0.5)),
        ms(pct(base, 0.99))
    );
    for (outcome, t) in outcomes.iter().zip(&timings[1..]) {
        let (p50, p99) = (pct(t, 0.5), pct(t, 0.99));
        println!(
            "plan() {}: p50 {:.3} ms, p99 {:.3} ms, p50 ratio to baseline {:.2}x, goal < 200 ms: {}",
            outcome.title,
            ms(p50),
            ms(p99),
            p50.as_secs_f64() / pct(base, 0.5).as_secs_f64(),
            if p99 < Duration::from_millis(200) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}
