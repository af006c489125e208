//! `factory bench http`: what a chat bot waits for. This process is the load client; the server
//! is another process (`factory bench-http-server`, see [`super::http_server`]) serving the
//! factory's HTTP API over the durable run store and, beside it, a bare axum baseline.
//!
//! Each bot holds one keep-alive connection with one request in flight. Two measurements per
//! server: submits (`POST /v1/runs` until the 202 is read: the acknowledgement a bot waits for),
//! then status calls (`GET /v1/runs/{id}` of the bot's own run).

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use coordinator::tokens::{Scope, TokenStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ServerProcess;
use super::measure::{Sample, summarize};

/// The goal: a bot's submit is acknowledged within this, at the 99th percentile.
const GOAL_P99_ACK: Duration = Duration::from_millis(50);
/// Largest response head and body read, in bytes; the bench's answers are a few hundred.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Longest one request may take before the bench gives up on the run.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The outcome every bot submits: the demo's.
const SUBMIT_BODY: &str = r#"{"title":"expose the order creation time","change_specs":["add orders.v1 createdAt string:date-time","add order-events.v1 createdAt string:date-time"]}"#;

/// Run the HTTP benchmark with `bots` concurrent bots for `duration` per measurement.
pub fn run(bots: usize, duration: Duration) -> anyhow::Result<()> {
    if bots == 0 || duration.is_zero() {
        bail!("--bots and --seconds must be at least 1");
    }
    let state = tempfile::tempdir()?;
    let token = TokenStore::new(state.path()).add("bench-bot", vec![Scope::Submit, Scope::Read])?;
    let log = std::fs::File::create(state.path().join("server.log"))?;
    let server = ServerProcess::start(
        &[
            "bench-http-server".as_ref(),
            "--state".as_ref(),
            state.path().as_os_str(),
        ],
        Stdio::from(log),
    )?;
    let targets = [
        ("factory", server.addr("factory")?),
        ("baseline", server.addr("baseline")?),
    ];
    let runtime = tokio::runtime::Runtime::new()?;
    let mut results = Vec::new();
    for (name, addr) in targets {
        let (submit, status) = runtime
            .block_on(measure(addr, &token, bots, duration))
            .with_context(|| format!("measuring {name}"))?;
        results.push((name, submit, status));
    }
    drop(server);
    print_report(bots, duration, &results);
    Ok(())
}

/// Warm up, then time submits, then status calls, each for `duration`.
async fn measure(
    addr: SocketAddr,
    token: &str,
    bots: usize,
    duration: Duration,
) -> anyhow::Result<(Sample, Sample)> {
    let submit = format!(
        "POST /v1/runs HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{SUBMIT_BODY}",
        SUBMIT_BODY.len()
    );
    let mut connected = Vec::with_capacity(bots);
    for _ in 0..bots {
        connected.push(Bot::connect(addr).await?);
    }
    // Warm-up: connections, the server's caches and the store's first pages.
    let (connected, _) =
        all_bots(connected, Duration::from_millis(500), |_| submit.clone()).await?;
    let started = Instant::now();
    let (connected, submits) = all_bots(connected, duration, |_| submit.clone()).await?;
    let submits = summarize(submits, started.elapsed())?;
    let started = Instant::now();
    let (_, statuses) = all_bots(connected, duration, |bot| {
        format!(
            "GET /v1/runs/{} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n",
            bot.run_id
        )
    })
    .await?;
    Ok((submits, summarize(statuses, started.elapsed())?))
}

/// Every bot sends the request `request(bot)` back to back until `duration` has passed; returns
/// the bots (to reuse their connections) and every latency.
async fn all_bots(
    bots: Vec<Bot>,
    duration: Duration,
    request: impl Fn(&Bot) -> String,
) -> anyhow::Result<(Vec<Bot>, Vec<Duration>)> {
    let end = Instant::now() + duration;
    let mut tasks = Vec::with_capacity(bots.len());
    for mut bot in bots {
        let request = request(&bot).into_bytes();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < end {
                latencies.push(bot.call(&request).await?);
            }
            anyhow::Ok((bot, latencies))
        }));
    }
    let (mut done, mut all) = (Vec::with_capacity(tasks.len()), Vec::new());
    for task in tasks {
        let (bot, latencies) = task.await??;
        done.push(bot);
        all.extend(latencies);
    }
    Ok((done, all))
}

/// One bot: a keep-alive connection and the id of the last run it submitted.
struct Bot {
    stream: TcpStream,
    buf: Vec<u8>,
    run_id: String,
}

impl Bot {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Bot> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Bot {
            stream,
            buf: Vec::with_capacity(4096),
            run_id: String::new(),
        })
    }

    /// Send one request and read its answer; the time from the first byte written to the last
    /// byte read. Fails on an answer other than 2xx.
    async fn call(&mut self, request: &[u8]) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let exchange = async {
            self.stream.write_all(request).await?;
            read_response(&mut self.stream, &mut self.buf).await
        };
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .context("no answer within the call timeout")??;
        let elapsed = start.elapsed();
        let body = &self.buf[body..];
        if !(200..300).contains(&status) {
            bail!("answered {status}: {}", String::from_utf8_lossy(body));
        }
        if status == 202
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
            && let Some(id) = v["run_id"].as_str()
        {
            self.run_id = id.to_string();
        }
        Ok(elapsed)
    }
}

/// Read one response with a Content-Length body into `buf`; returns its status and where the
/// body starts.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<(u16, usize)> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .context("no status")?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .context("no content-length")?;
            if length > MAX_RESPONSE_BYTES {
                bail!("a {length}-byte answer");
            }
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed mid-body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok((status, end + 4));
        }
        if buf.len() > MAX_RESPONSE_BYTES {
            bail!("no end of the response head");
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the answer");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn print_report(bots: usize, duration: Duration, results: &[(&str, Sample, Sample)]) {
    println!(
        "{bots} bots, {} s per measurement, client and server in separate processes\n",
        duration.as_secs()
    );
    println!("| server | call | calls/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for (name, submit, status) in results {
        for (call, s) in [("submit (ack)", submit), ("status", status)] {
            println!(
                "| {name} | {call} | {:.0} | {} | {} | {} |",
                s.calls_per_s,
                ms(s.p50),
                ms(s.p99),
                ms(s.max)
            );
        }
    }
    if let [(_, fs, ft), (_, bs, bt)] = results {
        println!(
            "\nfactory/baseline: submit calls/s {:.2}, submit p99 {:.1}x; status calls/s {:.2}, \
             status p99 {:.1}x",
            fs.calls_per_s / bs.calls_per_s,
            fs.p99.as_secs_f64() / bs.p99.as_secs_f64(),
            ft.calls_per_s / bt.calls_per_s,
            ft.p99.as_secs_f64() / bt.p99.as_secs_f64(),
        );
        let verdict = if fs.p99 < GOAL_P99_ACK {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "goal p99 ack < {} ms with {bots} bots: {verdict} ({} ms)",
            GOAL_P99_ACK.as_millis(),
            ms(fs.p99)
        );
    }
}
