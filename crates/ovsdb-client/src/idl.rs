//! A replica kept current from a server, across disconnections, and
//! transactions against it.
//!
//! On every connection the Idl first monitors the `_Server` database's
//! `Database` row for its database (as upstream clients do): a clustered
//! server that is not connected to its cluster, or not the leader when the
//! Idl wants the leader ([`IdlOptions::leader_only`], the default), or that
//! is behind what the Idl has already seen (its Raft `index` is lower), is
//! left for the next remote. The `_Server` row stays monitored, so when the
//! server later loses its leadership or its cluster the Idl moves on. Then
//! the database is monitored with `monitor_cond_since`, resuming after the
//! last transaction seen, so nothing is missed or applied twice.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ovsdb::{DatabaseSchema, Uuid};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::connection::{Connection, Error, Notifications, Pki};
use crate::replica::Replica;
use crate::txn::{Committed, Prepared, Txn, TxnError};

/// How an [`Idl`] connects.
#[derive(Debug, Clone)]
pub struct IdlOptions {
    /// Only stay connected to a clustered server that is the leader
    /// (upstream clients' default; needed for writes to take effect without
    /// a detour, and for reads that never go back in time).
    pub leader_only: bool,
    /// Longest wait between two rounds over the remotes.
    pub max_backoff: Duration,
    /// Key, certificate and CA certificate for `ssl:` remotes.
    pub pki: Option<Arc<Pki>>,
}

impl Default for IdlOptions {
    fn default() -> Self {
        IdlOptions { leader_only: true, max_backoff: Duration::from_secs(4), pki: None }
    }
}

/// What the server says about the database (its `_Server.Database` row).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerInfo {
    /// `standalone`, `clustered` or `relay`.
    pub model: String,
    /// Connected to its cluster.
    pub connected: bool,
    /// The cluster's leader (always true for standalone servers).
    pub leader: bool,
    /// The Raft log index the server has seen (clustered only).
    pub index: Option<i64>,
    /// The cluster ID (clustered only).
    pub cid: Option<Uuid>,
}

impl ServerInfo {
    fn from_row(row: &Value) -> ServerInfo {
        let opt = |v: &Value| match v {
            Value::Array(a) if a.first().and_then(Value::as_str) == Some("set") => {
                a.get(1).and_then(Value::as_array).and_then(|s| s.first()).cloned()
            }
            v => Some(v.clone()),
        };
        ServerInfo {
            model: row["model"].as_str().unwrap_or_default().to_string(),
            connected: row["connected"].as_bool().unwrap_or(false),
            leader: row["leader"].as_bool().unwrap_or(false),
            index: opt(&row["index"]).and_then(|v| v.as_i64()),
            cid: opt(&row["cid"]).and_then(|v| v.get(1).and_then(Value::as_str).and_then(Uuid::parse)),
        }
    }

    /// Why this server will not do, if it will not.
    fn unsuitable(&self, leader_only: bool, min_index: i64) -> Option<String> {
        if self.model != "clustered" {
            return None;
        }
        if !self.connected {
            return Some("not connected to its cluster".into());
        }
        if leader_only && !self.leader {
            return Some("not the cluster leader".into());
        }
        match self.index {
            Some(i) if i < min_index => Some(format!("behind (index {i} < {min_index} already seen)")),
            _ => None,
        }
    }
}

/// The connection state the Idl's handle and its driver share.
#[derive(Default)]
struct Shared {
    conn: Option<Arc<Connection>>,
    remote: Option<String>,
    server: Option<ServerInfo>,
}

