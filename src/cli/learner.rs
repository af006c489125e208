//! `factory learner`: list learned gates, setup steps and skills with their lineage and replay
//! verdicts, promote a version (a person's approval), or roll a slot back to its parent version.

use std::path::PathBuf;

use actors::learner::{self, LearnerConfig, PromotedBy};
use actors::memory::Time;
use anyhow::Result;
use protocol::run::GateMode;

use super::memory::open;

/// `factory learner`.
#[derive(Debug, clap::Args)]
pub struct LearnerArgs {
    /// State folder; memory lives in `memory.redb` inside it.
    #[arg(long)]
    state: PathBuf,
    #[command(subcommand)]
    command: LearnerCommand,
}

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub enum LearnerCommand {
    /// Every slot with its versions, the champion marked, and each version's verdict.
    List,
    /// Make a slot's champion (or newest proposal) the champion, in shadow mode or blocking; a
    /// skill or setup slot's newest version.
    Promote {
        /// The slot, e.g. `gate:contract/casing@backend->worker:order-events.v1` or `skill:backend`.
        slot: String,
        /// Let the gate block delivery.
        #[arg(long)]
        blocking: bool,
        /// Who approves (recorded in the promotion log); default `$USER`.
        #[arg(long)]
        by: Option<String>,
    },
    /// Move a slot's champion back to its parent version.
    Rollback {
        /// The slot.
        slot: String,
        /// Who asks (recorded in the promotion log); default `$USER`.
        #[arg(long)]
        by: Option<String>,
    },
}

/// Run `factory learner`.
pub fn run(args: LearnerArgs) -> Result<()> {
    let store = open(&args.state, false)?;
    let now = Time(coordinator::driver::now_unix_ms());
    let person = |by: Option<String>| {
        by.or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into())
    };
    match args.command {
        LearnerCommand::List => {
            let slots = learner::slot_summaries(&store)?;
            if slots.is_empty() {
                println!("nothing learned yet");
            }
            for (slot, champion) in slots {
                println!(
                    "{slot}  champion: {}",
                    champion.as_deref().unwrap_or("none")
                );
                for entry in learner::lineage(&store, &slot)? {
                    let mark = if entry.champion { "*" } else { " " };
                    let what = match (&entry.gate, &entry.setup, &entry.skill) {
                        (Some(g), _, _) => format!("{} {} {:?}", g.rule, g.param, g.mode),
                        (_, Some(s), _) => format!("`{}`", s.command),
                        (_, _, Some(t)) => skill_line(t, entry.artifact.parent.is_none()),
                        _ => String::new(),
                    };
                    let parent = entry.artifact.parent.as_deref().map_or("-", short);
                    println!("  {mark} {} <- {parent}  {what}", short(&entry.artifact.id));
                    if let Some(v) = &entry.verdict {
                        println!("      {v}");
                    }
                }
            }
        }
        LearnerCommand::Promote { slot, blocking, by } => {
            let mode = if blocking {
                GateMode::Blocking
            } else {
                GateMode::Shadow
            };
            let by = PromotedBy::Person(person(by));
            let p = learner::promote(&store, &slot, mode, &by, now, &LearnerConfig::default())?;
            println!("{slot}: champion is now {} ({})", short(&p.to), p.reason);
        }
        LearnerCommand::Rollback { slot, by } => {
            let p = learner::rollback(&store, &slot, now, &person(by))?;
            println!("{slot}: rolled back to {}", short(&p.to));
        }
    }
    Ok(())
}

/// What a skill version says: its last rule line (what it added), or that it is the default
/// template every learned version of the slot grows from.
fn skill_line(template: &str, root: bool) -> String {
    if root {
        return "the default template".into();
    }
    let last = template
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let cut: String = last.chars().take(160).collect();
    if cut.len() < last.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// `artifact:<64 hex>` -> `artifact:<12 hex>`, for listings.
fn short(id: &str) -> &str {
    id.get(..21).unwrap_or(id)
}
