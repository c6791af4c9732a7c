//! Clients that read slowly, or not at all for a while (a stopped process,
//! a congested host), are not dropped and do not grow the server's memory
//! without bound: while a client is behind, `rovn ovsdb-server` holds back
//! its monitor updates as each row's net change, and sends them merged once
//! it reads again. Each test streams far more updates to a bounded set of
//! rows (256 KiB each) than the server would queue for one client, while
//! one monitoring client reads nothing; then that client reads again and
//! its replica must equal the database. The server's peak resident size
//! (VmHWM in /proc) must stay well under what queueing everything for the
//! stopped client would take.
//!
//! The same with `monitor` (update), `monitor_cond` (update2),
//! `monitor_cond_since` (update3), and with the python `ovs.db.idl` client
//! stopped by SIGSTOP.
//!
//! And against ovsdb-server 3.1: the update a stopped client gets for rows
//! that came and went meanwhile is the one the real server sends it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::rpc::{canonical_replica, Rpc};
use common::{python_ovs_available, Served, PYTHON, ROVN};
use ovsdb::jsonrpc::{Framer, Message};
use ovsdb::DatabaseSchema;
use ovsdb_client::replica::Replica;
use serde_json::{json, Value};

const NB: &str = "OVN_Northbound";
/// Size of each update's payload.
const BLOB: usize = 256 << 10;
/// The rows updated in turn.
const ROWS: usize = 8;
/// How far the reading client may fall behind the stream.
const LAG: usize = 16;
/// The most the server's peak RSS may grow over its size after setup. It
/// grows by some 55 MiB handling the stream (transactions, log writes and
/// compactions, the held rows and the reading client's queue); queueing the
/// stream for the stopped client would take 96 to 256 MiB more.
const GROWTH_LIMIT_MIB: u64 = 96;
fn status_kib(pid: i32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server's /proc status");
    s.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn schema() -> Arc<DatabaseSchema> {
    Arc::new(DatabaseSchema::from_file(&common::shipped("ovn-nb.ovsschema")).expect("NB schema"))
}

fn monitor_request(method: &str, id: &str) -> Message {
    let mut params =
        vec![json!(NB), json!(id), json!({"Address_Set": [{"columns": ["name", "addresses", "external_ids"]}]})];
    if method == "monitor_cond_since" {
        params.push(json!("00000000-0000-0000-0000-000000000000"));
    }
    Message::Request { method: method.into(), params, id: json!(id) }
}

/// A monitoring connection read by hand: nothing is read unless asked.
struct Slow {
    stream: UnixStream,
    framer: Framer,
    replica: Replica,
    v1: bool,
    /// Update notifications and bytes read after the monitor's reply.
    notes: usize,
    bytes: usize,
}

impl Slow {
    fn connect(sock: &Path, method: &str) -> Slow {
        let mut stream = UnixStream::connect(sock).expect("connect");
        stream.write_all(&monitor_request(method, "slow").to_bytes()).expect("monitor");
        let replica = Replica::new(schema(), &["Address_Set"]).expect("replica");
        let mut s =
            Slow { stream, framer: Framer::new(usize::MAX), replica, v1: method == "monitor", notes: 0, bytes: 0 };
        s.read_until("the monitor's reply", |s| {
            s.notes > 0 || s.replica.table("Address_Set").is_some_and(|(_, t)| !t.rows.is_empty())
        });
        s.notes = 0;
        s.bytes = 0;
        s
    }

    fn apply(&mut self, m: Message) {
        match m {
            Message::Reply { result, id } if id == json!("slow") => {
                let initial = if result.is_array() { &result[2] } else { &result };
                let r = if self.v1 { self.replica.apply_update(initial) } else { self.replica.apply_update2(initial) };
                r.expect("monitor reply applies");
                // Counted as a note so that the caller sees it came.
                self.notes += 1;
            }
            Message::Reply { .. } => {}
            Message::Notify { method, params } => {
                let r = match (method.as_str(), params.as_slice()) {
                    ("update", [_, u]) => self.replica.apply_update(u),
                    ("update2", [_, u]) | ("update3", [_, _, u]) => self.replica.apply_update2(u),
                    _ => panic!("unexpected notification {method} {params:?}"),
                };
                r.unwrap_or_else(|e| panic!("{method} does not apply to the replica: {e}"));
                self.notes += 1;
            }
            m => panic!("unexpected message {m:?}"),
        }
    }

    /// Reads until `done` holds (60 s at most).
    fn read_until(&mut self, what: &str, done: impl Fn(&Slow) -> bool) {
        self.stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = vec![0u8; 1 << 20];
        while !done(self) {
            assert!(Instant::now() < deadline, "waiting for {what}: {} updates read", self.notes);
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("the server closed the connection while waiting for {what}"),
                Ok(n) => {
                    self.bytes += n;
                    self.framer.push(&buf[..n]);
                    while let Some(m) = self.framer.next_message() {
                        self.apply(m.expect("a well-formed message"));
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("read error while waiting for {what}: {e}"),
            }
        }
    }

    fn has_row(&self, name: &str) -> bool {
        let (ts, t) = self.replica.table("Address_Set").expect("monitored");
        let c = ts.column("name").expect("name column");
        t.rows.values().any(|r| r.values[c].to_json() == json!(name))
    }
}

/// Counts the `update` notifications on a monitoring connection that
/// reads everything, in a thread.
struct Reader {
    updates: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    fn start(sock: &Path) -> Reader {
        let mut s = UnixStream::connect(sock).expect("connect");
        s.write_all(&monitor_request("monitor", "good").to_bytes()).expect("monitor");
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let (updates, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (u, st) = (updates.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            // The end of the previous read, so that a needle split across
            // two reads is still found (the stream is ASCII).
            let mut carry = String::new();
            while !st.load(Ordering::Relaxed) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        carry.push_str(&String::from_utf8_lossy(&buf[..n]));
                        u.fetch_add(carry.matches("\"update\"").count(), Ordering::Relaxed);
                        // Keep less than a whole needle: nothing is counted twice.
                        let keep = carry.len().min(7);
                        carry.drain(..carry.len() - keep);
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
        });
        Reader { updates, stop, thread: Some(thread) }
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

/// The rows the stream updates.
fn seed(w: &mut Rpc) {
    let ops: Vec<Value> = (0..ROWS)
        .map(|i| {
            let row = json!({"name": format!("s{i}"), "addresses": "10.0.0.1"});
            json!({"op": "insert", "table": "Address_Set", "row": row})
        })
        .collect();
    w.transact(NB, Value::Array(ops));
}

/// Transaction `i` of the stream: row `i % ROWS` gets a new 256 KiB value
/// in a map column and a new set of addresses; every 16th transaction also
/// creates a short-lived row and deletes the one created 16 before.
fn step(w: &mut Rpc, i: usize) {
    let blob = format!("{i}:{}", "x".repeat(BLOB));
    let addrs: Vec<String> = (0..3).map(|k| format!("10.{}.{}.{}", k, i % 5, (i / 8) % 7)).collect();
    let mut ops =
        vec![json!({"op": "update", "table": "Address_Set", "where": [["name", "==", format!("s{}", i % ROWS)]],
        "row": {"external_ids": ["map", [["blob", blob], ["n", i.to_string()]]], "addresses": ["set", addrs]}})];
    if i.is_multiple_of(16) {
        ops.push(json!({"op": "insert", "table": "Address_Set", "row": {"name": format!("tmp{i}")}}));
        let old = format!("tmp{}", i.wrapping_sub(16));
        ops.push(json!({"op": "delete", "table": "Address_Set", "where": [["name", "==", old]]}));
    }
    w.transact(NB, Value::Array(ops));
}

/// What the stream ends with: a row the stopped client waits for.
fn finish(w: &mut Rpc) {
    w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "done"}}]));
}

