//! `factory memory`: read the organizational memory in `<state>/memory.redb`, export it as JSON
//! or import an export.

use std::path::{Path, PathBuf};

use actors::memory::{Direction, EntityKind, Fact, MemoryStore};
use anyhow::{Context, Result, bail};

/// `factory memory`.
#[derive(Debug, clap::Args)]
pub struct MemoryArgs {
    /// State folder; memory lives in `memory.redb` inside it.
    #[arg(long)]
    state: PathBuf,
    #[command(subcommand)]
    query: MemoryQuery,
}

/// What to show or do.
#[derive(Debug, clap::Subcommand)]
pub enum MemoryQuery {
    /// A repo: its attributes, edges and open facts.
    Repo {
        /// Repo name.
        name: String,
    },
    /// A contract: its attributes, edges and open facts (observed fields, mismatches).
    Contract {
        /// Contract name.
        name: String,
    },
    /// Failures recorded against a repo, open and closed, oldest first.
    Failures {
        /// Repo name.
        name: String,
    },
    /// One fact in full, as JSON.
    Fact {
        /// Fact id.
        id: String,
    },
    /// The whole store as JSON on stdout.
    Export,
    /// Load a JSON export into the store.
    Import {
        /// The export file.
        file: PathBuf,
    },
}

/// The memory file of a state folder.
pub fn memory_path(state: &Path) -> PathBuf {
    state.join("memory.redb")
}

/// Open the memory of a state folder, creating the folder when asked to write.
pub fn open(state: &Path, create: bool) -> Result<MemoryStore> {
    let path = memory_path(state);
    if !path.exists() && !create {
        bail!("no memory at {} (nothing learned yet?)", path.display());
    }
    std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
    Ok(MemoryStore::open(&path)?)
}

/// Run `factory memory`.
pub fn run(args: MemoryArgs) -> Result<()> {
    let create = matches!(args.query, MemoryQuery::Import { .. });
    let store = open(&args.state, create)?;
    match args.query {
        MemoryQuery::Repo { name } => show(&store, &EntityKind::Repo.id(&name)),
        MemoryQuery::Contract { name } => show(&store, &EntityKind::Contract.id(&name)),
        MemoryQuery::Failures { name } => {
            let facts = store.facts_about(&EntityKind::Repo.id(&name))?;
            let mut failures: Vec<&Fact> = facts
                .iter()
                .filter(|f| {
                    f.predicate.starts_with("failure.") || f.predicate == "setup.missing-step"
                })
                .collect();
            failures.sort_by_key(|f| (f.valid_from, f.id.clone()));
            if failures.is_empty() {
                println!("no failures recorded for {name}");
            }
            for f in failures {
                print_fact(f);
            }
            Ok(())
        }
        MemoryQuery::Fact { id } => {
            let fact = store.fact(&id)?.with_context(|| format!("no fact {id}"))?;
            println!("{}", serde_json::to_string_pretty(&fact)?);
            Ok(())
        }
        MemoryQuery::Export => {
            println!("{}", store.export_json()?);
            Ok(())
        }
        MemoryQuery::Import { file } => {
            let json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            store.import_json(&json)?;
            println!(
                "imported {} into {}",
                file.display(),
                memory_path(&args.state).display()
            );
            Ok(())
        }
    }
}

fn show(store: &MemoryStore, id: &str) -> Result<()> {
    let Some(e) = store.entity(id)? else {
        bail!("memory has no {id}");
    };
    println!("{} ({})", e.id, e.kind.as_str());
    for (k, v) in &e.attrs {
        println!("  {k}: {v}");
    }
    for dir in [Direction::Outgoing, Direction::Incoming] {
        for edge in store.neighbours(id, None, dir)? {
            let (rel, other) = match dir {
                Direction::Outgoing => (edge.rel.as_str(), &edge.dst),
                Direction::Incoming => (edge.rel.reverse_name(), &edge.src),
            };
            let attrs: Vec<String> = edge.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  --{rel}--> {other} {}", attrs.join(" "));
        }
    }
    for f in store.facts_about(id)?.iter().filter(|f| f.is_open()) {
        print_fact(f);
    }
    Ok(())
}

fn print_fact(f: &Fact) {
    let state = if f.is_open() { "open" } else { "closed" };
    let run = f.provenance.run.as_deref().unwrap_or("-");
    let step = f.provenance.step.as_deref().unwrap_or("-");
    println!(
        "  [{state} {:.2}] {} = {}\n      {} (run {run}, {step}, {:?}, from {})",
        f.confidence, f.predicate, f.object, f.id, f.provenance.method, f.provenance.source
    );
}
