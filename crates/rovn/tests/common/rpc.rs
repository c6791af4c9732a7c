//! A raw JSON-RPC client for protocol tests: sends what it is told, byte
//! for byte if need be, and records every message the server sends.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::{Framer, Message};
use serde_json::{json, Value};

/// How long any single wait for the server may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// One connection to a server.
pub struct Rpc {
    stream: UnixStream,
    framer: Framer,
    inbox: VecDeque<Message>,
    closed: bool,
    next_id: u64,
}

impl Rpc {
    /// Connects to the unix socket `sock`.
    pub fn connect(sock: &Path) -> Rpc {
        let stream = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
        Rpc { stream, framer: Framer::new(usize::MAX), inbox: VecDeque::new(), closed: false, next_id: 0 }
    }

    /// Speaks over `stream`, e.g. a connection the server made to a
    /// listening test (active remotes).
    pub fn from_stream(stream: UnixStream) -> Rpc {
        Rpc { stream, framer: Framer::new(usize::MAX), inbox: VecDeque::new(), closed: false, next_id: 0 }
    }

    /// Sends raw bytes; false if the server has closed the connection.
    pub fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Sends a message.
    pub fn send(&mut self, m: &Message) {
        assert!(self.send_raw(&m.to_bytes()), "server closed the connection");
    }

    /// Reads what has arrived (waiting at most `timeout` for something).
    fn fill(&mut self, timeout: Duration) {
        if self.closed {
            return;
        }
        let _ = self.stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))));
        let mut buf = [0u8; 65536];
        match self.stream.read(&mut buf) {
            Ok(0) => self.closed = true,
            Ok(n) => {
                self.framer.push(&buf[..n]);
                while let Some(m) = self.framer.next_message() {
                    self.inbox.push_back(m.unwrap_or_else(|e| panic!("server sent a bad message: {e}")));
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => self.closed = true,
        }
    }

    /// The next message, waiting up to `timeout`; None on timeout or close.
    pub fn recv(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.inbox.pop_front() {
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.closed || left.is_zero() {
                return None;
            }
            self.fill(left);
        }
    }

    /// Whether the server closes the connection within `timeout` (messages
    /// sent before the close are discarded).
    pub fn closes_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.fill(left);
            self.inbox.clear();
        }
        true
    }

    /// Sends a request and waits for its reply; returns the reply and the
    /// messages (notifications) that came before it.
    pub fn call(&mut self, method: &str, params: Value) -> (Message, Vec<Message>) {
        self.next_id += 1;
        let id = json!(self.next_id);
        let params = match params {
            Value::Array(a) => a,
            v => panic!("params must be an array: {v}"),
        };
        self.send(&Message::Request { method: method.into(), params, id: id.clone() });
        let mut before = Vec::new();
        loop {
            let m = self.recv(WAIT).unwrap_or_else(|| panic!("no reply to {method} (closed: {})", self.closed));
            match &m {
                Message::Reply { id: i, .. } | Message::Error { id: i, .. } if *i == id => return (m, before),
                _ => before.push(m),
            }
        }
    }

    /// A request that must succeed: its result.
    pub fn ok(&mut self, method: &str, params: Value) -> Value {
        match self.call(method, params.clone()).0 {
            Message::Reply { result, .. } => result,
            m => panic!("{method} {params}: {m:?}"),
        }
    }

    /// A transaction whose operations must all succeed: its results.
    pub fn transact(&mut self, db: &str, ops: Value) -> Vec<Value> {
        let mut params = vec![json!(db)];
        params.extend(ops.as_array().expect("ops array").iter().cloned());
        let r = self.ok("transact", Value::Array(params));
        let r = r.as_array().expect("transact result array").clone();
        assert!(r.iter().all(|x| x.get("error").is_none()), "transaction failed: {r:?}");
        r
    }

    /// Messages received so far and not yet returned.
    pub fn drain(&mut self) -> Vec<Message> {
        self.fill(Duration::from_millis(1));
        self.inbox.drain(..).collect()
    }

    /// Waits until every message the server sent before this call has
    /// arrived (an echo round trip) and returns them.
    pub fn sync(&mut self) -> Vec<Message> {
        let (_, before) = self.call("echo", json!(["sync"]));
        let mut all: Vec<Message> = std::mem::take(&mut self.inbox).into();
        all.splice(0..0, before);
        all
    }

    /// Every row of `tables` (all columns), as `{table: {uuid: {column: value}}}`
    /// with sets and maps in a canonical order; `_uuid` and `_version` left out.
    pub fn contents(&mut self, db: &str, tables: &[&str]) -> Value {
        let ops: Vec<Value> = tables.iter().map(|t| json!({"op": "select", "table": t, "where": []})).collect();
        let results = self.transact(db, Value::Array(ops));
        let mut out = serde_json::Map::new();
        for (t, r) in tables.iter().zip(results) {
            let mut rows = serde_json::Map::new();
            for row in r["rows"].as_array().expect("rows") {
                let uuid = row["_uuid"][1].as_str().expect("_uuid").to_string();
                let mut cols = serde_json::Map::new();
                for (c, v) in row.as_object().expect("row") {
                    if c != "_uuid" && c != "_version" {
                        cols.insert(c.clone(), canonical_datum(v));
                    }
                }
                rows.insert(uuid, Value::Object(cols));
            }
            out.insert(t.to_string(), Value::Object(rows));
        }
        Value::Object(out)
    }
}

/// A datum in a canonical form: sets (and scalars, as one-element sets) as
/// sorted arrays, maps as `["map", sorted pairs]`.
pub fn canonical_datum(v: &Value) -> Value {
    let sorted = |a: &[Value]| {
        let mut a = a.to_vec();
        a.sort_by_key(|x| x.to_string());
        a
    };
    match v.as_array().map(Vec::as_slice) {
        Some([tag, Value::Array(items)]) if tag == "set" => Value::Array(sorted(items)),
        Some([tag, Value::Array(items)]) if tag == "map" => json!(["map", sorted(items)]),
        _ => json!([v]),
    }
}

/// A replica in [`Rpc::contents`]' canonical form.
pub fn canonical_replica(v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (t, rows) in v.as_object().expect("tables") {
        let mut rs = serde_json::Map::new();
        for (u, row) in rows.as_object().expect("rows") {
            let cols = row.as_object().expect("row").iter().map(|(c, d)| (c.clone(), canonical_datum(d))).collect();
            rs.insert(u.clone(), Value::Object(cols));
        }
        out.insert(t.clone(), Value::Object(rs));
    }
    Value::Object(out)
}

/// Is `s` a UUID in its usual 36-character text form?
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}
