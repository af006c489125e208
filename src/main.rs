//! `factory`: the command-line entry point.

mod cli;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// The factory: the control plane around coding agents.
#[derive(Parser)]
#[command(name = "factory", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the coordinator: membership, shard map, RPC service.
    Coordinator(cli::cluster::CoordinatorArgs),
    /// Run a build-farm node that joins a coordinator.
    Node(cli::cluster::NodeArgs),
    /// Show the cluster's nodes and the repos each owns.
    Status(cli::cluster::StatusArgs),
    /// Run a throwaway local cluster (a coordinator and two nodes in this process), print its
    /// status and exit.
    Cluster(cli::cluster::ClusterArgs),
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Coordinator(args) => cli::cluster::coordinator(args).await,
            Command::Node(args) => cli::cluster::node(args).await,
            Command::Status(args) => cli::cluster::status(args).await,
            Command::Cluster(args) => cli::cluster::cluster(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout carries readiness lines and command output); `RUST_LOG` filters,
/// `info` by default.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
