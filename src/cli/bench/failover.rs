//! `bench failover`: how long a task takes to run again elsewhere after its node is killed,
//! against the failure-detection time measured in the same round, and (in `recovery`) how long a
//! restarted coordinator takes to resume 1,000 runs in flight.
//!
//! Each round starts a coordinator and two nodes as child processes of this binary on loopback,
//! ships the demo outcome with a gated agent (it notes which node it started on, then waits for
//! a file), kills -9 the node running the first task, and times two things from the kill: until
//! the coordinator reports the node down (detection, the floor), and until the agent starts on the
//! other node (failover).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actors::net::{Validity, certs};
use anyhow::{Context, bail};

/// How often the bench polls for the node-down status and the agent's start note; adds at most
/// this much to either measurement.
const POLL: Duration = Duration::from_millis(5);

/// The gated agent (shared with the failover tests): see the script's header.
const GATED_AGENT: &str = include_str!("gated-agent.sh");

/// One round's timings, from the kill.
struct Round {
    detected: Duration,
    running_again: Duration,
}

/// Run `rounds` failovers and the recovery of `runs` in-flight runs; print the table.
pub fn run(rounds: usize, runs: usize) -> anyhow::Result<()> {
    let mut measured = Vec::new();
    for i in 0..rounds {
        let round = tokio::runtime::Runtime::new()?
            .block_on(round())
            .with_context(|| format!("round {}", i + 1))?;
        eprintln!(
            "round {}: detected {:?}, running again {:?}",
            i + 1,
            round.detected,
            round.running_again
        );
        measured.push(round);
    }
    let recovery = super::recovery::run(runs)?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let detected = median(measured.iter().map(|r| ms(r.detected)).collect());
    let again = median(measured.iter().map(|r| ms(r.running_again)).collect());
    let worst = measured
        .iter()
        .map(|r| ms(r.running_again))
        .fold(0.0, f64::max);
    println!("{:<44} {:>10}", "measurement", "ms");
    println!(
        "{:<44} {:>10.0}",
        "node down detected after kill -9 (median)", detected
    );
    println!(
        "{:<44} {:>10.0}",
        "task running on the other node (median)", again
    );
    println!(
        "{:<44} {:>10.0}",
        "task running on the other node (worst)", worst
    );
    println!(
        "{:<44} {:>10.0}",
        "failover beyond detection (median)",
        again - detected
    );
    println!(
        "{:<44} {:>10.1}",
        format!("resume {} in-flight runs", recovery.runs),
        ms(recovery.resume)
    );
    println!(
        "{:<44} {:>10.1}",
        "  of which RunService::start returned after",
        ms(recovery.started)
    );
    println!(
        "{:<44} {:>10.1}",
        format!("bare store read of {} runs", recovery.runs),
        ms(recovery.bare_read)
    );
    println!(
        "ratio resume/bare read: {:.1}; rounds: {rounds}",
        recovery.resume.as_secs_f64() / recovery.bare_read.as_secs_f64()
    );
    Ok(())
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `factory <args>` and wait for a stdout line containing `ready`; returns the line.
fn spawn(args: &[&str], ready: &str) -> anyhow::Result<(Proc, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("child stdout")?;
    let proc = Proc(child);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.contains(ready) {
            return Ok((proc, line));
        }
    }
    bail!("factory {} exited before {ready:?}", args.join(" "))
}

async fn round() -> anyhow::Result<Round> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    let org = actors::example::generate(&root.join("org"), &Default::default())?;
    let certs_dir = root.join("certs");
    certs::init_ca(&certs_dir)?;
    for name in ["coordinator", "node-1", "node-2", "bench-client"] {
        certs::issue(&certs_dir, name, Validity::days(1))?;
    }
    let gates = root.join("gates");
    std::fs::create_dir_all(&gates)?;
    let script = root.join("gated-agent.sh");
    std::fs::write(&script, GATED_AGENT)?;
    let exe = std::env::current_exe()?.display().to_string();
    let agent = format!(
        "custom:sh {} {} {exe} sim-agent",
        script.display(),
        gates.display()
    );
    let (certs_arg, org_arg) = (certs_dir.display().to_string(), org.display().to_string());
    let state = root.join("state").display().to_string();
    let (_coordinator, line) = spawn(
        &[
            "coordinator",
            "--listen",
            "127.0.0.1:0",
            "--certs",
            &certs_arg,
            "--org",
            &org_arg,
            "--state",
            &state,
            "--agent",
            &agent,
        ],
        "coordinator listening on",
    )?;
    let addr: SocketAddr = line.rsplit(' ').next().unwrap_or_default().parse()?;
    let work = root.join("work").display().to_string();
    let join = addr.to_string();
    let mut nodes = Vec::new();
    for name in ["node-1", "node-2"] {
        let args = [
            "node", "--join", &join, "--certs", &certs_arg, "--name", name, "--work", &work,
        ];
        nodes.push(spawn(&args, "registered with")?.0);
    }
    let client = super::super::cluster::client(&certs_dir, "bench-client")?;
    let up = |nodes: &[protocol::NodeStatus]| nodes.iter().filter(|n| n.up).count();
    wait("the cluster to settle", Duration::from_secs(30), || async {
        let (nodes, shards) = coordinator::client::status(&client, addr, POLL * 100)
            .await
            .ok()?;
        (up(&nodes) == 2 && shards.iter().all(|s| s.owner.is_some())).then_some(())
    })
    .await?;
    super::super::runs::submit(&client, addr, super::super::demo::demo_outcome()).await?;
    let first = wait("the first agent", Duration::from_secs(60), || async {
        started(&gates).into_iter().next()
    })
    .await?;
    let victim = &mut nodes[if first == "node-1" { 0 } else { 1 }];
    victim.0.kill()?;
    let killed = Instant::now();
    let _ = victim.0.wait();
    // Both clocks run from the kill; the loop notes each event the first time it sees it.
    let (mut detected, mut running_again) = (None, None);
    let deadline = killed + Duration::from_secs(30);
    while detected.is_none() || running_again.is_none() {
        if Instant::now() > deadline {
            bail!("no failover within 30 s (detected: {detected:?})");
        }
        if running_again.is_none() && started(&gates).iter().any(|n| *n != first) {
            running_again = Some(killed.elapsed());
        }
        if detected.is_none()
            && let Ok((nodes, _)) = coordinator::client::status(&client, addr, POLL * 100).await
            && nodes.iter().any(|n| n.name.as_str() == first && !n.up)
        {
            detected = Some(killed.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
    let (Some(detected), Some(running_again)) = (detected, running_again) else {
        bail!("the loop ends only with both times");
    };
    std::fs::write(gates.join("open"), b"")?;
    Ok(Round {
        detected,
        running_again,
    })
}

/// The nodes gated agents started on, oldest first.
fn started(gates: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(gates) else {
        return Vec::new();
    };
    let mut notes: Vec<(std::time::SystemTime, PathBuf, String)> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("started."))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let node = ["node-1", "node-2"]
                .into_iter()
                .find(|n| text.contains(&format!("/{n}/")))?;
            Some((e.metadata().ok()?.modified().ok()?, e.path(), node.into()))
        })
        .collect();
    notes.sort();
    notes.into_iter().map(|(_, _, n)| n).collect()
}

/// Poll `check` every [`POLL`] until it gives a value or `limit` passes.
async fn wait<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}
