//! Side-by-side benchmark of upstream `ovsdb-server` and `rovn ovsdb-server`,
//! both driven by this one client over unix sockets with raw JSON-RPC.
//!
//! ```sh
//! cargo build --release -p rovn && cargo run --release -p rovn --example server_bench [-- OPTIONS]
//! ```
//!
//! Options: `--runs N` (3; each run starts both servers afresh, the table
//! shows medians), `--seq N` (2000 sequential transactions), `--pipe N`
//! (10000 pipelined transactions, `--window W` = 64 in flight), `--rows N`
//! (100000 Logical_Switch_Ports bulk-loaded, 1000 per transaction),
//! `--updates N` (20 updates timed per fan-out measurement), `--only
//! rovn|upstream`, `--phases idle,seq,echo,pipe,bulk,fanout,distinct` (a
//! subset, for profiling; `fanout100` is the fan-out to 100 clients alone),
//! `--rovn PATH` (default: the `rovn` next to this example's directory),
//! `--ovsdb-server PATH` (default: from `PATH`).
//!
//! Both servers are started the same way: a fresh database created by
//! their own `ovsdb-tool create` from schemas/ovn-nb.ovsschema, `--remote=
//! punix:`, `--log-file`, `--pidfile`, `--detach`, all in one temporary
//! directory, with the file-descriptor limit raised to its hard limit. Each
//! is stopped by the pid in its pidfile.
//!
//! What is measured, per server:
//! - sequential: one client, one `lsp-add`-like transaction at a time
//!   (insert a Logical_Switch_Port and add it to a switch of 100 ports);
//! - pipelined: the same with `--window` transactions in flight;
//! - bulk load: `--rows` ports in transactions of 1000 (one switch each);
//! - fan-out to 100 and 1000 clients that all `monitor_cond` the same
//!   table: from sending an update transaction to every client's socket
//!   holding its `update2` (seen through epoll, without reading), and to
//!   one client thread having read them all (median of `--updates`
//!   updates each; see `fan_out`), and, with 1000 clients, from sending an
//!   update to its reply being readable by a writer that connected after
//!   the clients;
//! - fan-out to 1000 clients with distinct conditions, each watching 20 of
//!   20000 address sets by name (as ovn-controller watches its datapaths):
//!   one transaction modifies 100 sets of 100 different clients; until
//!   those 100 have their update;
//! - memory: the server's VmRSS after the bulk load, and with 1000
//!   monitoring clients connected;
//! - memory per idle connection: the growth of the server's VmRSS (on the
//!   fresh server, before the other phases) when 1000 clients connect and
//!   do one `echo` each, divided by 1000.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::Message;
use serde_json::{json, Value};

const BULK_PER_TXN: usize = 1000;
const PORTS_PER_SWITCH: usize = 100;
const CLAUSES: usize = 20;

struct Opts {
    runs: usize,
    seq: usize,
    pipe: usize,
    window: usize,
    rows: usize,
    updates: usize,
    only: Option<String>,
    /// Phases to run (all if empty).
    phases: Vec<String>,
    rovn: PathBuf,
    upstream: PathBuf,
}

