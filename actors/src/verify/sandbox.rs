//! The sandbox: the changed system brought up on loopback, one process group per service, each
//! on a free port with its log in a file. Dropping the sandbox kills every group.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::process::{GroupGuard, filtered_env, tail};
use super::{VerifyError, request, safe_name};
use crate::org::model::Repo;

/// How long a service may take to answer 200 on its health path by default.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause between health polls; the child's exit interrupts it at once.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// How much of a log goes into an error.
const TAIL_BYTES: u64 = 2048;

/// One service to start.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    /// Unique name, usually the repo's; also names the log file.
    pub name: String,
    /// Working directory (the repo's worktree on the new branch).
    pub cwd: PathBuf,
    /// Long-running command, run with `sh -c`.
    pub command: String,
    /// Path answering 200 once ready; `None` means ready as soon as it is started.
    pub health_path: Option<String>,
    /// Extra variables. In values, `{port:NAME}` and `{url:NAME}` stand for the port and URL of
    /// a service started before this one, since ports are only known at start.
    pub env: BTreeMap<String, String>,
}

impl ServiceSpec {
    /// The service for a repo checked out at `worktree`, from its manifest's `start` and
    /// `health` commands; `None` when the repo has nothing to start.
    pub fn for_repo(repo: &Repo, worktree: &Path) -> Option<ServiceSpec> {
        let commands = &repo.manifest.commands;
        let command = commands.start.as_deref().filter(|c| !c.trim().is_empty())?;
        Some(ServiceSpec {
            name: repo.name.clone(),
            cwd: worktree.to_path_buf(),
            command: command.to_string(),
            health_path: commands.health.clone(),
            env: BTreeMap::new(),
        })
    }
}

/// A running service.
#[derive(Debug)]
struct Running {
    name: String,
    port: u16,
    log_path: PathBuf,
    // Declared before `child`, so the group is killed before tokio's own kill of the child.
    guard: GroupGuard,
    child: tokio::process::Child,
}

/// Services started for verification. Every process group is killed when this is dropped.
#[derive(Debug)]
pub struct Sandbox {
    dir: PathBuf,
    events_dir: PathBuf,
    services: Vec<Running>,
}

impl Sandbox {
    /// Starts the services in order, each healthy before the next starts, with the default
    /// health time-out.
    pub async fn start(services: Vec<ServiceSpec>, dir: &Path) -> Result<Sandbox, VerifyError> {
        Self::start_within(services, dir, HEALTH_TIMEOUT).await
    }

    /// As [`Sandbox::start`], with `health_timeout` per service.
    ///
    /// Each service gets `PORT` (a free port), `FACTORY_EVENTS_DIR` (shared by all services, so
    /// one's events are visible to the others and to the verifier) and its own `env`. A service
    /// that exits before it is healthy fails the start with the tail of its log, which usually
    /// names the cause (a missing seed file, a port in use).
    pub async fn start_within(
        services: Vec<ServiceSpec>,
        dir: &Path,
        health_timeout: Duration,
    ) -> Result<Sandbox, VerifyError> {
        let dir = std::path::absolute(dir)
            .map_err(|e| VerifyError::io(format!("resolve {}", dir.display()), e))?;
        let events_dir = dir.join("events");
        let logs_dir = dir.join("logs");
        for d in [&events_dir, &logs_dir] {
            std::fs::create_dir_all(d)
                .map_err(|e| VerifyError::io(format!("create {}", d.display()), e))?;
        }
        let mut sandbox = Sandbox {
            dir,
            events_dir,
            services: Vec::new(),
        };
        for spec in services {
            safe_name(&spec.name)?;
            if sandbox.services.iter().any(|s| s.name == spec.name) {
                return Err(VerifyError::DuplicateService(spec.name));
            }
            // On error, dropping `sandbox` stops the services already started.
            let mut running = sandbox.spawn(&spec, &logs_dir)?;
            let ready = wait_ready(&mut running, spec.health_path.as_deref(), health_timeout).await;
            sandbox.services.push(running);
            ready?;
        }
        Ok(sandbox)
    }

