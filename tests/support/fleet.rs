//! A coordinator running outcomes on the generated example org, with nodes, all real `factory`
//! processes; the agent can be gated so a test can act while a task is known to be running.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Certs, Proc, factory_bin, wait_until};

/// The gated agent: it notes where it started (its worktree, which names the node), waits for
/// the test to open the gate, then runs the deterministic agent. It gives up if the node that
/// started it is gone or the test's folder was removed, so a killed node leaves no process behind.
const GATED_AGENT: &str = include_str!("../../src/cli/bench/gated-agent.sh");

/// The outcome the demo ships: createdAt from the backend to the frontend and the worker.
pub const SHIP: &[&str] = &[
    "--title",
    "expose the order creation time to the dashboard and the email worker",
    "--change",
    "add orders.v1 createdAt string:date-time",
    "--change",
    "add order-events.v1 createdAt string:date-time",
];

/// Everything one test's cluster keeps on disk.
pub struct Fleet {
    _dir: tempfile::TempDir,
    /// The test's folder.
    pub root: PathBuf,
    /// Certificates: coordinator, node-1..3, admin.
    pub certs: Certs,
    /// The org catalog.
    pub org: PathBuf,
    /// The coordinator's state folder.
    pub state: PathBuf,
    /// Where gated agents leave `started.<pid>` notes and wait for `open`.
    pub gates: PathBuf,
    agent: String,
}