fn usage(msg: &str) -> ! {
    eprintln!("server_bench: {msg}");
    eprintln!(
        "usage: server_bench [--runs N] [--seq N] [--pipe N] [--window W] [--rows N] [--updates N] [--only rovn|upstream] [--phases LIST] [--rovn PATH] [--ovsdb-server PATH]"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/examples/server_bench -> target/<profile>/rovn
    let rovn = exe.parent().and_then(Path::parent).map(|p| p.join("rovn")).unwrap_or_default();
    let mut o = Opts {
        runs: 3,
        seq: 2000,
        pipe: 10_000,
        window: 64,
        rows: 100_000,
        updates: 20,
        only: None,
        phases: Vec::new(),
        rovn,
        upstream: PathBuf::from("ovsdb-server"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        let num = |v: String| v.parse::<usize>().unwrap_or_else(|_| usage(&format!("{a}: not a number: {v}")));
        match a.as_str() {
            "--runs" => o.runs = num(val()).max(1),
            "--seq" => o.seq = num(val()),
            "--pipe" => o.pipe = num(val()),
            "--window" => o.window = num(val()).max(1),
            "--rows" => o.rows = num(val()).max(BULK_PER_TXN),
            "--updates" => o.updates = num(val()).max(1),
            "--only" => o.only = Some(val()),
            "--phases" => o.phases = val().split(',').map(str::to_string).collect(),
            "--rovn" => o.rovn = PathBuf::from(val()),
            "--ovsdb-server" => o.upstream = PathBuf::from(val()),
            "-h" | "--help" => usage("benchmark of ovsdb-server and rovn ovsdb-server"),
            _ => usage(&format!("unknown option {a}")),
        }
    }
    o
}

/// A blocking raw JSON-RPC client. It keeps its own cost per message low
/// (requests written from text, replies and notifications checked without
/// building JSON trees where the figures are timed), so that the figures
/// measure the servers rather than this client.
struct Rpc {
    sock: UnixStream,
    next_id: u64,
    /// Received bytes; `start..` not yet consumed.
    inbuf: Vec<u8>,
    start: usize,
    out: Vec<u8>,
    /// Where reads land (not zeroed again for each read).
    rbuf: Vec<u8>,
}

/// What the timed paths read of a message: its id or method, and whether
/// any operation of a transaction's result failed.
#[derive(serde::Deserialize)]
struct Lean<'a> {
    #[serde(default)]
    id: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    method: Option<&'a str>,
    #[serde(default)]
    result: Option<LeanResult>,
    #[serde(default)]
    error: Option<Value>,
}

/// A reply's `result`: for a transaction, the operations' results.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LeanResult {
    Ops(Vec<LeanOp>),
    Other(serde::de::IgnoredAny),
}

#[derive(serde::Deserialize)]
struct LeanOp {
    #[serde(default)]
    error: Option<Value>,
}

