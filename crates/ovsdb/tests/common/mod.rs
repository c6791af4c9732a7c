//! Shared plumbing for tests that run against the real upstream
//! `ovsdb-server`: finding the binaries, running a server on a private unix
//! socket, JSON-RPC `transact`, and comparing results whose UUIDs were chosen
//! independently by the two implementations.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The upstream tools a differential test needs.
pub struct Tools {
    pub server: PathBuf,
    pub tool: PathBuf,
}

fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"];
    let found = path.split(':').chain(extra).map(|d| Path::new(d).join(name)).find(|p| p.is_file());
    found
}

/// The upstream binaries, or `None` (with a message) when they are missing on
/// a developer machine. Under `CI=true` their absence fails the test.
pub fn upstream_tools(test: &str) -> Option<Tools> {
    match (find_binary("ovsdb-server"), find_binary("ovsdb-tool")) {
        (Some(server), Some(tool)) => Some(Tools { server, tool }),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: CI must have ovsdb-server and ovsdb-tool (Debian package openvswitch-switch)"
            );
            eprintln!("skipping {test}: ovsdb-server/ovsdb-tool not installed (apt-get install openvswitch-switch)");
            None
        }
    }
}

/// Splits the byte stream into top-level JSON texts (objects), so that a
/// message serde_json cannot represent is reported with its text.
struct Reader {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Reader {
    fn next_text(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        loop {
            let (mut depth, mut in_str, mut esc) = (0i32, false, false);
            for (i, &b) in self.buf.iter().enumerate() {
                if in_str {
                    match (esc, b) {
                        (true, _) => esc = false,
                        (false, b'\\') => esc = true,
                        (false, b'"') => in_str = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            let text: Vec<u8> = self.buf.drain(..=i).collect();
                            return Ok(Some(text));
                        }
                    }
                    _ => {}
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A real `ovsdb-server` serving one fresh database on a unix socket in a
/// private temporary directory. Dropping it kills the server (also when the
/// test panics) and removes the directory.
pub struct Upstream {
    child: Child,
    dir: PathBuf,
    writer: UnixStream,
    reader: Reader,
    next_id: u64,
    /// The database name (the schema's `name`).
    pub db: String,
}

impl Upstream {
    /// Creates a database from `schema` and starts a server on it.
    pub fn start(tools: &Tools, schema: &Path, tag: &str) -> Upstream {
        let dir = std::env::temp_dir().join(format!("rovn-diff-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let db_file = dir.join("db");
        let out = Command::new(&tools.tool).arg("create").arg(&db_file).arg(schema).output().expect("run ovsdb-tool");
        assert!(out.status.success(), "ovsdb-tool create: {}", String::from_utf8_lossy(&out.stderr));
        let db: Value = serde_json::from_str(&std::fs::read_to_string(schema).expect("read schema")).expect("schema JSON");
        let db = db["name"].as_str().expect("schema name").to_string();
        let sock = dir.join("sock");
        let child = Command::new(&tools.server)
            .arg(&db_file)
            .arg(format!("--remote=punix:{}", sock.display()))
            .arg(format!("--unixctl={}", dir.join("ctl").display()))
            .arg(format!("--pidfile={}", dir.join("pid").display()))
            .arg("--no-chdir")
            .arg(format!("--log-file={}", dir.join("log").display()))
            .env("OVS_RUNDIR", &dir)
            .env("OVS_DBDIR", &dir)
            .env("OVS_LOGDIR", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ovsdb-server");
        // From here on the guard owns the child: a failed connect still kills it.
        let mut guard = Guard { child: Some(child), dir: dir.clone() };
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(e) => {
                    if let Some(status) = guard.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                        panic!("ovsdb-server exited early ({status}); see {}", dir.join("log").display());
                    }
                    assert!(Instant::now() < deadline, "ovsdb-server did not listen on {}: {e}", sock.display());
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("set timeout");
        let writer = stream.try_clone().expect("clone socket");
        let reader = Reader { stream, buf: Vec::new() };
        let child = guard.child.take().expect("child");
        std::mem::forget(guard);
        Upstream { child, dir, writer, reader, next_id: 1, db }
    }

    /// Sends `transact` with `ops` and returns the reply's `result` (or, if
    /// the server answered with a JSON-RPC error, that error).
    pub fn transact(&mut self, ops: &[Value]) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut params = vec![Value::String(self.db.clone())];
        params.extend(ops.iter().cloned());
        let msg = json!({"method": "transact", "params": params, "id": id});
        self.send(&msg);
        loop {
            let text = match self.reader.next_text() {
                Ok(Some(t)) => t,
                Ok(None) => panic!("ovsdb-server closed the connection (crashed?) on {msg}"),
                Err(e) => panic!("reading from ovsdb-server: {e} (log: {})", self.dir.join("log").display()),
            };
            let m: Value = match serde_json::from_slice(&text) {
                Ok(m) => m,
                Err(e) => panic!("unparsable reply from ovsdb-server ({e}) to {msg}:\n{}", String::from_utf8_lossy(&text)),
            };
            if m["id"] == json!(id) {
                return if m["error"].is_null() { m["result"].clone() } else { json!({"rpc error": m["error"]}) };
            }
            if m["method"] == "echo" {
                let reply = json!({"id": m["id"], "result": m["params"], "error": null});
                self.send(&reply);
            }
        }
    }

    fn send(&mut self, v: &Value) {
        let text = serde_json::to_vec(v).expect("serialize");
        self.writer.write_all(&text).expect("write to ovsdb-server");
    }

    /// True if the server process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Kills the server if `start` fails half-way.
struct Guard {
    child: Option<Child>,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = &self.dir;
    }
}

/// A tiny deterministic PRNG (xorshift64*), so a failure replays from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `pct`%.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next() as u128 % span) as i128) as i64
    }
    /// A random UUID in canonical text form.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        let v = ((a as u128) << 64) | b as u128;
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16 & 0xfff,
            ((v >> 48) as u16 & 0x3fff) | 0x8000,
            v & 0xffff_ffff_ffff
        )
    }
}

/// The pairing between UUIDs the real server chose and those rovn chose for
/// the same rows (and row versions). It must stay a bijection.
#[derive(Default)]
pub struct UuidBimap {
    real_to_ours: HashMap<String, String>,
    ours_to_real: HashMap<String, String>,
}

impl UuidBimap {
    /// Records that upstream's `real` is our `ours`; an inconsistent pairing
    /// is a divergence.
    pub fn learn(&mut self, real: &str, ours: &str) -> Result<(), String> {
        if let Some(o) = self.real_to_ours.get(real) {
            if o != ours {
                return Err(format!("upstream UUID {real} was paired with ours {o}, now with {ours}"));
            }
        }
        if let Some(r) = self.ours_to_real.get(ours) {
            if r != real {
                return Err(format!("our UUID {ours} was paired with upstream {r}, now with {real}"));
            }
        }
        self.real_to_ours.insert(real.to_string(), ours.to_string());
        self.ours_to_real.insert(ours.to_string(), real.to_string());
        Ok(())
    }
    pub fn to_real(&self, ours: &str) -> String {
        self.ours_to_real.get(ours).cloned().unwrap_or_else(|| ours.to_string())
    }
    pub fn to_ours(&self, real: &str) -> String {
        self.real_to_ours.get(real).cloned().unwrap_or_else(|| real.to_string())
    }
    pub fn knows_ours(&self, ours: &str) -> bool {
        self.ours_to_real.contains_key(ours)
    }
}

/// Rewrites every `["uuid", S]` in `v` with `f(S)`.
pub fn map_uuids(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::Array(a) => {
            if a.len() == 2 && a[0] == "uuid" {
                if let Value::String(s) = &a[1] {
                    return json!(["uuid", f(s)]);
                }
            }
            Value::Array(a.iter().map(|x| map_uuids(x, f)).collect())
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), map_uuids(x, f))).collect()),
        _ => v.clone(),
    }
}

