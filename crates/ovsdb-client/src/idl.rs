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
//!
//! `tcp:` and `ssl:` servers are probed ([`IdlOptions::probe_interval`]):
//! one that stays silent through a probe is dropped like one that closed
//! its connection, and the Idl moves on to the next remote. The remotes are
//! tried in turn, with pauses growing up to [`IdlOptions::max_backoff`]
//! between rounds, forever once started; [`Idl::start`] itself gives up
//! after [`IdlOptions::start_timeout`].
//!
//! # Transactions cut off by a lost connection
//!
//! When the connection drops after a transaction was sent and before its
//! reply came, nobody can tell whether the server committed it:
//! [`Idl::commit`] returns [`TxnError::Disconnected`]. [`Idl::transact_with`]
//! then waits for the Idl to reconnect, by which time the replica holds
//! everything the server committed (the monitor resumes where it stopped),
//! and runs the closure again. So the closure must recognise its own
//! effect when it already happened: decide from what it reads ("insert
//! switch `sw1` unless it exists", "set `nb_cfg` to 5"), not blindly
//! ("add 1 to `nb_cfg`", which would then add 2). Verification is what
//! makes such a closure safe in the remaining race: a retry built on the
//! replica just before the resumed updates arrived reads the old values,
//! and its `wait`s fail on the server (which has the new ones), so it is
//! built again on the caught-up replica. Upstream's IDL has the same rule
//! (a lost connection is "try again").

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ovsdb::{DatabaseSchema, Uuid};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::connection::{ConnectOptions, Connection, Error, Notifications, Pki};
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
    /// How long a server may stay silent before it is probed, and then
    /// before it is dropped (see [`ConnectOptions::probe_interval`]:
    /// `None` is 5 s for `tcp:` and `ssl:`, no probes for `unix:`;
    /// `Some(Duration::ZERO)` never probes).
    pub probe_interval: Option<Duration>,
    /// How long [`Idl::start`] keeps trying the remotes (in rounds, with
    /// backoff) for a suitable server before it fails with
    /// [`Error::Timeout`]; `None`: until it finds one.
    pub start_timeout: Option<Duration>,
}