impl Rpc {
    fn connect(path: &Path) -> Rpc {
        let sock = UnixStream::connect(path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
        Rpc { sock, next_id: 0, inbuf: Vec::new(), start: 0, out: Vec::new(), rbuf: vec![0; 64 << 10] }
    }

    /// Sends a request whose params are JSON text; returns its id.
    fn send_text(&mut self, method: &str, params: &str) -> u64 {
        use std::fmt::Write as _;
        self.next_id += 1;
        let mut m = String::with_capacity(params.len() + 48);
        let _ = write!(m, r#"{{"id":{},"method":"{method}","params":{params}}}"#, self.next_id);
        self.out.clear();
        self.out.extend_from_slice(m.as_bytes());
        self.sock.write_all(&self.out).expect("send");
        self.next_id
    }

    /// Sends a request; returns its id.
    fn send(&mut self, method: &str, params: Value) -> u64 {
        let p = params.to_string();
        self.send_text(method, &p)
    }

    /// The byte range of the next complete JSON text received (blocking).
    fn recv_raw(&mut self) -> std::ops::Range<usize> {
        loop {
            let pending = &self.inbuf[self.start..];
            let mut it = serde_json::Deserializer::from_slice(pending).into_iter::<serde::de::IgnoredAny>();
            match it.next() {
                Some(Ok(_)) => {
                    let r = self.start..self.start + it.byte_offset();
                    self.start = r.end;
                    return r;
                }
                Some(Err(e)) if !e.is_eof() => panic!("server sent bad JSON: {e}"),
                _ => {}
            }
            if self.start == self.inbuf.len() {
                self.inbuf.clear();
                self.start = 0;
            }
            let n = match self.sock.read(&mut self.rbuf) {
                Ok(n) => n,
                // A spinning client (see `fan_out`) tries again at once.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::hint::spin_loop();
                    continue;
                }
                Err(e) => panic!("read: {e}"),
            };
            assert!(n > 0, "server closed the connection");
            self.inbuf.extend_from_slice(&self.rbuf[..n]);
        }
    }

    /// The next message from the server, parsed in full (blocking).
    fn recv(&mut self) -> Message {
        let r = self.recv_raw();
        let v: Value = serde_json::from_slice(&self.inbuf[r]).expect("json");
        Message::from_json(v).expect("server sent bad JSON-RPC")
    }

    /// Waits for the reply to request `id`, skipping notifications.
    fn reply(&mut self, id: u64) -> Value {
        loop {
            match self.recv() {
                Message::Reply { result, id: rid } if rid == json!(id) => return result,
                Message::Error { error, id: rid } if rid == json!(id) => {
                    panic!("request failed: {error}")
                }
                _ => {}
            }
        }
    }

    /// Waits for the reply to the transaction sent last (skipping
    /// notifications) and checks that every operation succeeded, without
    /// keeping the result.
    fn txn_done(&mut self) {
        loop {
            let r = self.recv_raw();
            let m: Lean = serde_json::from_slice(&self.inbuf[r.clone()]).expect("json-rpc");
            if m.method.is_some() || m.id.is_none() {
                continue;
            }
            let ok = m.error.as_ref().is_none_or(Value::is_null)
                && matches!(&m.result, Some(LeanResult::Ops(ops)) if ops.iter().all(|o| o.error.is_none()));
            assert!(ok, "transaction failed: {}", String::from_utf8_lossy(&self.inbuf[r]));
            return;
        }
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        self.reply(id)
    }

    /// Runs a transaction and checks that every operation succeeded.
    fn transact(&mut self, ops: Vec<Value>) -> Value {
        let id = self.send("transact", txn_params(ops));
        check_txn(self.reply(id))
    }

    /// Waits for the next `update2` notification.
    fn update2(&mut self) -> Value {
        loop {
            if let Message::Notify { method, mut params } = self.recv() {
                if method == "update2" && params.len() == 2 {
                    return params.pop().unwrap_or_default();
                }
            }
        }
    }

    /// Waits for the next `update2` notification, checking only that it is
    /// one (and complete JSON, which framing it checked): a search for its
    /// method, not a second parse — with a thousand clients read one after
    /// the other, the client's cost per message bounds the fan-out time.
    fn update2_arrived(&mut self) {
        const METHOD: &[u8] = br#""method":"update2""#;
        loop {
            let r = self.recv_raw();
            if self.inbuf[r].windows(METHOD.len()).any(|w| w == METHOD) {
                return;
            }
        }
    }
}

fn txn_params(ops: Vec<Value>) -> Value {
    let mut p = vec![json!("OVN_Northbound")];
    p.extend(ops);
    Value::Array(p)
}

fn check_txn(r: Value) -> Value {
    let ok = r.as_array().is_some_and(|a| a.iter().all(|o| o.get("error").is_none()));
    assert!(ok, "transaction failed: {r}");
    r
}

fn uuid_of(r: &Value, i: usize) -> String {
    r[i]["uuid"][1].as_str().expect("insert result").to_string()
}

fn mac_ip(i: usize) -> String {
    let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
    format!("0a:00:00:{a:02x}:{b:02x}:{c:02x} 10.{a}.{b}.{c}")
}

/// `ovn-nbctl lsp-add`, roughly: a port, added to switch `ls`; the
/// transaction's params as JSON text.
fn lsp_add(ls: &str, name: &str, i: usize) -> String {
    format!(
        r#"["OVN_Northbound",{{"op":"insert","table":"Logical_Switch_Port","uuid-name":"p","row":{{"name":"{name}","addresses":"{}","external_ids":["map",[["pod","true"],["namespace","default"]]]}}}},{{"op":"mutate","table":"Logical_Switch","where":[["_uuid","==",["uuid","{ls}"]]],"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]}}]"#,
        mac_ip(i)
    )
}

/// Transaction `b` of the bulk load, its params as JSON text: ports
/// lsp<b*1000>.. and the switch bulk<b> that holds them.
fn bulk_txn(b: usize) -> String {
    use std::fmt::Write as _;
    let mut t = String::with_capacity(200 * BULK_PER_TXN);
    t.push_str(r#"["OVN_Northbound""#);
    for k in 0..BULK_PER_TXN {
        let n = b * BULK_PER_TXN + k;
        let _ = write!(
            t,
            r#",{{"op":"insert","table":"Logical_Switch_Port","uuid-name":"p{k}","row":{{"name":"lsp{n}","addresses":"{}"}}}}"#,
            mac_ip(n)
        );
    }
    let _ = write!(t, r#",{{"op":"insert","table":"Logical_Switch","row":{{"name":"bulk{b}","ports":["set",["#);
    for k in 0..BULK_PER_TXN {
        let _ = write!(t, r#"{}["named-uuid","p{k}"]"#, if k > 0 { "," } else { "" });
    }
    t.push_str("]]}}]");
    t
}

fn new_switch(name: &str) -> Vec<Value> {
    vec![json!({"op": "insert", "table": "Logical_Switch", "row": {"name": name}})]
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time a process has used so far (all its threads), in seconds.
fn cpu_secs(pid: i32) -> f64 {
    let mut ns = 0u64;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        ns += s.split_whitespace().next().and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    }
    ns as f64 / 1e9
}

/// A server started for one run, stopped (by its pid) when dropped.
struct Served {
    dir: PathBuf,
    sock: PathBuf,
    pid: i32,
}

impl Served {
    fn start(which: &str, o: &Opts, run: usize) -> Served {
        let dir = std::env::temp_dir().join(format!("rovn-server-bench-{}-{which}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
        let db = dir.join("nb.db");
        let sock = dir.join("nb.sock");
        let (prog, pre): (&Path, &[&str]) = match which {
            "rovn" => (&o.rovn, &["ovsdb-server"]),
            _ => (&o.upstream, &[]),
        };
        let create = match which {
            "rovn" => Command::new(&o.rovn).args(["ovsdb-tool", "create"]).arg(&db).arg(&schema).output(),
            _ => Command::new("ovsdb-tool").arg("create").arg(&db).arg(&schema).output(),
        };
        match create {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("{which}: ovsdb-tool create failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => panic!("{which}: cannot run ovsdb-tool: {e}"),
        }
        let out = Command::new(prog)
            .args(pre)
            .arg(&db)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--pidfile={}", dir.join("server.pid").display()))
            .arg(format!("--log-file={}", dir.join("server.log").display()))
            .arg(format!("--unixctl={}", dir.join("server.ctl").display()))
            .args(["--detach", "--no-chdir"])
            .env("OVS_RUNDIR", &dir)
            .env("OVS_DBDIR", &dir)
            .env("OVS_LOGDIR", &dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", prog.display()));
        assert!(out.status.success(), "{which} failed to start: {}", String::from_utf8_lossy(&out.stderr));
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(20), "{which}: no socket");
            std::thread::sleep(Duration::from_millis(10));
        }
        let pid = std::fs::read_to_string(dir.join("server.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("{which}: no pidfile"));
        Served { dir, sock, pid }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid our own server wrote to its pidfile.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let t = Instant::now();
        while Path::new(&format!("/proc/{}", self.pid)).exists() && t.elapsed() < Duration::from_secs(10) {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
            if stat.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One run's figures for one server, by metric.
type Figures = Vec<(&'static str, f64)>;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Connects `n` clients that each `monitor_cond` Logical_Router's name and
/// external_ids; returns them once all have their initial contents.
fn router_monitors(srv: &Served, n: usize) -> Vec<Rpc> {
    let mut cs: Vec<Rpc> = (0..n).map(|_| Rpc::connect(&srv.sock)).collect();
    let req = json!({"Logical_Router": [{"columns": ["name", "external_ids"]}]});
    let ids: Vec<u64> =
        cs.iter_mut().map(|c| c.send("monitor_cond", json!(["OVN_Northbound", "routers", req]))).collect();
    for (c, id) in cs.iter_mut().zip(ids) {
        c.reply(id);
    }
    cs
}

/// One fan-out measurement: medians over the updates, in ms.
struct FanOut {
    /// From sending the update to every client's socket holding it.
    ready: f64,
    /// From sending the update to one client thread having read it from
    /// every socket.
    read: f64,
    /// The server's CPU time per update (while read).
    cpu: f64,
    /// From sending the update to its reply being readable by a writer
    /// that connected after the clients (if one was given).
    reply: Option<f64>,
}

/// Times `updates` updates of router r0 (`updates` by reading, then
/// `updates` by readiness) as seen by `clients`.
///
/// *Ready*: the clients' sockets are registered, edge-triggered, with one
/// epoll instance, and the time is taken when epoll has reported every one
/// of them readable since the update was sent; only then are the updates
/// read (and checked to be `update2` notifications). This is the time the
/// server takes to deliver the update to all clients, which on their own
/// hosts read their own sockets in parallel. Both servers write a message
/// this small with one `send`, so a readable socket holds the whole of it.
/// Being watched costs each send a little more in the kernel (marking the
/// socket ready for epoll: about 1 us a send for both servers on this VM),
/// so this time is longer than the server's CPU time for an update.
///
/// *Reply* (with `late`, a writer that connected after the clients): as
/// *ready*, `updates` more times, sent by `late`, whose socket is watched
/// too: when the transaction's reply could be read, while the update goes
/// out. (The other measures use `w`, connected before the clients, as in
/// earlier sessions.)
///
/// *Read*: one thread reads the sockets one after the other, spinning on
/// each until its update is there. Once the server writes faster than the
/// thread reads (2-4 us a socket on this VM), this measures the thread.
///
/// The client spins in both (non-blocking calls, tried again at once): a
/// client that slept whenever it caught up would add its own wake-ups
/// (tens of µs each on this VM) to the time.
fn fan_out(
    pid: i32,
    w: &mut Rpc,
    mut late: Option<&mut Rpc>,
    clients: &mut [Rpc],
    updates: usize,
    seq: &mut usize,
) -> FanOut {
    use std::os::fd::AsRawFd;
    for c in clients.iter_mut() {
        c.sock.set_nonblocking(true).expect("non-blocking");
    }
    let update = |w: &mut Rpc, seq: &mut usize| {
        *seq += 1;
        let op = json!({"op": "update", "table": "Logical_Router", "where": [["name", "==", "r0"]],
                        "row": {"external_ids": ["map", [["seq", seq.to_string()]]]}});
        w.send("transact", txn_params(vec![op]))
    };
    let cpu = cpu_secs(pid);
    let mut read_times = Vec::with_capacity(updates);
    for _ in 0..updates {
        let t = Instant::now();
        let id = update(w, seq);
        for c in clients.iter_mut() {
            c.update2_arrived();
        }
        read_times.push(t.elapsed().as_secs_f64() * 1e3);
        check_txn(w.reply(id));
    }
    // (Without epoll: its registrations cost the sender a little per send.)
    let cpu = (cpu_secs(pid) - cpu) * 1e3 / updates as f64;
    // SAFETY: plain system calls on descriptors this function owns or
    // borrows from `clients` (which outlive it); `events` outlives each call.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0, "epoll_create1: {}", std::io::Error::last_os_error());
    for (i, c) in clients.iter().enumerate() {
        let mut ev = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLET) as u32, u64: i as u64 };
        let r = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, c.sock.as_raw_fd(), &mut ev) };
        assert!(r == 0, "epoll_ctl: {}", std::io::Error::last_os_error());
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let wait = |events: &mut Vec<libc::epoll_event>| -> usize {
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 0) };
        assert!(n >= 0, "epoll_wait: {}", std::io::Error::last_os_error());
        n as usize
    };
    // The late writer too: when its reply arrives.
    const WRITER: u64 = u64::MAX;
    if let Some(l) = late.as_deref() {
        let mut ev = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLET) as u32, u64: WRITER };
        // SAFETY: as above (`late` outlives this function).
        let r = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, l.sock.as_raw_fd(), &mut ev) };
        assert!(r == 0, "epoll_ctl: {}", std::io::Error::last_os_error());
    }
    // Nothing is pending: every earlier update was read.
    assert_eq!(wait(&mut events), 0, "a monitoring client has unread data before the fan-out");
    let mut ready_times = Vec::with_capacity(updates);
    let mut reply_times = Vec::with_capacity(updates);
    let mut seen = vec![false; clients.len()];
    // Pass 0 times the fan-out (writer `w`), pass 1 the late writer's reply.
    for pass in 0..2 {
        let writer: &mut Rpc = match (pass, late.as_deref_mut()) {
            (0, _) => &mut *w,
            (_, Some(l)) => l,
            _ => break,
        };
        for _ in 0..updates {
            seen.iter_mut().for_each(|s| *s = false);
            let mut left = clients.len();
            let mut replied = None;
            let t = Instant::now();
            let id = update(writer, seq);
            while left > 0 || (pass == 1 && replied.is_none()) {
                let n = wait(&mut events);
                for ev in &events[..n] {
                    if ev.u64 == WRITER {
                        replied.get_or_insert_with(|| t.elapsed().as_secs_f64() * 1e3);
                        continue;
                    }
                    let i = ev.u64 as usize;
                    if !seen[i] {
                        seen[i] = true;
                        left -= 1;
                        if left == 0 && pass == 0 {
                            ready_times.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                    }
                }
            }
            reply_times.extend(replied);
            for c in clients.iter_mut() {
                c.update2_arrived();
            }
            check_txn(writer.reply(id));
            // The reads raised no new edges; whatever epoll still holds from
            // this update (a second event for a socket) goes now.
            while wait(&mut events) > 0 {}
        }
    }
    // SAFETY: `ep` is this function's own descriptor.
    unsafe { libc::close(ep) };
    for c in clients.iter_mut() {
        c.sock.set_nonblocking(false).expect("blocking");
    }
    let reply = (!reply_times.is_empty()).then(|| median(&mut reply_times));
    FanOut { ready: median(&mut ready_times), read: median(&mut read_times), cpu, reply }
}

fn measure(which: &str, o: &Opts, run: usize) -> Figures {
    let srv = Served::start(which, o, run);
    let mut f: Figures = Vec::new();
    let mut w = Rpc::connect(&srv.sock);
    w.call("list_dbs", json!([]));

    let phase = |p: &str| o.phases.is_empty() || o.phases.iter().any(|x| x == p);
    let mut port = 0usize;
    if phase("idle") {
        // Memory per idle connection, on the fresh server (first, before
        // the other phases have grown anything): 1000 clients that each
        // connected and did one echo, then sit idle.
        let n = 1000;
        w.call("echo", json!([]));
        let before = rss_kib(srv.pid);
        let mut cs: Vec<Rpc> = (0..n).map(|_| Rpc::connect(&srv.sock)).collect();
        for c in &mut cs {
            c.call("echo", json!([]));
        }
        // Let the server settle after the last echo.
        w.call("echo", json!([]));
        std::thread::sleep(Duration::from_millis(200));
        let after = rss_kib(srv.pid);
        f.push(("memory per idle connection, KiB", after.saturating_sub(before) as f64 / n as f64));
        drop(cs);
    }
    if phase("seq") {
        // Sequential small transactions.
        let mut ls = String::new();
        let (t, cpu) = (Instant::now(), cpu_secs(srv.pid));
        for i in 0..o.seq {
            if i % PORTS_PER_SWITCH == 0 {
                ls = uuid_of(&w.transact(new_switch(&format!("seq{}", i / PORTS_PER_SWITCH))), 0);
            }
            w.send_text("transact", &lsp_add(&ls, &format!("s{port}"), port));
            w.txn_done();
            port += 1;
        }
        f.push(("sequential txn/s", o.seq as f64 / t.elapsed().as_secs_f64()));
        f.push(("  server CPU per sequential txn, us", (cpu_secs(srv.pid) - cpu) * 1e6 / o.seq as f64));
    }
    if phase("echo") {
        // The floor under the sequential figure: round trips that ask the
        // server for nothing but an answer.
        let (t, cpu) = (Instant::now(), cpu_secs(srv.pid));
        for _ in 0..o.seq {
            let id = w.send_text("echo", "[]");
            w.reply(id);
        }
        f.push(("sequential echo/s", o.seq as f64 / t.elapsed().as_secs_f64()));
        f.push(("  server CPU per echo, us", (cpu_secs(srv.pid) - cpu) * 1e6 / o.seq as f64));
    }
    if phase("pipe") {
        // Pipelined: the switches first, then `window` lsp-adds in flight.
        let n_sw = o.pipe.div_ceil(PORTS_PER_SWITCH);
        let switches: Vec<String> =
            (0..n_sw).map(|k| uuid_of(&w.transact(new_switch(&format!("pipe{k}"))), 0)).collect();
        let (t, cpu) = (Instant::now(), cpu_secs(srv.pid));
        let mut inflight = 0;
        for i in 0..o.pipe {
            // The server answers in order: each reply read is the oldest's.
            if inflight == o.window {
                w.txn_done();
                inflight -= 1;
            }
            let ops = lsp_add(&switches[i / PORTS_PER_SWITCH], &format!("s{port}"), port);
            port += 1;
            w.send_text("transact", &ops);
            inflight += 1;
        }
        for _ in 0..inflight {
            w.txn_done();
        }
        f.push(("pipelined txn/s", o.pipe as f64 / t.elapsed().as_secs_f64()));
        f.push(("  server CPU per pipelined txn, us", (cpu_secs(srv.pid) - cpu) * 1e6 / o.pipe as f64));
    }
    if phase("bulk") {
        // Bulk load: ports named lsp<N>, 1000 per transaction, one switch each.
        let (t, cpu) = (Instant::now(), cpu_secs(srv.pid));
        // Written as text and checked without building JSON trees, as the
        // other phases, so that the client's cost (the same for both
        // servers) does not hide the servers' own.
        for b in 0..o.rows / BULK_PER_TXN {
            w.send_text("transact", &bulk_txn(b));
            w.txn_done();
        }
        let bulk_rows = (o.rows / BULK_PER_TXN) * BULK_PER_TXN;
        f.push(("bulk load rows/s", bulk_rows as f64 / t.elapsed().as_secs_f64()));
        f.push(("  server CPU per 1000 rows, ms", (cpu_secs(srv.pid) - cpu) * 1e6 / bulk_rows as f64));
        f.push(("RSS after load, MiB", rss_kib(srv.pid) as f64 / 1024.0));
    }
    let (mut clients, mut seq) = (Vec::new(), 0);
    if phase("fanout") || phase("fanout100") {
        // Fan-out of one update to clients monitoring the same table.
        w.transact(vec![json!({"op": "insert", "table": "Logical_Router", "row": {"name": "r0"}})]);
        clients = router_monitors(&srv, 100);
        let r = fan_out(srv.pid, &mut w, None, &mut clients, o.updates, &mut seq);
        f.push(("fan-out to 100 clients, ms", r.ready));
        f.push(("  read by one client thread (100), ms", r.read));
        f.push(("  server CPU per update to 100, ms", r.cpu));
    }
    if phase("fanout") {
        clients.extend(router_monitors(&srv, 900));
        // A writer that connected after the monitors (a server that answered
        // clients in the order they connected would answer it last).
        let mut late = Rpc::connect(&srv.sock);
        let r = fan_out(srv.pid, &mut w, Some(&mut late), &mut clients, o.updates, &mut seq);
        f.push(("fan-out to 1000 clients, ms", r.ready));
        f.push(("  a later writer's reply meanwhile, ms", r.reply.unwrap_or(f64::NAN)));
        f.push(("  read by one client thread (1000), ms", r.read));
        f.push(("  server CPU per update to 1000, ms", r.cpu));
        // Let the server settle, then: memory with 1000 monitoring clients.
        w.call("echo", json!([]));
        f.push(("RSS with 1000 monitors, MiB", rss_kib(srv.pid) as f64 / 1024.0));
        drop(clients);
    }
    if phase("distinct") {
        // Fan-out with per-client conditions: client c watches the address
        // sets as<c*20>..as<c*20+19> (20 `name ==` clauses).
        let n_cond = 1000;
        let mut sets = Vec::with_capacity(n_cond * CLAUSES);
        for b in 0..n_cond * CLAUSES / BULK_PER_TXN {
            let ops: Vec<Value> = (0..BULK_PER_TXN)
                .map(|k| json!({"op": "insert", "table": "Address_Set", "row": {"name": format!("as{}", b * BULK_PER_TXN + k)}}))
                .collect();
            let r = w.transact(ops);
            sets.extend((0..BULK_PER_TXN).map(|k| uuid_of(&r, k)));
        }
        let mut cs: Vec<Rpc> = (0..n_cond).map(|_| Rpc::connect(&srv.sock)).collect();
        let ids: Vec<u64> = cs
            .iter_mut()
            .enumerate()
            .map(|(c, r)| {
                let clauses: Vec<Value> =
                    (0..CLAUSES).map(|k| json!(["name", "==", format!("as{}", c * CLAUSES + k)])).collect();
                let req = json!({"Address_Set": [{"columns": ["name", "addresses"], "where": clauses}]});
                r.send("monitor_cond", json!(["OVN_Northbound", "sets", req]))
            })
            .collect();
        for (r, id) in cs.iter_mut().zip(ids) {
            let init = r.reply(id);
            assert_eq!(init["Address_Set"].as_object().map_or(0, |o| o.len()), CLAUSES, "initial rows");
        }
        let mut times = Vec::new();
        let cpu = cpu_secs(srv.pid);
        for u in 0..o.updates {
            // 100 clients, one set each.
            let targets: Vec<usize> = (0..100).map(|k| k * (n_cond / 100)).collect();
            let ops: Vec<Value> = targets
                .iter()
                .map(|&c| {
                    json!({"op": "update", "table": "Address_Set",
                           "where": [["_uuid", "==", ["uuid", sets[c * CLAUSES + u % CLAUSES]]]],
                           "row": {"addresses": ["set", [format!("10.0.0.{u}")]]}})
                })
                .collect();
            let t = Instant::now();
            let id = w.send("transact", txn_params(ops));
            for &c in &targets {
                let up = cs[c].update2();
                assert_eq!(up["Address_Set"].as_object().map_or(0, |o| o.len()), 1, "one row per client");
            }
            times.push(t.elapsed().as_secs_f64() * 1e3);
            check_txn(w.reply(id));
        }
        f.push(("distinct conditions: 100 of 1000 clients, ms", median(&mut times)));
        f.push(("  server CPU per update, ms", (cpu_secs(srv.pid) - cpu) * 1e3 / o.updates as f64));
    }
    drop(w);
    f
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    if lim.rlim_cur < 2500 {
        eprintln!("server_bench: warning: only {} file descriptors allowed; 1000 clients need more", lim.rlim_cur);
    }
}

fn main() {
    let o = parse_opts();
    raise_fd_limit();
    if !o.rovn.exists() {
        usage(&format!(
            "{}: no rovn binary (build it with `cargo build --release -p rovn` or pass --rovn)",
            o.rovn.display()
        ));
    }
    let servers: Vec<&str> =
        ["upstream", "rovn"].into_iter().filter(|s| o.only.as_deref().is_none_or(|x| x == *s)).collect();
    let mut all: Vec<(&str, Vec<Figures>)> = servers.iter().map(|s| (*s, Vec::new())).collect();
    for run in 0..o.runs {
        for (which, figs) in &mut all {
            let t = Instant::now();
            let f = measure(which, &o, run);
            eprintln!("run {}/{} {which} ({:.1} s): {f:?}", run + 1, o.runs, t.elapsed().as_secs_f64());
            figs.push(f);
        }
    }
    let metrics: Vec<&str> = all[0].1[0].iter().map(|(m, _)| *m).collect();
    let med = |figs: &Vec<Figures>, m: &str| -> f64 {
        let mut v: Vec<f64> = figs.iter().filter_map(|f| f.iter().find(|(k, _)| *k == m).map(|(_, x)| *x)).collect();
        median(&mut v)
    };
    println!(
        "median of {} runs; seq={} pipe={} (window {}) rows={} updates={}",
        o.runs, o.seq, o.pipe, o.window, o.rows, o.updates
    );
    println!("{:<46} {:>14} {:>14} {:>8}", "metric", "ovsdb-server", "rovn", "rovn is");
    for m in metrics {
        let up = all.iter().find(|(s, _)| *s == "upstream").map(|(_, f)| med(f, m));
        let ro = all.iter().find(|(s, _)| *s == "rovn").map(|(_, f)| med(f, m));
        let show = |v: Option<f64>| v.map_or("-".to_string(), |x| if x < 10.0 { format!("{x:.2}") } else { format!("{x:.1}") });
        // How many times better rovn is: higher is better for rates,
        // lower for times and memory.
        let better = match (up, ro) {
            (Some(u), Some(r)) if m.ends_with("/s") => format!("{:.2}x", r / u),
            (Some(u), Some(r)) => format!("{:.2}x", u / r),
            _ => "-".into(),
        };
        println!("{m:<46} {:>14} {:>14} {better:>8}", show(up), show(ro));
    }
    println!(
        "(\"rovn is\" = how many times better rovn is: its rate / upstream's, or upstream's time or memory / its own)"
    );
}