/// Streams `updates` transactions while a client monitoring with `method`
/// reads nothing, then lets it read: it must not have been disconnected,
/// must end with the database, and must have been sent merged updates.
fn stopped_client_catches_up(method: &str, updates: usize, with_reader: bool) {
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let pid = server.daemon.as_ref().expect("running").pid();
    let mut w = Rpc::connect(&server.sock);
    seed(&mut w);
    let mut slow = Slow::connect(&server.sock, method);
    let good = with_reader.then(|| Reader::start(&server.sock));
    // Settled once the reader's monitor is in place (the seed came back).
    std::thread::sleep(Duration::from_millis(200));
    let base = status_kib(pid, "VmRSS:");

    let t = Instant::now();
    for i in 0..updates {
        // A well-behaved client keeps up: the stream waits for the reading
        // client when it falls more than a few updates behind (this test
        // reads slowly, unoptimized).
        if let Some(good) = &good {
            let t = Instant::now();
            while good.updates.load(Ordering::Relaxed) + LAG < i {
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "the reading client got stuck at update {i}\n{}",
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        step(&mut w, i);
    }
    finish(&mut w);
    let pushed = t.elapsed();
    if let Some(good) = &good {
        // The reader gets every update.
        let t = Instant::now();
        while good.updates.load(Ordering::Relaxed) < updates + 1 {
            let got = good.updates.load(Ordering::Relaxed);
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the reading client got {got} of {updates} updates\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let peak = status_kib(pid, "VmHWM:");

    // The stopped client reads again, and catches up.
    slow.read_until("the last transaction", |s| s.has_row("done"));
    let replica = canonical_replica(&slow.replica.to_json());
    let want = w.contents(NB, &["Address_Set"]);
    assert!(replica == want, "{method}: the client's replica differs from the database");
    // Still connected: an echo is answered.
    slow.stream
        .write_all(
            &Message::Request { method: "echo".into(), params: vec![json!("still here")], id: json!("e") }.to_bytes(),
        )
        .unwrap();
    let mut echo = Vec::new();
    slow.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while !String::from_utf8_lossy(&echo).contains("still here") {
        let mut b = [0u8; 65536];
        let n = slow.stream.read(&mut b).expect("echo reply");
        assert!(n > 0, "{method}: the server closed the connection");
        echo.extend_from_slice(&b[..n]);
    }
    eprintln!(
        "{method}: {} MiB of updates in {pushed:.1?}; the stopped client read {} updates ({} MiB) for {} transactions; \
         server RSS {} MiB before, peak {} MiB",
        (updates * BLOB) >> 20,
        slow.notes,
        slow.bytes >> 20,
        updates + 1,
        base >> 10,
        peak >> 10
    );
    // The client's updates were merged: far fewer than the transactions.
    assert!(slow.notes < updates / 4, "{method}: {} updates for {updates} transactions", slow.notes);
    assert!(slow.bytes < updates * BLOB / 4, "{method}: {} MiB read", slow.bytes >> 20);
    let log = server.log();
    assert!(!log.contains("disconnecting"), "{method}: a client was disconnected:\n{log}");
    assert!(
        peak.saturating_sub(base) < GROWTH_LIMIT_MIB << 10,
        "{method}: server RSS grew from {} MiB to a peak of {} MiB",
        base >> 10,
        peak >> 10
    );
    assert!(server.alive(), "server died: {log}");
}

/// A stream of large updates to many monitoring clients at once (sent as
/// one batch per update, see ovsdb_server::batch_send): a dozen stopped
/// clients, whose sockets fill part way through a message, and two that
/// read along. The readers get every update; each stopped client, once it
/// reads, ends with exactly the database.
#[test]
fn many_clients_some_stopped_get_whole_updates() {
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let mut w = Rpc::connect(&server.sock);
    seed(&mut w);
    let methods = ["monitor", "monitor_cond", "monitor_cond_since"];
    let mut slow: Vec<Slow> = (0..12).map(|i| Slow::connect(&server.sock, methods[i % 3])).collect();
    let readers: Vec<Reader> = (0..2).map(|_| Reader::start(&server.sock)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let updates = 96;
    for i in 0..updates {
        let t = Instant::now();
        while readers.iter().any(|r| r.updates.load(Ordering::Relaxed) + LAG < i) {
            assert!(t.elapsed() < Duration::from_secs(20), "a reading client got stuck at update {i}\n{}", server.log());
            std::thread::sleep(Duration::from_millis(1));
        }
        step(&mut w, i);
    }
    finish(&mut w);
    let t = Instant::now();
    while let Some(r) = readers.iter().find(|r| r.updates.load(Ordering::Relaxed) < updates + 1) {
        let got = r.updates.load(Ordering::Relaxed);
        assert!(t.elapsed() < Duration::from_secs(30), "a reading client got {got} of {updates} updates\n{}", server.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    let want = w.contents(NB, &["Address_Set"]);
    for (i, s) in slow.iter_mut().enumerate() {
        s.read_until("the last transaction", |s| s.has_row("done"));
        assert!(canonical_replica(&s.replica.to_json()) == want, "stopped client {i}: its replica differs from the database");
    }
    let log = server.log();
    assert!(!log.contains("disconnecting"), "a client was disconnected:\n{log}");
    assert!(server.alive(), "server died: {log}");
}

#[test]
fn a_stopped_monitor_client_catches_up_with_merged_updates() {
    // 256 MiB, with a client that keeps up alongside.
    stopped_client_catches_up("monitor", 1024, true);
}

#[test]
fn a_stopped_monitor_cond_client_catches_up_with_merged_updates() {
    stopped_client_catches_up("monitor_cond", 384, false);
}

#[test]
fn a_stopped_monitor_cond_since_client_catches_up_with_merged_updates() {
    stopped_client_catches_up("monitor_cond_since", 384, false);
}

#[test]
fn a_python_idl_stopped_during_a_burst_ends_with_a_correct_replica() {
    if !python_ovs_available() {
        return;
    }
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let mut w = Rpc::connect(&server.sock);
    seed(&mut w);
    let (mut child, lines) = spawn_idl(&server, &[]);
    let pid = child.id() as i32;
    let wait_for = |want: &Value, what: &str| {
        idl_reaches(&lines, want, None, what);
    };
    wait_for(&w.contents(NB, &["Address_Set"]), "initial contents");
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    for i in 0..384 {
        step(&mut w, i);
    }
    finish(&mut w);
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    wait_for(&w.contents(NB, &["Address_Set"]), "after the burst");
    drop(child.stdin.take());
    let _ = child.wait();
    let log = server.log();
    assert!(!log.contains("disconnecting"), "the stopped client was disconnected:\n{log}");
    assert!(server.alive(), "server died: {log}");
}

/// Waits (up to 60 s) for the IDL printing into `lines` to have `want` as
/// its Address_Set replica — and `id` as its last transaction id, if given
/// (see idl_replica.py --last-id); returns that last id.
fn idl_reaches(lines: &std::sync::mpsc::Receiver<String>, want: &Value, id: Option<&Value>, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = Value::Null;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) => {
                let v: Value = serde_json::from_str(&l).expect("replica JSON");
                let replica = canonical_replica(&json!({"Address_Set": v["Address_Set"]}));
                if &replica == want && id.is_none_or(|id| *id == v["_last_id"]) {
                    return v["_last_id"].clone();
                }
                last = json!({"replica": replica, "last_id": v["_last_id"]});
            }
            Err(_) => panic!("{what}: the IDL did not get there\nIDL: {last}\nserver: {want} {id:?}"),
        }
    }
}

/// The python IDL on `server`, printing its replica (see
/// tests/data/idl_replica.py) line by line into the receiver.
fn spawn_idl(server: &Served, extra: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/idl_replica.py");
    let mut child = Command::new(PYTHON)
        .arg(script)
        .arg(server.target())
        .arg(common::shipped("ovn-nb.ovsschema"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(server.dir.path("idl.err")).expect("stderr file"))
        .spawn()
        .expect("start python");
    let (tx, lines) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    (child, lines)
}

/// An update3 client (the python IDL) stopped while rows come and go, each
/// inserted and deleted again, so that what is held for it cancels out: it
/// is still told the last transaction id (in an update3 with no table
/// updates, which the IDL takes), so that it resumes from there after a
/// reconnection, with a replica that neither misses nor repeats a row.
#[test]
fn a_python_idl_stopped_while_rows_come_and_go_learns_the_last_transaction() {
    if !python_ovs_available() || common::upstream("ovs-appctl").is_none() {
        return;
    }
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let daemon = server.daemon.as_ref().expect("running");
    let mut w = Rpc::connect(&server.sock);
    seed(&mut w);
    let (mut child, lines) = spawn_idl(&server, &["--last-id"]);
    let pid = child.id() as i32;
    let wait_for = |want: &Value, id: Option<&Value>, what: &str| idl_reaches(&lines, want, id, what);
    // The id of the last transaction, as a new client is told it.
    let newest = || {
        let req = json!({"Address_Set": [{"columns": ["name"]}]});
        Rpc::connect(&server.sock)
            .ok("monitor_cond_since", json!([NB, "n", req, "00000000-0000-0000-0000-000000000000"]))[1]
            .clone()
    };
    wait_for(&w.contents(NB, &["Address_Set"]), None, "initial contents");
    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    // 256 KiB rows inserted (and kept) until one is held for the client
    // (it is behind): that one is deleted again; then small rows come and
    // go. All that is held cancels out.
    let blob = "x".repeat(BLOB);
    let mut behind = false;
    for i in 0..400 {
        let name = format!("big{i}");
        w.transact(
            NB,
            json!([{"op": "insert", "table": "Address_Set",
                               "row": {"name": name, "external_ids": ["map", [["blob", blob]]]}}]),
        );
        let m = daemon.appctl(&["memory/show"]);
        if m.out.contains("held-rows:") {
            behind = true;
            w.transact(NB, json!([{"op": "delete", "table": "Address_Set", "where": [["name", "==", name]]}]));
            break;
        }
    }
    assert!(behind, "100 MiB sent and the stopped client is not behind");
    assert!(!daemon.appctl(&["memory/show"]).out.contains("held-rows:"), "what is held cancels out");
    for i in 0..10 {
        let name = format!("small{i}");
        w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": name}}]));
        w.transact(NB, json!([{"op": "delete", "table": "Address_Set", "where": [["name", "==", name]]}]));
    }
    let last = newest();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    wait_for(&w.contents(NB, &["Address_Set"]), Some(&last), "after the burst");
    // Reconnected, it resumes from that id (its reply makes a line); later
    // changes come as usual. (The python IDL takes the last id from update3
    // notifications only, not from monitor_cond_since replies.)
    assert_eq!(daemon.appctl(&["ovsdb-server/reconnect"]).code, 0);
    let mut w = Rpc::connect(&server.sock);
    wait_for(&w.contents(NB, &["Address_Set"]), Some(&last), "resumed");
    w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "after"}}]));
    let after = newest();
    wait_for(&w.contents(NB, &["Address_Set"]), Some(&after), "after reconnecting");
    drop(child.stdin.take());
    let _ = child.wait();
    let err = std::fs::read_to_string(server.dir.path("idl.err")).unwrap_or_default();
    assert!(!err.contains("ERR") && !err.contains("parse error"), "the IDL complained:\n{err}");
    let log = server.log();
    assert!(!log.contains("disconnecting"), "the stopped client was disconnected:\n{log}");
}