impl Default for IdlOptions {
    fn default() -> Self {
        IdlOptions {
            leader_only: true,
            max_backoff: Duration::from_secs(4),
            pki: None,
            probe_interval: None,
            start_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl IdlOptions {
    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions { pki: self.pki.clone(), probe_interval: self.probe_interval }
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
    /// Connections made so far.
    connects: u64,
    /// Why the last connection ended.
    last_disconnect: Option<String>,
    /// Whether the last monitor resumed after the last transaction seen.
    resumed: bool,
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

/// The connection in use (shared with the handle for transactions).
struct Current {
    conn: Arc<Connection>,
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
        let (mut d, live) = Self::first_suitable(&remotes, db, tables, &opts).await?;
        let (replica, shared, seq) = (d.replica.clone(), d.shared.clone(), d.seq.subscribe());
        // Connected from the moment `start` returns.
        let current = d.install(live);
        let task = tokio::spawn(async move { d.run(current).await });
        Ok(Idl { db: db.to_string(), replica, shared, seq, task })
    }

    /// Tries the remotes in rounds, with backoff, until one serves `db`
    /// and is suitable, or [`IdlOptions::start_timeout`] passes. The
    /// deadline bounds finding the server, not loading the database (which
    /// may take long; the probes bound the server's silence meanwhile).
    async fn first_suitable(
        remotes: &[String],
        db: &str,
        tables: &[&str],
        opts: &IdlOptions,
    ) -> Result<(Driver, Live), Error> {
        let copts = opts.connect_options();
        let deadline = opts.start_timeout.map(|t| tokio::time::Instant::now() + t);
        // Why each remote would not do, for the error if none does.
        let mut why: Vec<Option<Error>> = vec![None; remotes.len()];
        let timed_out = |why: &[Option<Error>]| {
            let reasons: Vec<String> = remotes
                .iter()
                .zip(why)
                .map(|(r, e)| match e {
                    Some(e) => format!("{r}: {}", e.to_string().replace(&format!("{r}: "), "")),
                    None => format!("{r}: no answer"),
                })
                .collect();
            Error::Timeout(format!(
                "no suitable server for {db} within {} seconds ({})",
                opts.start_timeout.unwrap_or_default().as_secs_f64(),
                reasons.join("; ")
            ))
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            for (i, r) in remotes.iter().enumerate() {
                let step = async {
                    let mut c = Connection::connect_opts(r, &copts).await?;
                    let schema = c.request("get_schema", vec![json!(db)]).await?;
                    let schema =
                        DatabaseSchema::from_json(&schema).map_err(|e| Error::Protocol(format!("{r}: {e}")))?;
                    let replica =
                        Replica::new(Arc::new(schema), tables).map_err(|e| Error::Protocol(format!("{r}: {e}")))?;
                    let (seq, _) = watch::channel(0);
                    let mut d = Driver {
                        remotes: remotes.to_vec(),
                        next: (i + 1) % remotes.len(),
                        db: db.to_string(),
                        opts: opts.clone(),
                        replica: Arc::new(Mutex::new(replica)),
                        shared: Arc::new(Mutex::new(Shared::default())),
                        seq,
                        last_txn: Uuid::nil(),
                        max_index: 0,
                    };
                    let notes = d.check(&mut c, r).await?;
                    Ok::<_, Error>((d, c, notes))
                };
                let checked = match deadline {
                    Some(t) => tokio::time::timeout_at(t, step).await.map_err(|_| timed_out(&why))?,
                    None => step.await,
                };
                let e = match checked {
                    Ok((mut d, c, notes)) => match d.monitor(c, notes, r).await {
                        Ok(live) => return Ok((d, live)),
                        Err(e) => e,
                    },
                    Err(e) => e,
                };
                tracing::info!(remote = %r, "{e}; trying the other remotes");
                why[i] = Some(e);
            }
            match deadline {
                Some(t) if tokio::time::Instant::now() + backoff >= t => {
                    tokio::time::sleep_until(t).await;
                    return Err(timed_out(&why));
                }
                _ => tokio::time::sleep(backoff).await,
            }
            backoff = (backoff * 2).min(opts.max_backoff);
        }
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

    /// How many times the Idl has connected (1 once started; each
    /// reconnection adds one).
    pub fn connections(&self) -> u64 {
        lock(&self.shared).connects
    }

    /// Why the last connection ended (e.g. "no response to inactivity
    /// probe after 1 seconds, disconnecting"), if one has.
    pub fn last_disconnect(&self) -> Option<String> {
        lock(&self.shared).last_disconnect.clone()
    }

    /// Whether the last (re)connection resumed the monitor after the last
    /// transaction seen (`monitor_cond_since` found it: only what was
    /// missed was sent), rather than reloading the whole contents.
    pub fn resumed(&self) -> bool {
        lock(&self.shared).resumed
    }

    /// What the current server says about the database.
    pub fn server(&self) -> Option<ServerInfo> {
        lock(&self.shared).server.clone()
    }

    /// A number that grows whenever the replica changes, or the Idl
    /// disconnects or reconnects.
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
            Err(e @ (Error::Closed | Error::Io(_) | Error::Timeout(_))) => Err(TxnError::Disconnected(e.to_string())),
            Err(e) => Err(TxnError::Failed { index: 0, error: "rpc error".into(), details: e.to_string() }),
        }
    }

    /// Runs `f` to build a transaction and commits it; after a conflict
    /// ([`TxnError::TryAgain`]) or a lost connection, waits for the replica
    /// to catch up (or reconnect) and runs `f` again, until the transaction
    /// commits or fails otherwise. `f` must decide from what it reads (a
    /// transaction cut off by a lost connection may have committed: the
    /// next run sees its effects in the replica; see the module
    /// documentation: a closure that blindly adds 1 would add 2).
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
        let notes = self.check(&mut c, remote).await?;
        self.monitor(c, notes, remote).await
    }

    /// Checks with `_Server` that the server suits (and starts monitoring
    /// its row); gives the connection's notification stream.
    async fn check(&mut self, c: &mut Connection, remote: &str) -> Result<Notifications, Error> {
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
        Ok(notes)
    }

    /// Monitors the database, resuming after `last_txn` if the server can.
    async fn monitor(&mut self, c: Connection, notes: Notifications, remote: &str) -> Result<Live, Error> {
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
        lock(&self.shared).resumed = found;
        tracing::debug!(remote, resumed = found, "monitoring {}", self.db);
        Ok(Live { conn: c, notes, remote: remote.to_string() })
    }

    /// Makes `live` the current connection.
    fn install(&mut self, live: Live) -> Current {
        let conn = Arc::new(live.conn);
        {
            let mut s = lock(&self.shared);
            s.conn = Some(conn.clone());
            s.remote = Some(live.remote.clone());
            s.connects += 1;
        }
        self.seq.send_modify(|s| *s += 1);
        Current { conn, notes: live.notes, remote: live.remote }
    }

    async fn run(&mut self, first: Current) {
        let mut live = first;
        loop {
            let conn = live.conn.clone();
            let why = match self.follow(&mut live.notes, &live.remote).await {
                Some(why) => why,
                None => match conn.close_reason() {
                    Some(Error::Closed) | None => "connection closed by the server".to_string(),
                    Some(e) => e.to_string(),
                },
            };
            tracing::info!(remote = %live.remote, "disconnected: {why}");
            {
                let mut s = lock(&self.shared);
                s.conn = None;
                s.remote = None;
                s.last_disconnect = Some(why);
            }
            drop((conn, live));
            self.seq.send_modify(|s| *s += 1);
            let next = self.reconnect().await;
            live = self.install(next);
        }
    }

    /// Applies notifications until the connection closes (None) or the
    /// server stops being suitable (why).
    async fn follow(&mut self, notes: &mut Notifications, remote: &str) -> Option<String> {
        while let Some((method, params)) = notes.recv().await {
            let updates = match (method.as_str(), params.as_slice()) {
                ("update2", [id, u]) if id == "_server" => {
                    let Some(row) = u.get("Database").and_then(Value::as_object).and_then(|r| r.values().next()) else {
                        continue;
                    };
                    let Some(info) = self.server_update(row) else {
                        return Some(format!("database {} is no longer served", self.db));
                    };
                    self.max_index = self.max_index.max(info.index.unwrap_or(0));
                    let why = info.unsuitable(self.opts.leader_only, 0);
                    lock(&self.shared).server = Some(info);
                    if let Some(why) = why {
                        return Some(format!("server is {why}"));
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
                    return Some(format!("bad update from server: {e}"));
                }
            }
        }
        None
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
                let c = match Connection::connect_opts(&r, &self.opts.connect_options()).await {
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
