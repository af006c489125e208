//! The command line: one top-level parser, with each family of subcommands flattened in from
//! its own module.

mod bench;
mod org;
mod tokens;

use clap::{Parser, Subcommand};

/// A software factory: the control plane around coding agents.
#[derive(Debug, Parser)]
#[command(name = "factory", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The example org and the deterministic agent.
    #[command(flatten)]
    Org(org::OrgCommand),
    /// Bearer tokens for the coordinator's HTTP API.
    Tokens(tokens::TokensArgs),
    /// Benchmarks.
    Bench(bench::BenchArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Org(cmd) => org::run(cmd),
        Command::Tokens(args) => tokens::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