/// Translates operations written in terms of rovn's UUIDs into the real
/// server's UUIDs (also the bare string of `insert`'s `"uuid"` member).
pub fn ops_to_real(ops: &[Value], map: &UuidBimap) -> Vec<Value> {
    let f = |s: &str| map.to_real(s);
    ops.iter()
        .map(|op| {
            let mut t = map_uuids(op, &f);
            if op["op"] == "insert" {
                if let Some(Value::String(u)) = op.get("uuid") {
                    t["uuid"] = Value::String(map.to_real(u));
                }
            }
            t
        })
        .collect()
}

fn uuid_str(v: &Value) -> Option<&str> {
    match v {
        Value::Array(a) if a.len() == 2 && a[0] == "uuid" => a[1].as_str(),
        _ => None,
    }
}

/// Learns UUID pairings from a transaction's two result arrays: `insert`
/// results positionally, `_version`s from rows paired by `_uuid`.
pub fn learn(ops: &[Value], real: &[Value], ours: &[Value], map: &mut UuidBimap) -> Result<(), String> {
    for i in 0..ops.len().min(real.len()).min(ours.len()) {
        if ops[i]["op"] == "insert" {
            if let (Some(r), Some(o)) = (uuid_str(&real[i]["uuid"]), uuid_str(&ours[i]["uuid"])) {
                map.learn(r, o)?;
            }
        }
        if let (Some(rr), Some(or)) = (real[i]["rows"].as_array(), ours[i]["rows"].as_array()) {
            for row in rr {
                let (Some(ru), Some(rv)) = (uuid_str(&row["_uuid"]), uuid_str(&row["_version"])) else { continue };
                let ou = map.to_ours(ru);
                if let Some(orow) = or.iter().find(|x| uuid_str(&x["_uuid"]) == Some(ou.as_str())) {
                    if let Some(ov) = uuid_str(&orow["_version"]) {
                        map.learn(rv, ov)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Canonical form of a datum: UUIDs mapped, set elements and map pairs
/// sorted, integral reals written as integers.
fn canon_datum(v: &Value) -> Value {
    match v {
        Value::Array(a) if a.len() == 2 && (a[0] == "set" || a[0] == "map") => {
            let mut elems: Vec<Value> = a[1].as_array().map(|x| x.iter().map(canon_datum).collect()).unwrap_or_default();
            elems.sort_by_key(|e| e.to_string());
            json!([a[0].clone(), elems])
        }
        Value::Array(a) => Value::Array(a.iter().map(canon_datum).collect()),
        // ovsdb-server prints reals with 15 significant digits ("%.15g");
        // rovn prints the shortest text that reads back exactly.
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            let f: f64 = format!("{f:.14e}").parse().unwrap_or(f);
            if f.fract() == 0.0 && f.abs() < 1e15 {
                json!(f as i64)
            } else {
                json!(f)
            }
        }
        _ => v.clone(),
    }
}

/// Canonical form of one operation's result.
fn canon_result(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("error") => json!({"error": o["error"]}),
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for (k, x) in o {
                if k == "rows" {
                    let mut rows: Vec<Value> = x
                        .as_array()
                        .map(|rs| {
                            rs.iter()
                                .map(|r| match r {
                                    Value::Object(ro) => {
                                        Value::Object(ro.iter().map(|(c, d)| (c.clone(), canon_datum(d))).collect())
                                    }
                                    other => other.clone(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    rows.sort_by_key(|r| r.to_string());
                    out.insert(k.clone(), Value::Array(rows));
                } else {
                    out.insert(k.clone(), canon_datum(x));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Canonical forms of both sides' results, upstream's UUIDs mapped to ours.
pub fn canon_pair(real: &Value, ours: &[Value], map: &UuidBimap) -> (Value, Value) {
    let f = |s: &str| map.to_ours(s);
    let real = match real.as_array() {
        Some(a) => Value::Array(a.iter().map(|r| canon_result(&map_uuids(r, &f))).collect()),
        None => real.clone(),
    };
    let ours = Value::Array(ours.iter().map(canon_result).collect());
    (real, ours)
}