/// The same with upstream's C IDL: an `ovn-nbctl` daemon (OVN 23.03,
/// monitor_cond_since) stopped while what is held for it cancels out takes
/// the update3 with empty table-updates (no warning in its log), answers
/// with the right switches, and after a reconnection asks to resume from
/// the last transaction id (its `monitor_cond_since` request, in its
/// jsonrpc debug log).
#[test]
fn an_ovn_nbctl_daemon_stopped_while_rows_come_and_go_resumes_from_the_last_transaction() {
    if !common::upstreams(&["ovn-nbctl", "ovs-appctl"]) {
        return;
    }
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let daemon = server.daemon.as_ref().expect("running");
    let dir = &server.dir;
    let (pidfile, log) = (dir.path("nbctl.pid"), dir.path("nbctl.log"));
    let out = Command::new("ovn-nbctl")
        .arg(format!("--db={}", server.target()))
        .args(["--detach", "--no-chdir", "-vjsonrpc:file:dbg"])
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--log-file={}", log.display()))
        .env("OVN_RUNDIR", &dir.0)
        .output()
        .expect("start ovn-nbctl --detach");
    assert!(out.status.success(), "ovn-nbctl --detach: {}", String::from_utf8_lossy(&out.stderr));
    let ctl_path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("nbctl pidfile").trim().parse().expect("pid");
    // Stopped (SIGTERM, continued first) whatever happens below.
    struct Stop(i32);
    impl Drop for Stop {
        fn drop(&mut self) {
            // SAFETY: kill(2) on the daemon this test started.
            unsafe {
                libc::kill(self.0, libc::SIGCONT);
                libc::kill(self.0, libc::SIGTERM);
            }
        }
    }
    let _stop = Stop(pid);
    let nbctl = |args: &[&str]| {
        let o = Command::new("ovn-nbctl").env("OVN_NB_DAEMON", &ctl_path).args(args).output().expect("ovn-nbctl");
        assert!(o.status.success(), "ovn-nbctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    nbctl(&["ls-add", "keep"]);
    let mut w = Rpc::connect(&server.sock);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let blob = "x".repeat(BLOB);
    let mut n = 0;
    loop {
        assert!(n < 400, "100 MiB sent and the stopped daemon is not behind");
        let name = format!("big{n}");
        w.transact(
            NB,
            json!([{"op": "insert", "table": "Logical_Switch",
                               "row": {"name": name, "external_ids": ["map", [["blob", blob]]]}}]),
        );
        if daemon.appctl(&["memory/show"]).out.contains("held-rows:") {
            w.transact(NB, json!([{"op": "delete", "table": "Logical_Switch", "where": [["name", "==", name]]}]));
            break;
        }
        n += 1;
    }
    for i in 0..3 {
        let name = format!("small{i}");
        w.transact(NB, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]));
        w.transact(NB, json!([{"op": "delete", "table": "Logical_Switch", "where": [["name", "==", name]]}]));
    }
    let req = json!({"NB_Global": [{"columns": ["nb_cfg"]}]});
    let zero = "00000000-0000-0000-0000-000000000000";
    let last = Rpc::connect(&server.sock).ok("monitor_cond_since", json!([NB, "n", req, zero]))[1].clone();
    let last = last.as_str().expect("an id").to_string();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    // The daemon's answers come from its replica, current once it has read
    // the last update.
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    let t = Instant::now();
    while !text().contains(&format!("method=\"update3\", params=[[\"monid\",\"OVN_Northbound\"],\"{last}\",{{}}]")) {
        assert!(t.elapsed() < Duration::from_secs(30), "no empty update3 naming {last} in the daemon's log");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(nbctl(&["ls-list"]).lines().count(), n + 1, "keep and big0..big{}", n - 1);
    assert_eq!(daemon.appctl(&["ovsdb-server/reconnect"]).code, 0);
    let t = Instant::now();
    let resumed = "method=\"monitor_cond_since\"".to_string();
    while text().matches(&resumed).count() < 2 {
        assert!(t.elapsed() < Duration::from_secs(30), "the daemon did not reconnect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log_text = text();
    let request = log_text.lines().filter(|l| l.contains(&resumed)).nth(1).expect("the second request");
    assert!(request.contains(&format!("\"{last}\"], id=")), "it resumes from another id: {request}");
    assert_eq!(nbctl(&["ls-list"]).lines().count(), n + 1);
    let warnings: Vec<&str> = log_text.lines().filter(|l| l.contains("|WARN|") || l.contains("|ERR|")).collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_client_pipelining_requests_it_does_not_read_the_replies_of_is_paused_not_dropped() {
    let server = Served::start(ROVN, "ovn-nb.ovsschema");
    let pid = server.daemon.as_ref().expect("running").pid();
    let mut w = Rpc::connect(&server.sock);
    let blob = "x".repeat(1 << 20);
    let row = json!({"name": "big", "external_ids": ["map", [["blob", blob]]]});
    w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": row}]));
    let base = status_kib(pid, "VmRSS:");
    // 300 selects of the 1 MiB row, sent at once (one read for the server),
    // and no reply read until all are sent: 300 MiB of replies.
    const N: usize = 300;
    let mut c = UnixStream::connect(&server.sock).expect("connect");
    let mut reqs = Vec::new();
    for i in 0..N {
        let params = vec![json!(NB), json!({"op": "select", "table": "Address_Set", "where": []})];
        reqs.extend(Message::Request { method: "transact".into(), params, id: json!(i) }.to_bytes());
    }
    let mut tx = c.try_clone().unwrap();
    let sender = std::thread::spawn(move || tx.write_all(&reqs).is_ok());
    // The server stops taking requests while the replies wait; give it the
    // time to take (and answer) all it would.
    std::thread::sleep(Duration::from_secs(2));
    let peak = status_kib(pid, "VmHWM:");
    // Then every reply comes, in order, on the same connection.
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut framer = Framer::new(usize::MAX);
    let mut buf = vec![0u8; 1 << 20];
    let mut next = 0;
    while next < N {
        let n = c.read(&mut buf).expect("replies");
        assert!(n > 0, "the server closed the connection after {next} replies\n{}", server.log());
        framer.push(&buf[..n]);
        while let Some(m) = framer.next_message() {
            match m.expect("a well-formed message") {
                Message::Reply { id, result } => {
                    assert_eq!(id, json!(next));
                    assert_eq!(result[0]["rows"].as_array().map(Vec::len), Some(1));
                    next += 1;
                }
                m => panic!("unexpected {m:?}"),
            }
        }
    }
    assert!(sender.join().unwrap(), "the requests could not all be sent");
    eprintln!(
        "{N} MiB of replies to pipelined requests: server RSS {} MiB before, peak {} MiB",
        base >> 10,
        peak >> 10
    );
    assert!(
        peak.saturating_sub(base) < GROWTH_LIMIT_MIB << 10,
        "server RSS grew from {} to {} MiB",
        base >> 10,
        peak >> 10
    );
    assert!(!server.log().contains("disconnecting"), "{}", server.log());
}

/// What a client that stopped reading gets for the rows of a small table
/// that came and went meanwhile: `server` fills the client's socket with
/// 10 MB of updates of another table, then row `r` is inserted and
/// modified, row `r2` inserted and deleted, and the pre-existing `marker`
/// modified; the client reads up to the marker's change. Returns its
/// `update2`s of monitor `addr` on Address_Set (all changes, two columns)
/// since the fill, with row UUIDs replaced by the rows' names.
fn held_back_address_sets(server: &str) -> Vec<Value> {
    let served = Served::start(server, "ovn-nb.ovsschema");
    let (mut a, mut w) = (Rpc::connect(&served.sock), Rpc::connect(&served.sock));
    let uuid_of = |r: &[Value]| r[0]["uuid"][1].as_str().expect("uuid").to_string();
    let marker = uuid_of(&w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "marker"}}])));
    let ls = json!(["OVN_Northbound", "big", {"Logical_Switch": [{"columns": ["name", "external_ids"]}]}]);
    a.ok("monitor_cond", ls);
    let sets = json!(["OVN_Northbound", "addr", {"Address_Set": [{"columns": ["name", "addresses"]}]}]);
    a.ok("monitor_cond", sets);
    // The client reads nothing from here on until the marker.
    let blob = "x".repeat(100_000);
    for i in 0..100 {
        w.transact(NB, json!([{"op": "insert", "table": "Logical_Switch",
                               "row": {"name": format!("s{i}"), "external_ids": ["map", [["blob", blob]]]}}]));
    }
    let r = uuid_of(&w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "r", "addresses": "10.0.0.1"}}])));
    w.transact(NB, json!([{"op": "update", "table": "Address_Set", "where": [["name", "==", "r"]], "row": {"addresses": "10.0.0.2"}}]));
    let r2 = uuid_of(&w.transact(NB, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "r2", "addresses": "10.0.0.3"}}])));
    w.transact(NB, json!([{"op": "delete", "table": "Address_Set", "where": [["name", "==", "r2"]]}]));
    w.transact(NB, json!([{"op": "update", "table": "Address_Set", "where": [["name", "==", "marker"]], "row": {"addresses": "1.1.1.1"}}]));
    let names = [(marker, "marker"), (r, "r"), (r2, "r2")];
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{server}: the marker's change never reached the client");
        let Some(m) = a.recv(Duration::from_secs(1)) else { continue };
        let Message::Notify { method, params } = m else { continue };
        if method != "update2" || params[0] != json!("addr") {
            continue;
        }
        let mut text = params[1].to_string();
        for (u, n) in &names {
            text = text.replace(u.as_str(), n);
        }
        let update: Value = serde_json::from_str(&text).expect("JSON");
        let done = text.contains("1.1.1.1");
        got.push(update);
        if done {
            return got;
        }
    }
}

/// The same transactions while a client is stopped give its monitor the
/// same merged update on rovn as on ovsdb-server 3.1: the row inserted and
/// modified meanwhile as an insert of what it became, the row inserted and
/// deleted meanwhile not at all, with the marker's change in the same
/// update. (Both servers hold back a client's updates while it does not
/// read, from different points: upstream as soon as anything is unsent.)
#[test]
fn a_stopped_clients_merged_update_is_the_real_servers() {
    if !common::upstreams(&["ovsdb-server"]) {
        return;
    }
    let ours = held_back_address_sets(ROVN);
    let real = held_back_address_sets("ovsdb-server");
    let want = vec![json!({"Address_Set": {
        "r": {"insert": {"name": "r", "addresses": "10.0.0.2"}},
        "marker": {"modify": {"addresses": "1.1.1.1"}},
    }})];
    assert_eq!(real, want, "ovsdb-server 3.1 did not merge as this test expects");
    assert_eq!(ours, want, "rovn's merged update differs from ovsdb-server's");
}
