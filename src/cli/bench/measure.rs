//! Timing loops and the result table for benchmarks.

use std::future::Future;
use std::time::{Duration, Instant};

/// Throughput and latency of one benchmark run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Completed calls per second.
    pub calls_per_s: f64,
    /// Median call latency.
    pub p50: Duration,
    /// 99th percentile call latency.
    pub p99: Duration,
    /// Slowest call.
    pub max: Duration,
}

/// Runs `call` back to back for `duration` with `in_flight` concurrent callers.
pub async fn run<F, Fut>(duration: Duration, in_flight: usize, call: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::with_capacity(in_flight);
    for _ in 0..in_flight {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let t = Instant::now();
                call().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    summarize(all, start.elapsed())
}

/// Rate and percentiles of `latencies`, the calls completed in `elapsed`.
pub fn summarize(mut latencies: Vec<Duration>, elapsed: Duration) -> anyhow::Result<Sample> {
    anyhow::ensure!(!latencies.is_empty(), "no call completed");
    latencies.sort_unstable();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Ok(Sample {
        calls_per_s: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(50),
        p99: pct(99),
        max: pct(100),
    })
}

/// One table row: mode, implementation, sample.
pub type Row = (String, &'static str, Sample);

/// Formats the results with the factory/baseline ratio per mode.
pub fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<14} {:<9} {:>10} {:>9} {:>9}\n",
        "mode", "impl", "calls/s", "p50 us", "p99 us"
    );
    for (mode, name, s) in rows {
        out += &format!(
            "{:<14} {:<9} {:>10.0} {:>9} {:>9}\n",
            mode,
            name,
            s.calls_per_s,
            s.p50.as_micros(),
            s.p99.as_micros()
        );
    }
    for pair in rows.chunks(2) {
        if let [(mode, _, factory), (_, _, baseline)] = pair {
            out += &format!(
                "ratio factory/baseline calls/s, {mode}: {:.2}\n",
                factory.calls_per_s / baseline.calls_per_s
            );
        }
    }
    out
}
