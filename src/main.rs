//! `factory`: the command-line entry point. A thin dispatcher; each subcommand group lives in
//! its own file under `cli/`.

mod cli;

use clap::{Parser, Subcommand};

/// A software factory: the control plane around coding agents.
#[derive(Debug, Parser)]
#[command(name = "factory", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the cluster CA and node certificates.
    #[command(subcommand)]
    Certs(cli::certs::CertsCommand),
    /// Run benchmarks.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
    /// The server side of `bench rpc` (started by it as a child process).
    #[command(hide = true)]
    BenchRpcServer(cli::bench::ServerArgs),
}

fn main() -> anyhow::Result<()> {
    cli::init_tracing();
    match Cli::parse().command {
        Command::Certs(cmd) => cli::certs::run(cmd),
        Command::Bench(cmd) => cli::bench::run(cmd),
        Command::BenchRpcServer(args) => cli::bench::serve(args),
    }
}