/// A live replica of tables of one database.
pub struct Idl {
    db: String,
    replica: Arc<Mutex<Replica>>,
    shared: Arc<Mutex<Shared>>,
    seq: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idl {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Driver {
    remotes: Vec<String>,
    /// Index in `remotes` of the next remote to try.
    next: usize,
    db: String,
    opts: IdlOptions,
    replica: Arc<Mutex<Replica>>,
    shared: Arc<Mutex<Shared>>,
    seq: watch::Sender<u64>,
    last_txn: Uuid,
    /// The highest Raft index seen from any server.
    max_index: i64,
}

/// A connection that passed the `_Server` checks and monitors the database.
struct Live {
    conn: Connection,
    notes: Notifications,
    remote: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Idl {
    /// Connects to the first suitable remote, loads the schema and the
    /// initial contents of `tables` (all if empty), and keeps them current
    /// in the background.
    pub async fn start(remotes: Vec<String>, db: &str, tables: &[&str]) -> Result<Idl, Error> {
        Self::start_with(remotes, db, tables, IdlOptions::default()).await
    }

    /// [`Idl::start`] with options.
    pub async fn start_with(remotes: Vec<String>, db: &str, tables: &[&str], opts: IdlOptions) -> Result<Idl, Error> {
        if remotes.is_empty() {
            return Err(Error::Io("no remotes given".into()));
        }
        let mut last = Error::Io("no remotes".into());
        for (i, r) in remotes.iter().enumerate() {
            let c = match Connection::connect_with(r, opts.pki.as_deref()).await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let schema = match c.request("get_schema", vec![json!(db)]).await {
                Ok(s) => s,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let schema = DatabaseSchema::from_json(&schema).map_err(|e| Error::Protocol(format!("{r}: {e}")))?;
            let replica = Replica::new(Arc::new(schema), tables).map_err(|e| Error::Protocol(e.to_string()))?;
            let (seq_tx, seq) = watch::channel(0);
            let mut d = Driver {
                remotes: remotes.clone(),
                next: (i + 1) % remotes.len(),
                db: db.to_string(),
                opts: opts.clone(),
                replica: Arc::new(Mutex::new(replica)),
                shared: Arc::new(Mutex::new(Shared::default())),
                seq: seq_tx,
                last_txn: Uuid::nil(),
                max_index: 0,
            };
            // The first suitable server: this one, or another if this one
            // is e.g. a follower.
            let live = match d.attach(c, r).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::info!(remote = %r, "{e}; trying the other remotes");
                    d.reconnect().await
                }
            };
            let (replica, shared) = (d.replica.clone(), d.shared.clone());
            let task = tokio::spawn(async move { d.run(live).await });
            return Ok(Idl { db: db.to_string(), replica, shared, seq, task });
        }
        Err(last)
    }

    /// The replica (hold the guard briefly: updates wait for it).
    pub fn replica(&self) -> MutexGuard<'_, Replica> {
        lock(&self.replica)
    }

    /// The database's name.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The remote currently connected to, if any.
    pub fn remote(&self) -> Option<String> {
        lock(&self.shared).remote.clone()
    }

    /// What the current server says about the database.
    pub fn server(&self) -> Option<ServerInfo> {
        lock(&self.shared).server.clone()
    }

    /// A number that grows whenever the replica changes or reconnects.
    pub fn seqno(&self) -> u64 {
        *self.seq.borrow()
    }

    /// Waits until the replica changes (returns at once if it changed since
    /// the last call).
    pub async fn changed(&mut self) {
        let _ = self.seq.changed().await;
    }

    /// Waits until `f` holds for the replica, at most `timeout`; returns
    /// whether it does.
    pub async fn wait_until(&self, timeout: Duration, f: impl Fn(&Replica) -> bool) -> bool {
        let mut seq = self.seq.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            seq.borrow_and_update();
            if f(&self.replica()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, seq.changed()).await.is_err() {
                return f(&self.replica());
            }
        }
    }

    fn connection(&self) -> Option<Arc<Connection>> {
        lock(&self.shared).conn.clone()
    }

    /// Runs raw operations on the current connection.
    pub async fn transact(&self, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let c = self.connection().ok_or(Error::Closed)?;
        c.transact(&self.db, ops).await
    }

