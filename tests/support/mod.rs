//! The shared harness for multi-process tests: spawn the real `factory` binary, capture its
//! output line by line, wait for readiness lines and conditions with deadlines, kill on drop.
#![allow(dead_code, clippy::unwrap_used)]

pub mod checks;
pub mod fleet;
pub mod netns;
pub mod rpc;
pub mod udp_proxy;
pub mod verify_gate;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn factory_bin() -> &'static str {
    env!("CARGO_BIN_EXE_factory")
}

/// Lines captured from one stream, with a condition variable to wait on.
#[derive(Default)]
struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

impl Lines {
    fn capture(
        self: &Arc<Self>,
        stream: impl Read + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let this = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                this.lines.lock().unwrap().push(line);
                this.changed.notify_all();
            }
        })
    }

    /// The first line containing `needle`, waiting up to `timeout` for it.
    fn wait_for(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut lines = self.lines.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|l| l.contains(needle)) {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            lines = self.changed.wait_timeout(lines, left).unwrap().0;
        }
    }

    fn all(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

/// A running `factory` process, killed (SIGKILL) and reaped on drop. Its stderr is printed if
/// the test is failing, so a failure shows what each process logged.
pub struct Proc {
    name: String,
    child: Child,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Proc {
    /// Start `factory <args>`; `name` labels its output in failure reports.
    pub fn spawn(name: &str, args: &[&str]) -> Proc {
        Proc::spawn_with_env(name, args, &[])
    }

    /// Start `factory <args>` with extra environment variables.
    pub fn spawn_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn_program(name, Path::new(factory_bin()), args, env)
    }

    /// Start `program <args>`: a wrapper that runs `factory` in the end, such as
    /// `ip netns exec NS factory ...`; killing it must kill `factory` (the wrapper execs it).
    pub fn spawn_program(name: &str, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut child = Command::new(program)
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let (stdout, stderr) = (Arc::new(Lines::default()), Arc::new(Lines::default()));
        let readers = vec![
            stdout.capture(child.stdout.take().unwrap()),
            stderr.capture(child.stderr.take().unwrap()),
        ];
        Proc {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Wait for a stdout line containing `needle`; panics with the process's logs on timeout.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) -> String {
        self.stdout.wait_for(needle, timeout).unwrap_or_else(|| {
            panic!(
                "{}: no stdout line with {needle:?} within {timeout:?}\nstderr:\n{}",
                self.name,
                self.stderr()
            )
        })
    }

    /// Wait for a stderr line containing `needle`; panics with the process's logs on timeout.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        self.stderr.wait_for(needle, timeout).unwrap_or_else(|| {
            panic!(
                "{}: no stderr line with {needle:?} within {timeout:?}\nstderr:\n{}",
                self.name,
                self.stderr()
            )
        })
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.all()
    }

    /// Kill with SIGKILL, like a machine losing power, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ask the process to stop with SIGTERM, as an orchestrator would; it should shut down
    /// cleanly (see `wait_exit`).
    pub fn terminate(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32)
            .expect("a child process id is positive");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    }

    /// Wait for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = wait_until(&format!("{} to exit", self.name), timeout, || {
            self.child.try_wait().unwrap()
        });
        // The readers end when the pipes close, so after this every line is captured.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// The OS process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- {} stderr ---\n{}\n--- end {} ---",
                self.name,
                self.stderr(),
                self.name
            );
        }
    }
}

/// Poll `check` until it returns a value, at most `timeout`; panics naming `what` otherwise.
/// The pause between polls is short and only paces the polling; the deadline bounds the wait.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A cluster CA in a temporary directory, with certificates issued on demand.
pub struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    /// A new CA.
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        actors::net::init_ca(dir.path()).unwrap();
        Certs { dir }
    }

    /// Issue a one-day certificate for each name.
    pub fn issue(&self, names: &[&str]) {
        for name in names {
            actors::net::issue(self.dir.path(), name, actors::net::Validity::days(1)).unwrap();
        }
    }

    /// The directory, as a command-line argument.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory as a string.
    pub fn arg(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Copy `name`'s certificate and key into `other`.
    pub fn copy_identity_to(&self, name: &str, other: &Path) {
        for ext in ["pem", "key"] {
            let file = format!("{name}.{ext}");
            std::fs::copy(self.dir.path().join(&file), other.join(&file)).unwrap();
        }
    }
}

/// A coordinator process on a free loopback port, and its address.
pub fn start_coordinator(certs: &Certs, repos: &[&str]) -> (Proc, String) {
    start_coordinator_with(certs, repos, &[])
}

/// A coordinator process with extra arguments, and its address.
pub fn start_coordinator_with(certs: &Certs, repos: &[&str], extra: &[&str]) -> (Proc, String) {
    if !certs.path().join("coordinator.pem").exists() {
        certs.issue(&["coordinator"]);
    }
    let mut args = vec![
        "coordinator".to_owned(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--certs".into(),
        certs.arg(),
    ];
    for repo in repos {
        args.extend(["--repo".to_owned(), (*repo).to_owned()]);
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proc = Proc::spawn("coordinator", &args);
    let line = proc.wait_stdout("coordinator listening on ", Duration::from_secs(20));
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    (proc, addr)
}

/// A node process named `name` joined to `addr`, once it has registered.
pub fn start_node(certs: &Certs, addr: &str, name: &str) -> Proc {
    start_node_with(certs, addr, name, &[])
}

/// A node process with extra arguments (e.g. `--work DIR`), once it has registered.
pub fn start_node_with(certs: &Certs, addr: &str, name: &str, extra: &[&str]) -> Proc {
    if !certs.path().join(format!("{name}.pem")).exists() {
        certs.issue(&[name]);
    }
    let certs_arg = certs.arg();
    let mut args = vec![
        "node", "--join", addr, "--certs", &certs_arg, "--name", name,
    ];
    args.extend_from_slice(extra);
    let proc = Proc::spawn(name, &args);
    proc.wait_stdout("registered with", Duration::from_secs(20));
    proc
}

/// `factory status --json` against `addr`, parsed.
pub fn status(certs: &Certs, addr: &str) -> serde_json::Value {
    if !certs.path().join("admin.pem").exists() {
        certs.issue(&["admin"]);
    }
    let out = Command::new(factory_bin())
        .args([
            "status",
            "--json",
            "--coordinator",
            addr,
            "--certs",
            &certs.arg(),
            "--name",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A scratch directory that lives as long as the value.
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}
