//! A network namespace joined to the host by a veth pair on a private /30, so a test can run a
//! real process behind a link it cuts and restores. Needs root and `ip` (iproute2); a test
//! using it fails, never skips, when either is missing.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::fleet::Fleet;
use super::{Proc, factory_bin, wait_until};

/// Namespaces made by this test process so far; with the pid it keeps names and subnets apart.
static MADE: AtomicU32 = AtomicU32::new(0);

/// 198.18.0.0/15 is reserved for network tests (RFC 2544): 32768 blocks of four addresses.
const BLOCKS: u32 = 1 << 15;

/// A namespace with one veth pair: `host_ip` on the host end, `ip` inside. Deleted on drop.
pub struct Netns {
    name: String,
    host_veth: String,
    host_ip: Ipv4Addr,
    ip: Ipv4Addr,
}

impl Netns {
    /// Create the namespace, move one end of a new veth pair into it, address both ends and
    /// bring them (and the namespace's loopback) up.
    pub fn new() -> Netns {
        require_root_and_ip();
        SWEEP.call_once(sweep_leftovers);
        let pid = std::process::id();
        let (n, block) = loop {
            let n = MADE.fetch_add(1, Ordering::Relaxed);
            // Spread pids over the blocks; skip a block some interface already uses (a run
            // killed before its guard dropped can leave one behind).
            let block = (pid.wrapping_mul(64).wrapping_add(n)) % BLOCKS;
            let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + block * 4;
            let taken = ip(&[
                "-o",
                "-4",
                "addr",
                "show",
                "to",
                &format!("{}/30", Ipv4Addr::from(base)),
            ]);
            if taken.trim().is_empty() {
                break (n % 1000, base);
            }
        };
        // Interface names are at most 15 bytes: "fx" + pid (at most 7 digits) + role + n.
        let name = format!("fx{pid}n{n}");
        let host_veth = format!("fx{pid}h{n}");
        let inner_veth = format!("fx{pid}i{n}");
        let host_ip = Ipv4Addr::from(block + 1);
        let inner_ip = Ipv4Addr::from(block + 2);
        ip(&["netns", "add", &name]);
        let guard = Netns {
            name,
            host_veth,
            host_ip,
            ip: inner_ip,
        };
        let (ns, host, inner) = (&guard.name, &guard.host_veth, inner_veth.as_str());
        ip(&["link", "add", host, "type", "veth", "peer", "name", inner]);
        ip(&["link", "set", inner, "netns", ns]);
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", host]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{inner_ip}/30"),
            "dev",
            inner,
        ]);
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&["-n", ns, "link", "set", inner, "up"]);
        ip(&["link", "set", host, "up"]);
        guard
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host end's address: how a process inside reaches the host.
    pub fn host_ip(&self) -> Ipv4Addr {
        self.host_ip
    }

    /// The inside end's address: how the host reaches a process inside.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Cut the link: the host end goes down, so nothing passes either way.
    pub fn link_down(&self) {
        ip(&["link", "set", &self.host_veth, "down"]);
    }

    /// Restore the link.
    pub fn link_up(&self) {
        ip(&["link", "set", &self.host_veth, "up"]);
    }

    /// Ids of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<u32> {
        ip(&["netns", "pids", &self.name])
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }

    /// Wait until no process is left inside the namespace.
    pub fn wait_empty(&self, timeout: Duration) {
        wait_until(
            &format!("the processes in namespace {} to exit", self.name),
            timeout,
            || self.pids().is_empty().then_some(()),
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of the pair deletes both at once; the namespace itself is torn down
        // by the kernel after its last process exits, which may be a moment later.
        for args in [
            ["link", "del", self.host_veth.as_str()],
            ["netns", "del", self.name.as_str()],
        ] {
            if let Err(e) = try_ip(&args) {
                eprintln!("cleaning up namespace {}: {e}", self.name);
            }
        }
    }
}

impl Fleet {
    /// A node running inside `ns`, joined to the coordinator's `port` at the host end's
    /// address, serving (and advertising) on its own end of the link; registered.
    pub fn node_in(&self, ns: &Netns, name: &str, port: u16) -> Proc {
        let join = format!("{}:{port}", ns.host_ip());
        let listen = format!("{}:0", ns.ip());
        let mut args: Vec<String> = ["netns", "exec", ns.name(), factory_bin()]
            .map(String::from)
            .to_vec();
        args.extend(self.node_args(name, &join));
        args.extend(["--listen".to_string(), listen]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::spawn_program(name, ip_program(), &args, &[]);
        proc.wait_stdout("registered with", Duration::from_secs(30));
        proc
    }
}

/// Run `ip ARGS`; panics with the command and its error output if it fails.
pub fn ip(args: &[&str]) -> String {
    try_ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// `ip` where Debian installs it, else whatever the PATH finds (a PATH without the sbin
/// folders, as a non-root shell often has, would miss it).
fn ip_program() -> &'static Path {
    ["/usr/sbin/ip", "/sbin/ip"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .unwrap_or(Path::new("ip"))
}

fn try_ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new(ip_program())
        .args(args)
        .output()
        .map_err(|e| {
            format!(
                "cannot run `ip {}`: {e}; install iproute2 (scripts/setup.sh does)",
                args.join(" ")
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Fail the test, with what is missing, unless it runs as root with `ip` installed.
/// The sweep of leftovers runs once per test process.
static SWEEP: std::sync::Once = std::sync::Once::new();

/// Delete the namespaces (and host ends of veth pairs) of test processes that are gone: a run
/// killed before its guards dropped leaves them behind, and nothing else would remove them.
fn sweep_leftovers() {
    let listed = try_ip(&["netns", "list"]).unwrap_or_default();
    for name in listed.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some((pid, n)) = name.strip_prefix("fx").and_then(|r| r.split_once('n')) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        let _ = try_ip(&["link", "del", &format!("fx{pid}h{n}")]);
        let _ = try_ip(&["netns", "del", name]);
    }
}

fn require_root_and_ip() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test makes network namespaces and must run as root (it does not skip)"
    );
    if let Err(e) = try_ip(&["-V"]) {
        panic!("this test needs `ip` from iproute2: {e}");
    }
}