    /// Builds a transaction against the replica as it is now.
    pub fn build<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<R, TxnError>) -> Result<(R, Prepared), TxnError> {
        let rep = self.replica();
        let mut txn = Txn::new(&rep, &self.db);
        let r = f(&mut txn)?;
        Ok((r, txn.prepare()))
    }

    /// Sends a prepared transaction.
    pub async fn commit(&self, p: &Prepared) -> Result<Committed, TxnError> {
        let c = self.connection().ok_or_else(|| TxnError::Disconnected("not connected".into()))?;
        match c.transact(p.db(), p.ops.clone()).await {
            Ok(results) => p.outcome(results),
            Err(e @ (Error::Closed | Error::Io(_))) => Err(TxnError::Disconnected(e.to_string())),
            Err(e) => Err(TxnError::Failed { index: 0, error: "rpc error".into(), details: e.to_string() }),
        }
    }

    /// Runs `f` to build a transaction and commits it; after a conflict
    /// ([`TxnError::TryAgain`]) or a lost connection, waits for the replica
    /// to catch up (or reconnect) and runs `f` again, until the transaction
    /// commits or fails otherwise. `f` must decide from what it reads (a
    /// transaction cut off by a lost connection may have committed: the
    /// next run sees its effects in the replica).
    ///
    /// Returns `f`'s value, the commit's results and the number of attempts.
    pub async fn transact_with<R>(
        &self,
        mut f: impl FnMut(&mut Txn<'_>) -> Result<R, TxnError>,
    ) -> Result<(R, Committed, usize), TxnError> {
        let mut seq = self.seq.clone();
        let mut attempts = 0;
        loop {
            attempts += 1;
            seq.borrow_and_update();
            let (r, p) = self.build(&mut f)?;
            if p.ops.is_empty() {
                return Ok((r, Committed::default(), attempts));
            }
            match self.commit(&p).await {
                Ok(c) => return Ok((r, c, attempts)),
                Err(e) if e.is_retryable() => {
                    tracing::debug!(attempt = attempts, "transaction: {e}; retrying when the replica changes");
                    // The change that caused the conflict, or the
                    // reconnection, shows up as a new sequence number; do
                    // not wait forever for it in case it came before.
                    let _ = tokio::time::timeout(Duration::from_secs(1), seq.changed()).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Driver {
    /// Checks the server with `_Server`, then starts the database monitor,
    /// resuming after `last_txn` if the server can.
    async fn attach(&mut self, mut c: Connection, remote: &str) -> Result<Live, Error> {
        let notes = c.take_notifications().ok_or(Error::Closed)?;
        let req = json!({"Database": [{"where": [["name", "==", self.db]],
                          "columns": ["name", "model", "connected", "leader", "index", "cid"]}]});
        match c.request("monitor_cond", vec![json!("_Server"), json!("_server"), req]).await {
            Ok(r) => {
                let info = r
                    .get("Database")
                    .and_then(Value::as_object)
                    .and_then(|rows| rows.values().next())
                    .and_then(|u| u.get("initial"))
                    .map(ServerInfo::from_row)
                    .ok_or_else(|| Error::Protocol(format!("{remote}: the server does not serve {}", self.db)))?;
                if let Some(why) = info.unsuitable(self.opts.leader_only, self.max_index) {
                    return Err(Error::Protocol(format!("{remote}: {why}")));
                }
                self.max_index = self.max_index.max(info.index.unwrap_or(0));
                lock(&self.shared).server = Some(info);
            }
            // A server without `_Server` (an old one) can only be standalone.
            Err(Error::Rpc(e)) => {
                tracing::debug!(remote, "no _Server database ({e}); assuming a standalone server");
                lock(&self.shared).server = None;
            }
            Err(e) => return Err(e),
        }
        let reqs = lock(&self.replica).monitor_requests();
        let r = c
            .request("monitor_cond_since", vec![json!(self.db), json!("idl"), reqs, json!(self.last_txn.to_string())])
            .await?;
        let (found, last, updates) = match r.as_array().map(|a| a.as_slice()) {
            Some([Value::Bool(f), Value::String(l), u]) => (*f, l.clone(), u),
            _ => return Err(Error::Protocol(format!("bad monitor_cond_since reply: {r}"))),
        };
        {
            let mut rep = lock(&self.replica);
            let res = if found { rep.apply_update2(updates) } else { rep.reset(updates) };
            res.map_err(|e| Error::Protocol(e.to_string()))?;
        }
        self.last_txn = Uuid::parse(&last).unwrap_or_default();
        tracing::debug!(remote, resumed = found, "monitoring {}", self.db);
        Ok(Live { conn: c, notes, remote: remote.to_string() })
    }

    async fn run(&mut self, first: Live) {
        let mut live = first;
        loop {
            {
                let mut s = lock(&self.shared);
                s.conn = Some(Arc::new(live.conn));
                s.remote = Some(live.remote.clone());
            }
            self.seq.send_modify(|s| *s += 1);
            self.follow(&mut live.notes, &live.remote).await;
            {
                let mut s = lock(&self.shared);
                s.conn = None;
                s.remote = None;
            }
            live = self.reconnect().await;
        }
    }

    /// Applies notifications until the connection closes or the server
    /// stops being suitable.
    async fn follow(&mut self, notes: &mut Notifications, remote: &str) {
        while let Some((method, params)) = notes.recv().await {
            let updates = match (method.as_str(), params.as_slice()) {
                ("update2", [id, u]) if id == "_server" => {
                    let Some(row) = u.get("Database").and_then(Value::as_object).and_then(|r| r.values().next()) else {
                        continue;
                    };
                    let Some(info) = self.server_update(row) else {
                        tracing::info!(remote, "database {} is no longer served; reconnecting", self.db);
                        return;
                    };
                    self.max_index = self.max_index.max(info.index.unwrap_or(0));
                    let why = info.unsuitable(self.opts.leader_only, 0);
                    lock(&self.shared).server = Some(info);
                    if let Some(why) = why {
                        tracing::info!(remote, "server is {why}; reconnecting elsewhere");
                        return;
                    }
                    continue;
                }
                ("update3", [_, Value::String(txn), u]) => {
                    self.last_txn = Uuid::parse(txn).unwrap_or(self.last_txn);
                    u
                }
                ("update2", [_, u]) => u,
                _ => continue,
            };
            let res = lock(&self.replica).apply_update2(updates);
            match res {
                Ok(()) => {
                    self.seq.send_modify(|s| *s += 1);
                }
                Err(e) => {
                    tracing::warn!(remote, "bad update from server ({e}); reconnecting");
                    return;
                }
            }
        }
        tracing::info!(remote, "connection closed");
    }

    /// The `_Server` row after a `<row-update2>`; None if it was deleted.
    fn server_update(&self, u: &Value) -> Option<ServerInfo> {
        let cur = lock(&self.shared).server.clone().unwrap_or_default();
        if let Some(r) = u.get("initial").or_else(|| u.get("insert")) {
            return Some(ServerInfo::from_row(r));
        }
        let m = u.get("modify")?;
        // Scalars and optional scalars: a modify carries the new value (for
        // an optional scalar, a one-element set is the new value and an
        // empty one clears it).
        let mut info = cur;
        if let Some(v) = m.get("connected").and_then(Value::as_bool) {
            info.connected = v;
        }
        if let Some(v) = m.get("leader").and_then(Value::as_bool) {
            info.leader = v;
        }
        if let Some(v) = m.get("model").and_then(Value::as_str) {
            info.model = v.to_string();
        }
        if m.get("index").is_some() {
            info.index = ServerInfo::from_row(m).index;
        }
        if m.get("cid").is_some() {
            info.cid = ServerInfo::from_row(m).cid;
        }
        Some(info)
    }

    /// Tries the remotes in turn, starting after the last one used, with
    /// growing pauses between rounds, until one is suitable.
    async fn reconnect(&mut self) -> Live {
        let mut backoff = Duration::from_millis(100);
        loop {
            for _ in 0..self.remotes.len() {
                let r = self.remotes[self.next].clone();
                self.next = (self.next + 1) % self.remotes.len();
                let c = match Connection::connect_with(&r, self.opts.pki.as_deref()).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(remote = %r, "{e}");
                        continue;
                    }
                };
                match self.attach(c, &r).await {
                    Ok(l) => {
                        tracing::info!(remote = %r, "connected");
                        return l;
                    }
                    Err(e) => tracing::info!(remote = %r, "{e}"),
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.opts.max_backoff);
        }
    }
}