    fn spawn(&self, spec: &ServiceSpec, logs_dir: &Path) -> Result<Running, VerifyError> {
        let port = free_port()?;
        let log_path = logs_dir.join(format!("{}.log", spec.name));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| VerifyError::io(format!("create {}", log_path.display()), e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| VerifyError::io(format!("clone {}", log_path.display()), e))?;
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&spec.command)
            .current_dir(&spec.cwd)
            .env_clear()
            .envs(filtered_env())
            .env("PORT", port.to_string())
            .env("FACTORY_EVENTS_DIR", &self.events_dir)
            .envs(spec.env.iter().map(|(k, v)| (k, self.expand(v))))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                VerifyError::io(format!("start {} in {}", spec.name, spec.cwd.display()), e)
            })?;
        Ok(Running {
            name: spec.name.clone(),
            port,
            log_path,
            guard: GroupGuard::new(child.id()),
            child,
        })
    }

    /// `http://127.0.0.1:<port>` of a service.
    pub fn url(&self, name: &str) -> Option<String> {
        self.port(name).map(|p| format!("http://127.0.0.1:{p}"))
    }

    /// The port a service listens on.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.find(name).map(|s| s.port)
    }

    /// Each service's name and log file, in start order.
    pub fn logs(&self) -> Vec<(String, PathBuf)> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.log_path.clone()))
            .collect()
    }

    /// Where services write events (`<channel>.jsonl`).
    pub fn events_dir(&self) -> &Path {
        &self.events_dir
    }

    /// The sandbox's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Process group ids of the services, in start order (to check clean-up).
    pub fn process_groups(&self) -> Vec<u32> {
        self.services
            .iter()
            .filter_map(|s| s.guard.pgid())
            .collect()
    }

    /// Kills every service and waits for them to be reaped.
    pub async fn stop(mut self) {
        for s in &mut self.services {
            s.guard.kill();
            let _ = s.child.wait().await;
        }
    }

    /// Replaces `{port:NAME}` and `{url:NAME}` of started services in `value`.
    fn expand(&self, value: &str) -> String {
        let mut out = value.to_string();
        for s in &self.services {
            out = out
                .replace(&format!("{{port:{}}}", s.name), &s.port.to_string())
                .replace(
                    &format!("{{url:{}}}", s.name),
                    &format!("http://127.0.0.1:{}", s.port),
                );
        }
        out
    }

    fn find(&self, name: &str) -> Option<&Running> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The port of a service, or an error naming it.
    pub(crate) fn require_port(&self, name: &str) -> Result<u16, VerifyError> {
        self.port(name)
            .ok_or_else(|| VerifyError::UnknownService(name.to_string()))
    }
}

/// A port nothing listens on right now: bind port 0, read it, let it go. Another process could
/// take it before the service binds it; the service then fails loudly and the run retries.
fn free_port() -> Result<u16, VerifyError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| VerifyError::io("bind a free port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| VerifyError::io("read a free port", e))?
        .port();
    Ok(port)
}

/// Polls the health path until 200, the child exits, or the deadline passes.
async fn wait_ready(
    svc: &mut Running,
    health: Option<&str>,
    timeout: Duration,
) -> Result<(), VerifyError> {
    let Some(path) = health else {
        return Ok(());
    };
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        if let Ok(Some(status)) = svc.child.try_wait() {
            return Err(exited(svc, status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(VerifyError::NotHealthy {
                name: svc.name.clone(),
                url: format!("http://127.0.0.1:{}{path}", svc.port),
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                tail: tail(&svc.log_path, TAIL_BYTES),
            });
        }
        let per_try = left.min(Duration::from_secs(2));
        if let Ok(resp) = request(svc.port, "GET", path, None, per_try).await
            && resp.status == 200
        {
            return Ok(());
        }
        tokio::select! {
            status = svc.child.wait() => {
                if let Ok(status) = status {
                    return Err(exited(svc, status));
                }
            }
            _ = tokio::time::sleep(POLL_EVERY.min(left)) => {}
        }
    }
}

fn exited(svc: &Running, status: std::process::ExitStatus) -> VerifyError {
    VerifyError::ExitedEarly {
        name: svc.name.clone(),
        status: status.to_string(),
        tail: tail(&svc.log_path, TAIL_BYTES),
    }
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