impl Fleet {
    /// A new org (origins keep a reflog of every push) and certificates; `gated` selects the
    /// gated agent instead of the plain deterministic one.
    pub fn new(gated: bool) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let org = actors::example::generate(&root.join("org"), &Default::default()).unwrap();
        for origin in std::fs::read_dir(root.join("org/origins")).unwrap() {
            git(
                &origin.unwrap().path(),
                &["config", "core.logAllRefUpdates", "always"],
            );
        }
        let certs = Certs::new();
        certs.issue(&["coordinator", "node-1", "node-2", "node-3", "admin"]);
        let gates = root.join("gates");
        std::fs::create_dir_all(&gates).unwrap();
        let agent = if gated {
            let script = root.join("gated-agent.sh");
            std::fs::write(&script, GATED_AGENT).unwrap();
            format!(
                "custom:sh {} {} {} sim-agent",
                script.display(),
                gates.display(),
                factory_bin()
            )
        } else {
            "sim".to_owned()
        };
        Fleet {
            _dir: dir,
            state: root.join("state"),
            root,
            certs,
            org,
            gates,
            agent,
        }
    }

    /// A coordinator on `listen` (`127.0.0.1:0` for a free port); returns it and its address.
    pub fn coordinator(&self, listen: &str) -> (Proc, String) {
        let args = [
            "coordinator",
            "--listen",
            listen,
            "--certs",
            &self.certs.arg(),
            "--org",
            &self.org.display().to_string(),
            "--state",
            &self.state.display().to_string(),
            "--agent",
            &self.agent,
        ];
        let proc = Proc::spawn("coordinator", &args);
        let line = proc.wait_stdout("coordinator listening on ", Duration::from_secs(30));
        let addr = line.rsplit(' ').next().unwrap().to_owned();
        (proc, addr)
    }

    /// A node joined to `join`, registered; `extra` are more arguments, `env` its environment.
    pub fn node(&self, name: &str, join: &str, extra: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut args = self.node_args(name, join);
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::spawn_with_env(name, &args, env);
        proc.wait_stdout("registered with", Duration::from_secs(30));
        proc
    }

    /// `node --join JOIN --certs .. --name NAME --work ..`: the arguments every test node gets.
    pub fn node_args(&self, name: &str, join: &str) -> Vec<String> {
        let work = self.root.join("work").display().to_string();
        let certs = self.certs.path().display().to_string();
        [
            "node", "--join", join, "--certs", &certs, "--name", name, "--work", &work,
        ]
        .map(String::from)
        .to_vec()
    }

    /// `factory status --json`.
    pub fn status(&self, addr: &str) -> Value {
        super::status(&self.certs, addr)
    }

    /// Wait until `n` nodes are up and every repo has an owner.
    pub fn wait_settled(&self, addr: &str, n: usize) {
        wait_until("the cluster to settle", Duration::from_secs(30), || {
            let s = self.status(addr);
            let up = s["nodes"]
                .as_array()?
                .iter()
                .filter(|n| n["up"] == true)
                .count();
            let owned = s["shards"]
                .as_array()?
                .iter()
                .all(|s| !s["owner"].is_null());
            (up == n && owned).then_some(())
        });
    }

    /// (owner, epoch) of a repo's shard.
    pub fn shard(&self, addr: &str, repo: &str) -> (Option<String>, u64) {
        let s = self.status(addr);
        let shard = s["shards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["repo"] == repo)
            .unwrap()
            .clone();
        (
            shard["owner"].as_str().map(str::to_owned),
            shard["epoch"].as_u64().unwrap(),
        )
    }

    /// Submit the demo outcome with `factory ship --detach`; returns the run id.
    pub fn ship(&self, addr: &str) -> String {
        let certs = self.certs.arg();
        let mut args = vec!["ship", "--detach", "--coordinator", addr, "--certs", &certs];
        args.extend_from_slice(SHIP);
        let out = Command::new(factory_bin()).args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ship failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .split_whitespace()
            .nth(1)
            .expect("ship prints `run <id> submitted`")
            .to_owned()
    }

    /// `factory runs --json RUN`, or none while the coordinator does not answer.
    pub fn run(&self, addr: &str, id: &str) -> Option<Value> {
        let out = Command::new(factory_bin())
            .args(["runs", "--json", "--coordinator", addr, "--certs"])
            .arg(self.certs.path())
            .arg(id)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// Wait until the run is final and bundled; returns it.
    pub fn wait_finished(&self, addr: &str, id: &str) -> Value {
        wait_until("the run to finish", Duration::from_secs(300), || {
            let run = self.run(addr, id)?;
            let done = matches!(run["status"].as_str(), Some("delivered" | "failed"))
                && !run["bundle_dir"].is_null();
            done.then_some(run)
        })
    }

    /// Wait until a task of the run is running; returns its id.
    pub fn wait_running(&self, addr: &str, id: &str) -> String {
        wait_until("a task to run", Duration::from_secs(60), || {
            let run = self.run(addr, id)?;
            run["tasks"]
                .as_array()?
                .iter()
                .find(|t| t["state"]["state"] == "running")
                .map(|t| t["id"].as_str().unwrap().to_owned())
        })
    }

    /// The nodes gated agents started on so far, oldest first (one entry per agent started).
    pub fn started(&self) -> Vec<String> {
        self.notes("started.")
    }

    /// The nodes named by the gate notes whose file names start with `prefix`, oldest first.
    pub fn notes(&self, prefix: &str) -> Vec<String> {
        let mut notes: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&self.gates)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                let node = ["node-1", "node-2", "node-3"]
                    .into_iter()
                    .find(|n| text.contains(&format!("/{n}/")))?;
                Some((e.metadata().ok()?.modified().ok()?, node.to_owned()))
            })
            .collect();
        notes.sort();
        notes.into_iter().map(|(_, n)| n).collect()
    }

    /// Where the gated agents started so far (their working directories), any order.
    pub fn started_in(&self) -> Vec<String> {
        std::fs::read_dir(&self.gates)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("started."))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// Make gated agents started from now on wait again.
    pub fn close_gate(&self) {
        std::fs::remove_file(self.gates.join("open")).unwrap();
    }

    /// Wait until an agent started on a node other than `not`; returns that node.
    pub fn wait_started(&self, not: Option<&str>, timeout: Duration) -> String {
        wait_until("an agent to start", timeout, || {
            self.started().into_iter().find(|n| Some(n.as_str()) != not)
        })
    }

    /// Let every gated agent go on, now and later.
    pub fn open_gate(&self) {
        std::fs::write(self.gates.join("open"), b"").unwrap();
    }

    /// Subjects and bodies of the commits on a branch of an origin that are not on main.
    pub fn commits(&self, repo: &str, branch: &str) -> Vec<String> {
        let log = git(
            &self.origin(repo),
            &["log", "--format=%B%x00", &format!("main..{branch}")],
        );
        log.split('\0')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// How many times a branch of an origin was updated by a push.
    pub fn pushes(&self, repo: &str, branch: &str) -> usize {
        git(
            &self.origin(repo),
            &[
                "reflog",
                "show",
                "--format=%H",
                &format!("refs/heads/{branch}"),
            ],
        )
        .lines()
        .count()
    }

    fn origin(&self, repo: &str) -> PathBuf {
        self.root.join("org/origins").join(format!("{repo}.git"))
    }
}

/// Run git in `dir`; panics with its error output on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git must be installed for these tests");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Send a signal to a process.
pub fn signal(proc: &Proc, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(proc.id() as i32).expect("positive pid");
    rustix::process::kill_process(pid, signal).unwrap();
}
