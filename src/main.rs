//! `factory`: the command-line entry point. A thin dispatcher; each subcommand group lives in
//! its own file under `cli/`.

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// The server side of `bench http` (started by it as a child process).
    #[command(hide = true)]
    BenchHttpServer(cli::bench::HttpServerArgs),
    /// Run the coordinator: membership, shard map, RPC service.
    Coordinator(cli::cluster::CoordinatorArgs),
    /// Run a build-farm node that joins a coordinator.
    Node(cli::cluster::NodeArgs),
    /// Show the cluster's nodes and the repos each owns.
    Status(cli::cluster::StatusArgs),
    /// Run a throwaway local cluster (a coordinator and two nodes in this process over real
    /// QUIC), print its status and exit.
    Cluster(cli::cluster::ClusterArgs),
    /// The whole loop on the built-in example org, in one process; prints where the bundle is.
    Demo(cli::demo::DemoArgs),
    /// Submit an outcome to a running coordinator and follow it to the end.
    Ship(cli::runs::ShipArgs),
    /// List runs, or show one.
    Runs(cli::runs::RunsArgs),
    /// Print the plan for an outcome against an org, without running it.
    Plan(cli::runs::PlanArgs),
    /// Bearer tokens for the coordinator's HTTP API.
    Tokens(cli::tokens::TokensArgs),
    /// Read the organizational memory, export or import it.
    Memory(cli::memory::MemoryArgs),
    /// Learned gates and setup steps: list, promote, roll back.
    Learner(cli::learner::LearnerArgs),
    /// The example org and the deterministic agent.
    #[command(flatten)]
    Org(cli::org::OrgCommand),
}

fn main() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Kept to the end of `main`: dropping it flushes the spans still queued for export.
    let _telemetry = cli::init_tracing(matches.subcommand_name().unwrap_or("cli"));
    match cli.command {
        Command::Certs(cmd) => cli::certs::run(cmd),
        Command::Bench(cmd) => cli::bench::run(cmd),
        Command::BenchRpcServer(args) => cli::bench::serve(args),
        Command::BenchHttpServer(args) => cli::bench::serve_http(args),
        Command::Coordinator(args) => cli::cluster::block_on(cli::cluster::coordinator(args)),
        Command::Node(args) => cli::cluster::block_on(cli::cluster::node(args)),
        Command::Status(args) => cli::cluster::block_on(cli::cluster::status(args)),
        Command::Cluster(args) => cli::cluster::block_on(cli::cluster::cluster(args)),
        Command::Org(cmd) => cli::org::run(cmd),
        Command::Tokens(args) => cli::tokens::run(args),
        Command::Demo(args) => cli::cluster::block_on(cli::demo::demo(args)),
        Command::Ship(args) => cli::cluster::block_on(cli::runs::ship(args)),
        Command::Runs(args) => cli::cluster::block_on(cli::runs::runs(args)),
        Command::Plan(args) => cli::runs::plan(args),
        Command::Memory(args) => cli::memory::run(args),
        Command::Learner(args) => cli::learner::run(args),
    }
}
