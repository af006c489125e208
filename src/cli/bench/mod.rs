//! `factory bench`: benchmarks against a baseline measured in the same run.
//!
//! `bench rpc` starts `factory bench-rpc-server` as a child process (so client and server do not
//! share a runtime), waits for its readiness line, and times calls over real QUIC with mutual TLS.
//! `bench http` does the same with `factory bench-http-server` and HTTP over TCP.
//! `bench failover` times a task's failover from a killed node and a coordinator resuming runs
//! from its store (see BENCHMARKS.md).

mod baseline;
mod demo;
mod failover;
mod http;
mod http_server;
mod measure;
mod recovery;

pub use http_server::{HttpServerArgs, serve as serve_http};

use actors::net::{Endpoint, EndpointConfig, Identity, PingHandler, Validity, certs};
use anyhow::Context;
use clap::{Args, Subcommand};
use protocol::Body;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Benchmark subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// RPC calls/s and latency: factory request/reply vs. a bare quinn echo.
    Rpc {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
    /// The factory's own overhead on the demo run: wall time minus process time on the critical path.
    Demo {
        /// How many demo runs.
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
    /// Failover of a task from a killed node (vs. failure detection), and a coordinator resuming
    /// in-flight runs from its store (vs. a bare read of the same records).
    Failover {
        /// Kill-and-failover rounds, each on a fresh cluster of child processes.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// In-flight runs in the store for the recovery measurement.
        #[arg(long, default_value_t = 1000)]
        runs: usize,
    },
    /// Submit-to-acknowledge latency and status calls/s of the HTTP API with concurrent bots,
    /// from this process against `factory bench-http-server`, vs. a bare axum baseline.
    Http {
        /// Concurrent bots, each on its own keep-alive connection with one request in flight.
        #[arg(long, default_value_t = 100)]
        bots: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

/// Arguments of the hidden `bench-rpc-server` subcommand.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Certificate directory with the CA and `bench-server` certificate.
    #[arg(long)]
    certs: PathBuf,
}

const SERVER: &str = "bench-server";
const CLIENT: &str = "bench-client";
const READY: &str = "ready";
const PAYLOAD: [u8; 32] = [7; 32];
const IN_FLIGHT: usize = 64;

/// Runs a benchmark subcommand.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Rpc { seconds } => rpc(Duration::from_secs(seconds)),
        BenchCommand::Demo { runs } => demo::run(runs),
        BenchCommand::Failover { rounds, runs } => failover::run(rounds, runs),
        BenchCommand::Http { bots, seconds } => http::run(bots, Duration::from_secs(seconds)),
    }
}

/// The child: serves the factory endpoint and the bare echo until stdin closes.
pub fn serve(args: ServerArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async {
        let config = EndpointConfig::default();
        let endpoint = Endpoint::bind(
            config.clone(),
            Identity::load(&args.certs, SERVER)?,
            PingHandler,
        )?;
        let echo = baseline::serve(&config, &Identity::load(&args.certs, SERVER)?)?;
        println!(
            "{READY} factory={} baseline={}",
            endpoint.local_addr()?,
            echo.local_addr()?
        );
        // The parent holds our stdin; when it goes away, so do we.
        let mut sink = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut sink).await?;
        anyhow::Ok(())
    })
}

/// A benchmark server started as a child process (`factory <args>`), killed when dropped. It
/// prints one readiness line of `key=addr` pairs, and stops by itself when its stdin closes.
pub(crate) struct ServerProcess {
    child: Child,
    ready: String,
}

impl ServerProcess {
    pub(crate) fn start(args: &[&std::ffi::OsStr], stderr: Stdio) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {args:?}"))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut ready = String::new();
        // A child that dies first closes its stdout, so this returns rather than hangs.
        BufReader::new(stdout).read_line(&mut ready)?;
        anyhow::ensure!(!ready.is_empty(), "{args:?} exited before it was ready");
        Ok(Self { child, ready })
    }

    /// The address given as `key=ADDR` in the readiness line.
    pub(crate) fn addr(&self, key: &str) -> anyhow::Result<SocketAddr> {
        let value = self
            .ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .with_context(|| format!("no {key}= in readiness line {:?}", self.ready))?;
        Ok(value.parse()?)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rpc(duration: Duration) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    certs::init_ca(dir.path())?;
    certs::issue(dir.path(), SERVER, Validity::days(1))?;
    certs::issue(dir.path(), CLIENT, Validity::days(1))?;
    let server = ServerProcess::start(
        &[
            "bench-rpc-server".as_ref(),
            "--certs".as_ref(),
            dir.path().as_os_str(),
        ],
        Stdio::inherit(),
    )?;
    let rows =
        tokio::runtime::Runtime::new()?.block_on(measure_all(dir.path(), &server, duration))?;
    println!("{}", measure::table(&rows));
    Ok(())
}

async fn measure_all(
    dir: &std::path::Path,
    server: &ServerProcess,
    duration: Duration,
) -> anyhow::Result<Vec<measure::Row>> {
    let config = EndpointConfig::default();
    let client = Endpoint::bind(config.clone(), Identity::load(dir, CLIENT)?, PingHandler)?;
    let echo = baseline::connect(
        &config,
        &Identity::load(dir, CLIENT)?,
        server.addr("baseline")?,
    )
    .await?;
    let addr = server.addr("factory")?;
    let factory_call = move || {
        let client = client.clone();
        async move {
            let body = Body::Ping {
                payload: PAYLOAD.to_vec(),
            };
            match client
                .call(addr, "bench", body, Duration::from_secs(5))
                .await?
            {
                Body::Pong { .. } => Ok(()),
                other => anyhow::bail!("unexpected reply {}", other.kind()),
            }
        }
    };
    let echo_call = move || {
        let echo = echo.clone();
        async move { baseline::echo(&echo, &PAYLOAD).await }
    };
    let warmup = Duration::from_millis(500);
    measure::run(warmup, IN_FLIGHT, factory_call.clone()).await?;
    measure::run(warmup, IN_FLIGHT, echo_call.clone()).await?;
    let mut rows = Vec::new();
    for (mode, in_flight) in [
        ("sequential".to_string(), 1),
        (format!("{IN_FLIGHT} in flight"), IN_FLIGHT),
    ] {
        let f = measure::run(duration, in_flight, factory_call.clone()).await?;
        let b = measure::run(duration, in_flight, echo_call.clone()).await?;
        rows.push((mode.clone(), "factory", f));
        rows.push((mode, "baseline", b));
    }
    Ok(rows)
}
