//! Gating verification rounds, so a test can act while a round is known to be running on a node.
//!
//! Backend's `setup` command is wrapped, on its origin, in a script that does nothing in a task's
//! worktree and, in a verification checkout (its path holds `/verify/`), notes where it runs and
//! waits for the test to open the gate. A node the test has given up on (`gone.<node>`) makes its
//! waiting scripts exit, so a killed node leaves no process behind.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use super::fleet::{Fleet, git};
use super::wait_until;

const GATED_SETUP: &str = r#"#!/bin/sh
gates="$1"
case "$PWD" in */verify/*) ;; *) exit 0 ;; esac
echo "$PWD" > "$gates/verify.$$"
while [ ! -e "$gates/verify-open" ]; do
  [ -d "$gates" ] || exit 1
  for gone in "$gates"/gone.*; do
    [ -e "$gone" ] || continue
    case "$PWD" in *"/${gone##*gone.}/"*) exit 1 ;; esac
  done
  sleep 0.05
done
"#;

impl Fleet {
    /// Gate every verification round from now on: commits the wrapped setup to backend's origin.
    pub fn gate_verification(&self) {
        let script = self.root.join("gated-setup.sh");
        std::fs::write(&script, GATED_SETUP).unwrap();
        let edit = self.root.join("edit-backend");
        let origin = self.root.join("org/origins/backend.git");
        git(
            &self.root,
            &[
                "clone",
                "-q",
                origin.to_str().unwrap(),
                edit.to_str().unwrap(),
            ],
        );
        let manifest = edit.join("factory.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let plain = "setup = \"python3 scripts/seed.py\"";
        assert!(text.contains(plain), "backend's setup changed:\n{text}");
        let gated = format!(
            "setup = \"sh {} {} && python3 scripts/seed.py\"",
            script.display(),
            self.gates.display()
        );
        std::fs::write(&manifest, text.replace(plain, &gated)).unwrap();
        git(
            &edit,
            &[
                "-c",
                "user.name=factory tests",
                "-c",
                "user.email=tests@factory.invalid",
                "commit",
                "-q",
                "-am",
                "gate verification rounds",
            ],
        );
        git(&edit, &["push", "-q", "origin", "HEAD"]);
    }

    /// The nodes gated verification rounds started on so far, oldest first.
    pub fn rounds_started(&self) -> Vec<String> {
        self.notes("verify.")
    }

    /// Wait until a verification round started on a node other than `not`; returns that node.
    pub fn wait_round_started(&self, not: Option<&str>, timeout: Duration) -> String {
        wait_until("a verification round to start", timeout, || {
            self.rounds_started()
                .into_iter()
                .find(|n| Some(n.as_str()) != not)
        })
    }

    /// Let every gated verification round go on, now and later.
    pub fn open_verification(&self) {
        std::fs::write(self.gates.join("verify-open"), b"").unwrap();
    }

    /// Tell the gate scripts of `node` to give up (the test killed it).
    pub fn forget_node(&self, node: &str) {
        std::fs::write(self.gates.join(format!("gone.{node}")), b"").unwrap();
    }
}
