//! `factory bench http`: the HTTP API's own cost, over loopback, against the in-memory run service
//! (so the numbers are the HTTP layer, token checks included, not the runs behind it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use coordinator::http::memory::MemoryRuns;
use coordinator::http::{HttpConfig, RunApi, serve};
use coordinator::tokens::Scope;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Run the HTTP benchmark.
pub fn run(requests: usize, concurrency: usize) -> anyhow::Result<()> {
    if requests == 0 || concurrency == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    tokio::runtime::Runtime::new()?.block_on(http(requests, concurrency))
}

async fn http(requests: usize, concurrency: usize) -> anyhow::Result<()> {
    let state = std::env::temp_dir().join(format!("factory-bench-http-{}", std::process::id()));
    let config = HttpConfig::new(state.clone(), None);
    let token = config
        .tokens
        .add("bench", vec![Scope::Submit, Scope::Read])?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let runs = Arc::new(MemoryRuns::default());
    let outcome = protocol::outcome::Outcome {
        title: "bench".into(),
        description: String::new(),
        changes: Vec::new(),
    };
    let id = runs.submit(outcome).await.map_err(|e| anyhow::anyhow!(e))?;
    tokio::spawn(serve(listener, runs, config));

    let auth = format!("Authorization: Bearer {token}\r\n");
    let body = r#"{"title":"bench run","change_specs":["add orders createdAt string:date-time"]}"#;
    let scenarios = [
        (
            "GET /health",
            "GET /health HTTP/1.1\r\nHost: b\r\n\r\n".to_string(),
        ),
        (
            "GET /v1/runs/{id}",
            format!("GET /v1/runs/{id} HTTP/1.1\r\nHost: b\r\n{auth}\r\n"),
        ),
        (
            "POST /v1/runs",
            format!(
                "POST /v1/runs HTTP/1.1\r\nHost: b\r\n{auth}Content-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        ),
    ];
    println!("| route | requests | connections | req/s | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|---|---|---|");
    for (name, request) in scenarios {
        let r = scenario(addr, request, requests, concurrency).await;
        let (rate, p50, p99, max) = r.with_context(|| format!("scenario {name}"))?;
        println!("| {name} | {requests} | {concurrency} | {rate:.0} | {p50} | {p99} | {max} |");
    }
    let _ = std::fs::remove_dir_all(&state);
    Ok(())
}

/// Throughput and latency percentiles (µs) of `requests` copies of `request`.
async fn scenario(
    addr: SocketAddr,
    request: String,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, u128, u128, u128)> {
    let request = Arc::new(request.into_bytes());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let n = requests / concurrency + usize::from(i < requests % concurrency);
        let request = request.clone();
        tasks.push(tokio::spawn(
            async move { connection(addr, &request, n).await },
        ));
    }
    let mut latencies = Vec::with_capacity(requests);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_micros();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    Ok((rate, at(0.5), at(0.99), at(1.0)))
}

/// `n` requests, one after another, on one keep-alive connection.
async fn connection(addr: SocketAddr, request: &[u8], n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..n {
        let start = Instant::now();
        stream.write_all(request).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        if !(200..300).contains(&status) {
            bail!("answered {status}: {}", String::from_utf8_lossy(&buf));
        }
        latencies.push(start.elapsed());
    }
    Ok(latencies)
}

/// Read one response with a Content-Length body; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<u16> {
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
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed mid-body");
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed before the answer");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
