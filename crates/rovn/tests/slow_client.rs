//! A client that monitors but never reads must not grow the server's memory
//! without bound, nor hold up the others: `rovn ovsdb-server` gets a stream
//! of large updates (far more than the server may queue for one client)
//! while one monitoring client never reads and another reads everything.
//! The server drops the stuck client, the reading client gets every
//! update, and the server's peak resident size (VmHWM in /proc) stays well
//! under what queueing everything for the stuck client would take.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::rpc::Rpc;
use common::{Served, ROVN};
use serde_json::json;

/// Size of each update's payload, and how many updates: 256 MiB in all.
const BLOB: usize = 256 << 10;
const UPDATES: usize = 1024;
/// How far the reading client may fall behind the stream.
const LAG: usize = 16;
/// The most the server's peak RSS may grow over its size after setup.
const GROWTH_LIMIT_MIB: u64 = 160;

fn status_kib(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server's /proc status");
    s.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn monitor_request(id: &str) -> Vec<u8> {
    let m = json!({"id": id, "method": "monitor", "params": [
        "OVN_Northbound", id, {"Logical_Switch": [{"columns": ["name", "external_ids"]}]}
    ]});
    m.to_string().into_bytes()
}

/// Counts the `update` notifications on a monitoring connection that
/// reads everything, in a thread.
struct Reader {
    updates: Arc<AtomicUsize>,
    /// Set once the monitor's reply came.
    ready: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Reader {
    fn start(sock: &std::path::Path) -> Reader {
        let mut s = UnixStream::connect(sock).expect("connect");
        s.write_all(&monitor_request("good")).expect("monitor");
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let (updates, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let ready = Arc::new(AtomicBool::new(false));
        let (u, st, r) = (updates.clone(), stop.clone(), ready.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            // The end of the previous read, so that a needle split across
            // two reads is still found (the stream is ASCII).
            let mut carry = String::new();
            let mut total = 0;
            while !st.load(Ordering::Relaxed) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        total += n;
                        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
                        if carry.contains("\"id\":\"good\"") {
                            r.store(true, Ordering::Relaxed);
                        }
                        u.fetch_add(carry.matches("\"update\"").count(), Ordering::Relaxed);
                        // Keep less than a whole needle: nothing is counted twice.
                        let keep = carry.len().min(8);
                        carry.drain(..carry.len() - keep);
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
            total
        });
        Reader { updates, ready, stop, thread: Some(thread) }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_client_that_never_reads_is_dropped_and_memory_stays_bounded() {
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let pid = server.daemon.as_ref().expect("running").pid();
    let mut w = Rpc::connect(&server.sock);
    // One row with a big column: a `monitor` update of a change to its
    // name carries the whole row, so small transactions make big updates.
    let blob = "x".repeat(BLOB);
    let row = json!({"name": "big", "external_ids": ["map", [["blob", blob]]]});
    w.transact("OVN_Northbound", json!([{"op": "insert", "table": "Logical_Switch", "row": row}]));

    // Both monitors are in place once their replies came.
    let mut stuck = UnixStream::connect(&server.sock).expect("connect");
    stuck.write_all(&monitor_request("stuck")).expect("monitor");
    stuck.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reply = Vec::new();
    while !String::from_utf8_lossy(&reply).contains("\"id\":\"stuck\"") {
        let mut b = [0u8; 4096];
        let n = stuck.read(&mut b).expect("monitor reply");
        assert!(n > 0, "server closed the connection");
        reply.extend_from_slice(&b[..n]);
    }
    let good = Reader::start(&server.sock);
    let t = Instant::now();
    while !good.ready.load(Ordering::Relaxed) {
        assert!(t.elapsed() < Duration::from_secs(10), "the reading client's monitor got no reply");
        std::thread::sleep(Duration::from_millis(10));
    }
    let base = status_kib(pid, "VmRSS:");

    let t = Instant::now();
    for i in 0..UPDATES {
        // A well-behaved client keeps up: the stream waits for the reading
        // client when it falls more than a few updates behind (this test
        // reads slowly, unoptimized).
        let t = Instant::now();
        while good.updates.load(Ordering::Relaxed) + LAG < i {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the reading client got stuck at update {i}\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        w.transact(
            "OVN_Northbound",
            json!([{"op": "update", "table": "Logical_Switch", "where": [], "row": {"name": format!("n{i}")}}]),
        );
    }
    let pushed = t.elapsed();
    // The reader gets every update.
    let t = Instant::now();
    while good.updates.load(Ordering::Relaxed) < UPDATES {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the reading client got {} of {} updates\n{}",
            good.updates.load(Ordering::Relaxed),
            UPDATES,
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let peak = status_kib(pid, "VmHWM:");
    let now = status_kib(pid, "VmRSS:");
    eprintln!(
        "{} MiB of updates in {pushed:.1?}: server RSS {} MiB before, peak {} MiB, {} MiB after",
        (UPDATES * BLOB) >> 20,
        base >> 10,
        peak >> 10,
        now >> 10
    );

    // The stuck client was dropped: what it finds in its socket ends.
    stuck.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    let closed = loop {
        match stuck.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got += n,
            Err(_) => break false,
        }
        if got > UPDATES * BLOB {
            break false;
        }
    };
    let log = server.log();
    let dropped: Vec<&str> = log.lines().filter(|l| l.contains("not reading")).collect();
    eprintln!("server log: {dropped:?}");
    assert!(closed, "the client that never read is still served ({} MiB read after the stream)", got >> 20);
    assert!(
        peak.saturating_sub(base) < GROWTH_LIMIT_MIB << 10,
        "server RSS grew from {} MiB to a peak of {} MiB",
        base >> 10,
        peak >> 10
    );
    assert!(server.alive(), "server died: {}", server.log());
}
