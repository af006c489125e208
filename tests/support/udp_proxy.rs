//! A UDP fault proxy for tests: it forwards datagrams between clients and one target, dropping,
//! delaying and reordering them by a seeded generator, so a QUIC path can be made lossy.
//!
//! Each client (source address) gets its own upstream socket, so the target sees one peer per
//! client and replies find their way back. The target may be set after the proxy starts (a node
//! whose address is known only once it runs); datagrams before that are dropped, like a network
//! that is not up yet. Stops when dropped.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often blocked reads wake up to see whether the proxy stopped.
const POLL: Duration = Duration::from_millis(50);

/// What happens to datagrams, each decided independently per datagram and direction.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Seed of the generator; the same seed gives the same decisions for the same traffic.
    pub seed: u64,
    /// Chance a datagram is lost.
    pub drop: f64,
    /// Chance a datagram is held back for up to `max_delay`.
    pub delay: f64,
    /// The longest delay.
    pub max_delay: Duration,
    /// Chance a datagram is held until the next one has gone (a swap).
    pub reorder: f64,
}

/// What the proxy did, to show the faults really happened.
#[derive(Debug, Default)]
pub struct Counts {
    /// Datagrams forwarded (at once, late or swapped).
    pub forwarded: AtomicU64,
    /// Datagrams dropped.
    pub dropped: AtomicU64,
    /// Datagrams delayed.
    pub delayed: AtomicU64,
    /// Datagrams swapped with the next.
    pub reordered: AtomicU64,
}

/// A running proxy.
pub struct UdpProxy {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

impl UdpProxy {
    /// Listen on a free loopback port and forward to `target` (settable later).
    pub fn start(target: Option<SocketAddr>, faults: Faults) -> UdpProxy {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        front.set_read_timeout(Some(POLL)).unwrap();
        let addr = front.local_addr().unwrap();
        let target = Arc::new(Mutex::new(target));
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let later = scheduler(stop.clone());
        let shared = Shared {
            rng: Arc::new(Mutex::new(Rng(faults.seed))),
            faults,
            counts: counts.clone(),
            later,
            stop: stop.clone(),
        };
        let t = target.clone();
        std::thread::spawn(move || front_loop(front, t, shared));
        UdpProxy {
            addr,
            target,
            stop,
            counts,
        }
    }

    /// Where clients send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Point the proxy at its target.
    pub fn set_target(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = Some(target);
    }

    /// What it did so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

impl Drop for UdpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A datagram to send at a time.
struct Later {
    at: Instant,
    seq: u64,
    socket: Arc<UdpSocket>,
    bytes: Vec<u8>,
    to: SocketAddr,
}

impl PartialEq for Later {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Later {}
impl PartialOrd for Later {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Later {
    // The earliest first in a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Sends delayed datagrams when they are due.
fn scheduler(stop: Arc<AtomicBool>) -> mpsc::Sender<Later> {
    let (tx, rx) = mpsc::channel::<Later>();
    std::thread::spawn(move || {
        let mut heap = BinaryHeap::new();
        while !stop.load(Ordering::SeqCst) {
            let wait = heap
                .peek()
                .map_or(POLL, |l: &Later| {
                    l.at.saturating_duration_since(Instant::now())
                })
                .min(POLL);
            match rx.recv_timeout(wait) {
                Ok(l) => heap.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            while heap.peek().is_some_and(|l| l.at <= Instant::now()) {
                let l = heap.pop().unwrap();
                let _ = l.socket.send_to(&l.bytes, l.to);
            }
        }
    });
    tx
}

#[derive(Clone)]
struct Shared {
    rng: Arc<Mutex<Rng>>,
    faults: Faults,
    counts: Arc<Counts>,
    later: mpsc::Sender<Later>,
    stop: Arc<AtomicBool>,
}

/// One direction of one client's traffic, with the datagram it holds back for a swap.
struct Pipe {
    shared: Shared,
    held: Option<(Vec<u8>, SocketAddr)>,
    seq: u64,
}

impl Pipe {
    fn new(shared: Shared) -> Pipe {
        Pipe {
            shared,
            held: None,
            seq: 0,
        }
    }

    fn send(&mut self, socket: &Arc<UdpSocket>, bytes: &[u8], to: SocketAddr) {
        let f = self.shared.faults;
        let c = &self.shared.counts;
        let (roll, delay_roll, swap_roll, frac) = {
            let mut rng = self.shared.rng.lock().unwrap();
            (rng.unit(), rng.unit(), rng.unit(), rng.unit())
        };
        if roll < f.drop {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        c.forwarded.fetch_add(1, Ordering::Relaxed);
        if swap_roll < f.reorder && self.held.is_none() {
            c.reordered.fetch_add(1, Ordering::Relaxed);
            self.held = Some((bytes.to_vec(), to));
            return;
        }
        if delay_roll < f.delay {
            c.delayed.fetch_add(1, Ordering::Relaxed);
            self.seq += 1;
            let _ = self.shared.later.send(Later {
                at: Instant::now() + f.max_delay.mul_f64(frac),
                seq: self.seq,
                socket: socket.clone(),
                bytes: bytes.to_vec(),
                to,
            });
        } else {
            let _ = socket.send_to(bytes, to);
        }
        if let Some((held, to)) = self.held.take() {
            let _ = socket.send_to(&held, to);
        }
    }
}

fn front_loop(front: Arc<UdpSocket>, target: Arc<Mutex<Option<SocketAddr>>>, shared: Shared) {
    let mut upstreams: HashMap<SocketAddr, (Arc<UdpSocket>, Pipe)> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((n, client)) = front.recv_from(&mut buf) else {
            continue;
        };
        let Some(to) = *target.lock().unwrap() else {
            continue;
        };
        let (up, pipe) = upstreams.entry(client).or_insert_with(|| {
            let up = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
            up.set_read_timeout(Some(POLL)).unwrap();
            let (back, front, replies) = (up.clone(), front.clone(), shared.clone());
            std::thread::spawn(move || back_loop(back, front, client, replies));
            (up, Pipe::new(shared.clone()))
        });
        let up = up.clone();
        pipe.send(&up, &buf[..n], to);
    }
}

/// Replies from the target to one client.
fn back_loop(up: Arc<UdpSocket>, front: Arc<UdpSocket>, client: SocketAddr, shared: Shared) {
    let mut pipe = Pipe::new(shared.clone());
    let mut buf = vec![0u8; 65_536];
    while !shared.stop.load(Ordering::SeqCst) {
        if let Ok((n, _)) = up.recv_from(&mut buf) {
            pipe.send(&front, &buf[..n], client);
        }
    }
}

/// splitmix64: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
