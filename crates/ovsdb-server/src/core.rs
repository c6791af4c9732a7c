//! The server's deterministic core: databases, sessions, monitors, locks and
//! blocked transactions. No sockets and no clock: the shell feeds it
//! connections, messages and the current time, and collects [`Action`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::json::{Bump, Json, JsonNode};
use ovsdb::jsonrpc::{Message, RpcError};
use ovsdb::log::Log;
use ovsdb::monitor::{Monitor, Version};
use ovsdb::uuid::FastMap;
use ovsdb::{ChangeSet, Database, DatabaseSchema, Outcome, Row, TxnContext, Uuid};
use serde_json::{json, Value};

use crate::coalesce::{self, MonitorView, NetChanges};
use crate::{compaction, rbac};

/// A client connection, as numbered by the shell.
pub type SessionId = u64;

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send these bytes (one JSON-RPC message) to a session.
    Send(SessionId, Arc<Vec<u8>>),
    /// Close a session.
    Close(SessionId),
}

/// Transactions kept for `monitor_cond_since` resumption, at most; fewer
/// when they hold more atoms than the database itself (as upstream: the
/// history never costs more memory than the data) — except that a history
/// of up to [`HISTORY_FLOOR`] atoms is always kept, so that clients of a
/// small database can resume too (upstream keeps just one transaction).
const HISTORY: usize = 100;
const HISTORY_FLOOR: u64 = 10_000;

/// How often a background compaction is checked for completion.
const COMPACTION_CHECK: Duration = Duration::from_millis(10);

struct Db {
    name: String,
    db: Database,
    log: Option<Log>,
    /// Recent commits, oldest first: (transaction id, changes, atoms in
    /// their old and new rows).
    history: VecDeque<(Uuid, Arc<ChangeSet>, u64)>,
    /// Atoms in `history`, and in the database.
    history_atoms: u64,
    atoms: u64,
    /// Id of the last transaction (a fresh one at startup).
    last_txn: Uuid,
    /// The transaction just before the oldest one in `history` (the state
    /// history starts from): a client that has it can resume too.
    history_base: Uuid,
    read_only: bool,
    /// Growth of the log since its last compaction.
    compaction: compaction::State,
    /// Per table: the value of `Core::commits` after the last commit that
    /// changed it (0: none yet).
    changed: Vec<u64>,
    /// Someone (`ovsdb-server/compact`) waits for the running compaction:
    /// its outcome goes to [`Core::poll_compacted`].
    compaction_awaited: bool,
    /// Who a commit's update goes to.
    recipients: Recipients,
}

/// The monitors an update to one database goes to right away, in the
/// order it goes out (by session, then monitor id), as one list: a commit
/// walks it instead of every session's monitors. Rebuilt by the first
/// commit after monitors or sessions changed (see [`Core::audience`]).
#[derive(Default, Debug, PartialEq)]
struct Recipients {
    /// The value of [`Core::audience`] it was built for (`None`: never).
    built: Option<u64>,
    list: Vec<Recipient>,
}

impl Recipients {
    /// The monitors of database `d` of the sessions that are not behind.
    fn build(sessions: &FastMap<SessionId, Session>, behind: &BTreeSet<SessionId>, d: usize, audience: u64) -> Recipients {
        let mut ids: HashMap<&str, Arc<str>> = HashMap::new();
        let mut list = Vec::new();
        for (s, ss) in sessions.iter().filter(|(s, _)| !behind.contains(s)) {
            for (id, m) in ss.monitors.iter().filter(|(_, m)| m.db == d) {
                let id = ids.entry(id).or_insert_with(|| Arc::from(id.as_str())).clone();
                list.push(Recipient { session: *s, key: m.key, id });
            }
        }
        // Stable: each session's monitors stay in the order of their ids.
        list.sort_by_key(|r| r.session);
        Recipients { built: Some(audience), list }
    }
}

#[derive(Debug, PartialEq)]
struct Recipient {
    session: SessionId,
    /// The monitor's [`MonitorEntry::key`].
    key: u64,
    /// The monitor's id (serialized): one allocation for all recipients of
    /// a list with this id, so that alike neighbours compare by pointer.
    id: Arc<str>,
}

struct MonitorEntry {
    db: usize,
    id: Value,
    monitor: Monitor,
    /// Monitors with equal keys produce equal updates: serialize once.
    key: u64,
    /// While the session is behind: the changes not sent yet.
    held: NetChanges,
    /// While the session is behind: some commit concerned the monitor,
    /// even if its changes have cancelled out since.
    missed: bool,
}

#[derive(Default)]
struct Session {
    /// Monitors by their `<json-value>` (serialized).
    monitors: BTreeMap<String, MonitorEntry>,
    peer: Peer,
    /// Locks asked for and not unlocked: true if taken with `steal`. A
    /// stolen lock that was itself stolen is lost: the session no longer
    /// waits for it (as upstream).
    locks: BTreeMap<String, bool>,
}

/// The locks of one session, by state (names in order): what the status
/// of an outbound remote reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionLocks {
    /// Held now.
    pub held: Vec<String>,
    /// Waited for.
    pub waiting: Vec<String>,
    /// Stolen from the session after it had stolen them.
    pub lost: Vec<String>,
}

/// Who a client is and what its remote lets it do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    /// Its identity: the CN of its TLS certificate.
    pub id: Option<String>,
    /// The RBAC role of its remote.
    pub role: Option<String>,
    /// Its remote allows only read-only transactions.
    pub read_only: bool,
}

struct Pending {
    session: SessionId,
    id: Value,
    db: usize,
    ops: Vec<Value>,
    /// When its `wait` times out (set when it first blocked).
    deadline: Option<Instant>,
}

/// The server core.
pub struct Core {
    dbs: Vec<Db>,
    by_name: HashMap<String, usize>,
    sessions: FastMap<SessionId, Session>,
    /// The clients that are not reading fast enough: their monitors'
    /// updates are held back and merged until they have caught up.
    behind: BTreeSet<SessionId>,
    /// Counts the changes to who gets updates (monitors added, changed or
    /// cancelled, sessions gone, behind or caught up): a database's
    /// [`Recipients`] built for another count are out of date.
    audience: u64,
    /// Lock name -> queue of sessions; the front one holds the lock.
    locks: HashMap<String, VecDeque<SessionId>>,
    pending: Vec<Pending>,
    /// What the shell is to do, each with whether it sends a monitor
    /// update (which no request waits for).
    out: VecDeque<(Action, bool)>,
    server_id: Uuid,
    /// The time of the latest event, for re-running blocked transactions.
    now: Instant,
    /// When to compact logs automatically.
    policy: compaction::Policy,
    /// Commits so far, to all databases.
    commits: u64,
    /// Outcomes of awaited background compactions: (database, error).
    compacted: VecDeque<(String, Result<(), String>)>,
    /// Merged updates sent to clients catching up since the last commit.
    caught_up: CatchUpCache,
    /// Where [`Core::handle_text`] reads a request's tree, emptied after
    /// each.
    arena: Bump,
    /// Transactions aged out of a history, to be freed by
    /// [`Core::release_retired`] once the shell has sent what the commits
    /// that retired them produced: freeing one that changed thousands of
    /// rows takes tens of µs (a cache miss per row), which is not worth
    /// delaying an update to the monitoring clients.
    retired: Vec<Arc<ChangeSet>>,
}

/// Retired transactions beyond this are freed at once (for a user of the
/// core that never calls [`Core::release_retired`]).
const RETIRED_MAX: usize = 256;

/// An arena grown past this by one large request is not kept for the next.
const ARENA_KEPT: usize = 1 << 20;

/// The merged updates sent to clients that caught up since commit number
/// `commits`, per monitor key: clients that fell behind together and
/// watch alike hold the very same changes (the same rows, by pointer), and
/// share one serialized update, as the clients that keep up do.
#[derive(Default)]
struct CatchUpCache {
    commits: u64,
    by_key: HashMap<u64, Vec<SharedCatchUp>>,
}

struct SharedCatchUp {
    changes: ChangeSet,
    /// The `<table-updates>` (`None`: nothing to send).
    body: Option<Arc<String>>,
    /// The whole notification, per monitor id (serialized).
    wrapped: Vec<(String, Arc<Vec<u8>>)>,
}

/// Errors opening databases.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A database file could not be opened.
    #[error("{0}")]
    Db(#[from] ovsdb::Error),
    /// Two files hold databases of the same name.
    #[error("{0}: a database named {1} is already open")]
    Duplicate(PathBuf, String),
}

fn server_schema() -> DatabaseSchema {
    DatabaseSchema::from_json(&json!({
        "name": "_Server", "version": "1.2.0", "cksum": "3009684573 744",
        "tables": {"Database": {"columns": {
            "name": {"type": "string"},
            "model": {"type": {"key": {"type": "string", "enum": ["set", ["standalone", "clustered", "relay"]]}}},
            "connected": {"type": "boolean"},
            "leader": {"type": "boolean"},
            "schema": {"type": {"key": "string", "min": 0, "max": 1}},
            "cid": {"type": {"key": "uuid", "min": 0, "max": 1}},
            "sid": {"type": {"key": "uuid", "min": 0, "max": 1}},
            "index": {"type": {"key": "integer", "min": 0, "max": 1}}}}}
    }))
    .expect("the _Server schema is valid")
}

impl Core {
    /// A core serving the given database files (each opened with torn-tail
    /// recovery; what was dropped is returned for logging).
    pub fn open(files: &[PathBuf]) -> Result<(Core, Vec<String>), OpenError> {
        let mut core = Core::empty();
        let mut notes = Vec::new();
        for f in files {
            let (log, db, report) = Log::open(f)?;
            if let Some(d) = &report.dropped {
                notes.push(format!("{}: {d}", f.display()));
            }
            let name = db.schema().name.clone();
            if core.by_name.contains_key(&name) {
                return Err(OpenError::Duplicate(f.clone(), name));
            }
            core.add_db(name, db, Some(log), false);
        }
        let server = Database::new(Arc::new(server_schema()));
        core.add_db("_Server".into(), server, None, true);
        core.refresh_server_db();
        Ok((core, notes))
    }

    /// A core serving in-memory databases (for tests and benchmarks).
    pub fn in_memory(dbs: Vec<Database>) -> Core {
        let mut core = Core::empty();
        for db in dbs {
            let name = db.schema().name.clone();
            core.add_db(name, db, None, false);
        }
        core.add_db("_Server".into(), Database::new(Arc::new(server_schema())), None, true);
        core.refresh_server_db();
        core
    }

    fn empty() -> Core {
        Core {
            dbs: Vec::new(),
            by_name: HashMap::new(),
            sessions: FastMap::default(),
            behind: BTreeSet::new(),
            audience: 0,
            locks: HashMap::new(),
            pending: Vec::new(),
            out: VecDeque::new(),
            server_id: Uuid::random(),
            now: Instant::now(),
            policy: compaction::Policy::default(),
            commits: 0,
            compacted: VecDeque::new(),
            caught_up: CatchUpCache::default(),
            retired: Vec::new(),
            arena: Bump::new(),
        }
    }

    fn add_db(&mut self, name: String, db: Database, log: Option<Log>, read_only: bool) {
        self.by_name.insert(name.clone(), self.dbs.len());
        let compaction = compaction::State::new(log.as_ref().map_or(0, Log::len), self.now);
        let db_tables = db.schema().tables.len();
        let startup_txn = Uuid::random();
        let atoms = (0..db.schema().tables.len()).flat_map(|t| db.table(t).rows.values()).map(|r| row_atoms(r)).sum();
        self.dbs.push(Db {
            name,
            db,
            log,
            history: VecDeque::new(),
            history_atoms: 0,
            atoms,
            last_txn: startup_txn,
            history_base: startup_txn,
            read_only,
            compaction,
            changed: vec![0; db_tables],
            compaction_awaited: false,
            recipients: Recipients::default(),
        });
    }

    /// Rewrites the `_Server` Database table from the open databases.
    fn refresh_server_db(&mut self) {
        let Some(&s) = self.by_name.get("_Server") else { return };
        let mut ops = vec![json!({"op": "delete", "table": "Database", "where": []})];
        for d in &self.dbs {
            ops.push(json!({"op": "insert", "table": "Database", "row": {
                "name": d.name, "model": "standalone", "connected": true, "leader": true,
                "schema": d.db.schema().to_json().to_string()}}));
        }
        let (_, cs) = self.dbs[s].db.transact(&ops);
        if let Some(cs) = cs {
            self.committed(s, cs);
        }
    }

    /// Names of the databases served (what `list_dbs` returns).
    pub fn db_names(&self) -> Vec<String> {
        self.dbs.iter().map(|d| d.name.clone()).collect()
    }

    /// A database by name.
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.by_name.get(name).map(|&i| &self.dbs[i].db)
    }

    /// Compacts every database's log.
    pub fn compact(&mut self) -> Result<(), String> {
        for i in 0..self.dbs.len() {
            self.compact_one(i)?;
        }
        Ok(())
    }

    fn compact_one(&mut self, i: usize) -> Result<(), String> {
        let now = self.now;
        let d = &mut self.dbs[i];
        if let Some(log) = &mut d.log {
            log.compact(&d.db, None).map_err(|e| format!("{}: {e}", d.name))?;
            d.compaction = compaction::State::new(log.len(), now);
        }
        Ok(())
    }

    /// Starts compacting in the background the log of the database `name`,
    /// or of every database (`ovsdb-server/compact [DB]`), without stopping
    /// transactions. Returns the databases whose outcome
    /// [`Core::poll_compacted`] will report (a compaction already running
    /// counts: its outcome is reported). Errors are the text to show.
    pub fn start_compact_named(&mut self, name: Option<&str>) -> Result<Vec<String>, String> {
        let which: Vec<usize> = match name {
            None => (0..self.dbs.len()).collect(),
            Some(n) => vec![*self.by_name.get(n).ok_or("no database by that name")?],
        };
        let mut started = Vec::new();
        for i in which {
            if self.dbs[i].log.is_none() {
                continue;
            }
            self.start_compaction(i, "requested").map_err(|e| format!("{}: {e}", self.dbs[i].name))?;
            self.dbs[i].compaction_awaited = true;
            started.push(self.dbs[i].name.clone());
        }
        Ok(started)
    }

    /// The outcome of a background compaction started by
    /// [`Core::start_compact_named`], once it is complete.
    pub fn poll_compacted(&mut self) -> Option<(String, Result<(), String>)> {
        self.compacted.pop_front()
    }

    /// Starts compacting database `i`'s log in the background: the
    /// snapshot is taken now and written by another thread while commits go
    /// on; [`Core::poll_compactions`] completes it. Nothing if one runs.
    fn start_compaction(&mut self, i: usize, why: &str) -> Result<(), String> {
        let now = self.now;
        let d = &mut self.dbs[i];
        let Some(log) = &mut d.log else { return Ok(()) };
        if log.compacting() {
            return Ok(());
        }
        match log.start_compaction(&d.db, None) {
            Ok(()) => {
                tracing::info!("{}: {why}: compacting the database log in the background", d.name);
                Ok(())
            }
            // Appending goes on; try again after the next interval.
            Err(e) => {
                tracing::warn!("{}: compaction failed: {e}", d.name);
                d.compaction.since = now;
                Err(e.to_string())
            }
        }
    }

    /// Completes background compactions whose snapshot is written (all of
    /// them, waiting if need be, with `wait`).
    fn finish_compactions(&mut self, wait: bool) {
        let now = self.now;
        for d in &mut self.dbs {
            let Some(log) = &mut d.log else { continue };
            if !(log.compaction_ready() || (wait && log.compacting())) {
                continue;
            }
            let before = log.len();
            let outcome = match log.finish_compaction() {
                Ok(()) => {
                    tracing::info!("{}: compacted the database log ({before} -> {} bytes)", d.name, log.len());
                    d.compaction = compaction::State::new(log.len(), now);
                    Ok(())
                }
                Err(e) => {
                    tracing::warn!("{}: compaction failed: {e}", d.name);
                    d.compaction.since = now;
                    Err(format!("{}: {e}", d.name))
                }
            };
            if std::mem::take(&mut d.compaction_awaited) {
                self.compacted.push_back((d.name.clone(), outcome));
            }
        }
    }

    /// Number of logs being compacted in the background.
    pub fn compactions_running(&self) -> usize {
        self.dbs.iter().filter(|d| d.log.as_ref().is_some_and(Log::compacting)).count()
    }

    /// Completes every background compaction, waiting for them (for tests,
    /// and before reporting log sizes that must be final).
    pub fn wait_compactions(&mut self) {
        self.finish_compactions(true);
    }

    /// Completes the background compactions that are ready (the shell calls
    /// this when [`Core::poll_timeout`] comes; messages do it too).
    pub fn poll_compactions(&mut self) {
        self.finish_compactions(false);
    }

    /// Sets when logs are compacted automatically.
    pub fn set_compaction_policy(&mut self, policy: compaction::Policy) {
        self.policy = policy;
    }

    /// After a commit was logged: starts compacting the log if it has
    /// grown enough.
    fn logged(&mut self, i: usize) {
        let (now, policy) = (self.now, self.policy);
        let d = &mut self.dbs[i];
        d.compaction.commits += 1;
        let Some(log) = d.log.as_ref() else { return };
        if !log.compacting() && d.compaction.due(&policy, log.len(), now) {
            let _ = self.start_compaction(i, "log grew");
        }
    }

    /// What `memory/show` reports: (name, count) pairs in name order —
    /// atoms and cells in every database, weak references, monitors, and
    /// sessions (only when there are some, as upstream); and, while some
    /// client is behind, the rows held back for it (`held-rows`, a rovn
    /// item: upstream never holds updates back).
    pub fn memory_usage(&self) -> Vec<(&'static str, u64)> {
        let (mut atoms, mut cells, mut weak) = (0u64, 0u64, 0u64);
        for d in &self.dbs {
            for t in 0..d.db.schema().tables.len() {
                let table = d.db.table(t);
                for row in table.rows.values() {
                    cells += row.values.len() as u64;
                    atoms += row_atoms(row);
                }
                weak += table.refs_in.values().map(|r| r.weak.iter().map(|(_, &n)| n as u64).sum::<u64>()).sum::<u64>();
            }
        }
        let monitors = self.sessions.values().map(|s| s.monitors.len() as u64).sum();
        let held: u64 = self.sessions.keys().map(|&s| self.held_rows(s) as u64).sum();
        let mut out = vec![("atoms", atoms), ("cells", cells)];
        if held > 0 {
            out.push(("held-rows", held));
        }
        out.extend([("monitors", monitors), ("n-weak-refs", weak)]);
        if !self.sessions.is_empty() {
            out.push(("sessions", self.sessions.len() as u64));
        }
        out
    }

    /// Log sizes, for deciding when to compact: (database, bytes, records).
    pub fn log_sizes(&self) -> Vec<(String, u64, u64)> {
        self.dbs.iter().filter_map(|d| d.log.as_ref().map(|l| (d.name.clone(), l.len(), l.n_records()))).collect()
    }

    /// A new connection.
    pub fn handle_connect(&mut self, s: SessionId) {
        self.handle_connect_as(s, Peer::default());
    }

    /// A new connection from `peer`, whose transactions its remote limits.
    pub fn handle_connect_as(&mut self, s: SessionId, peer: Peer) {
        self.sessions.insert(s, Session { peer, ..Session::default() });
    }

    /// How many commits the databases have seen: a change means the
    /// configuration read from them may have changed.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Whether a commit after the first `commits` (a value of
    /// [`Core::commits`]) changed table `t` of database `db`.
    pub fn table_changed_since(&self, db: &str, t: usize, commits: u64) -> bool {
        self.by_name.get(db).and_then(|&d| self.dbs[d].changed.get(t)).is_some_and(|&c| c > commits)
    }

    /// A transaction of the server's own (e.g. writing remote status):
    /// executed, logged and applied like a client's, without blocking.
    pub fn transact_internal(&mut self, db: &str, ops: &[Value]) -> Vec<Value> {
        let Some(&d) = self.by_name.get(db) else {
            return vec![json!({"error": "unknown database", "details": db})];
        };
        let ctx = TxnContext { waits_expired: true, ..Default::default() };
        match self.dbs[d].db.execute(ops, &ctx) {
            Outcome::Complete(prepared) => self.commit_prepared(d, prepared),
            Outcome::Blocked { .. } => vec![json!({"error": "timed out"})],
        }
    }

    /// A client is behind (its unsent messages are over the shell's mark):
    /// hold back its monitors' updates from now on, keeping only each
    /// row's net change.
    pub fn handle_behind(&mut self, s: SessionId) {
        if self.sessions.contains_key(&s) && self.behind.insert(s) {
            self.audience += 1;
        }
    }

    /// A client that was behind has caught up: each of its monitors sends
    /// what changed meanwhile as one update.
    pub fn handle_caught_up(&mut self, s: SessionId) {
        if !self.behind.remove(&s) {
            return;
        }
        self.audience += 1;
        let Some(ss) = self.sessions.get(&s) else { return };
        let keys: Vec<String> = ss.monitors.iter().filter(|(_, m)| m.missed).map(|(k, _)| k.clone()).collect();
        for k in keys {
            self.send_held(s, &k);
        }
        if self.behind.is_empty() {
            self.caught_up = CatchUpCache::default();
        }
    }

    /// Rows held back for session `s`'s monitors (0 if it is not behind).
    pub fn held_rows(&self, s: SessionId) -> usize {
        self.sessions.get(&s).map_or(0, |ss| ss.monitors.values().map(|m| m.held.len()).sum())
    }

    /// Sends monitor `key` of session `s` what it holds back, as one update.
    fn send_held(&mut self, s: SessionId, key: &str) {
        let Some(m) = self.sessions.get_mut(&s).and_then(|ss| ss.monitors.get_mut(key)) else { return };
        if !std::mem::take(&mut m.missed) {
            return;
        }
        let changes = m.held.take();
        let db = &self.dbs[m.db];
        if self.caught_up.commits != self.commits {
            self.caught_up = CatchUpCache { commits: self.commits, by_key: HashMap::new() };
        }
        let alike = self.caught_up.by_key.entry(m.key).or_default();
        let i = match alike.iter().position(|c| coalesce::same(&c.changes, &changes)) {
            Some(i) => i,
            None => {
                let body = match m.monitor.update(db.db.schema(), &changes) {
                    Some(u) => Some(Arc::new(u.to_string())),
                    // Changes that cancelled out (a row inserted and
                    // deleted): an update3 all the same, for its
                    // transaction id. A client that had read along would
                    // know that id; with an older one it would resume from
                    // further back, and from before the history (a full
                    // resend) after a burst of more than 100 transactions.
                    None if m.monitor.version == Version::V3 => Some(Arc::new("{}".to_string())),
                    None => None,
                };
                alike.push(SharedCatchUp { changes, body, wrapped: Vec::new() });
                alike.len() - 1
            }
        };
        let shared = &mut alike[i];
        let Some(body) = &shared.body else { return };
        let id_text = m.id.to_string();
        let bytes = match shared.wrapped.iter().find(|(id, _)| *id == id_text) {
            Some((_, b)) => b.clone(),
            None => {
                let b = Arc::new(notification(m.monitor.version, &m.id, db.last_txn, body));
                shared.wrapped.push((id_text, b.clone()));
                b
            }
        };
        self.out.push_back((Action::Send(s, bytes), true));
    }

    /// A connection went away: its monitors, locks and waiting transactions go too.
    pub fn handle_disconnect(&mut self, s: SessionId) {
        self.sessions.remove(&s);
        self.behind.remove(&s);
        self.audience += 1;
        self.pending.retain(|p| p.session != s);
        let names: Vec<String> = self.locks.iter().filter(|(_, q)| q.contains(&s)).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.release_lock(s, &n);
        }
    }

    /// The next action for the shell.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front().map(|(a, _)| a)
    }

    /// The next action for the shell, and whether it sends a monitor update
    /// (rather than a reply, an error or a notification of the session's
    /// own: what a client waits for).
    pub fn poll_action_update(&mut self) -> Option<(Action, bool)> {
        self.out.pop_front()
    }

    /// When [`Core::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let idle = |d: &&Db| d.log.as_ref().is_some_and(|l| !l.compacting());
        let compactions = self.dbs.iter().filter(idle).filter_map(|d| d.compaction.deadline(&self.policy));
        // A background compaction is checked on often: finishing it is
        // quick, and until then its log keeps the appends twice.
        let running = self.dbs.iter().any(|d| d.log.as_ref().is_some_and(Log::compacting));
        let check = running.then(|| self.now + COMPACTION_CHECK);
        self.pending.iter().filter_map(|p| p.deadline).chain(compactions).chain(check).min()
    }

    /// Time passed: blocked transactions whose wait timed out complete, and
    /// logs due for their periodic compaction are compacted.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.pending.iter().any(|p| p.deadline.is_some_and(|d| d <= now)) {
            self.retry_pending_on(None);
        }
        self.poll_compactions();
        for i in 0..self.dbs.len() {
            let d = &self.dbs[i];
            let idle = d.log.as_ref().is_some_and(|l| !l.compacting());
            if idle && d.compaction.deadline(&self.policy).is_some_and(|t| t <= now) {
                let _ = self.start_compaction(i, "periodic compaction");
            }
        }
    }

    fn send(&mut self, s: SessionId, m: &Message) {
        self.out.push_back((Action::Send(s, Arc::new(m.to_bytes())), false));
    }

    fn reply(&mut self, s: SessionId, id: Value, result: Value) {
        self.send(s, &Message::Reply { result, id });
    }

    fn error(&mut self, s: SessionId, id: Value, error: Value) {
        self.send(s, &Message::Error { error, id });
    }

    /// A message from a client, as the bytes of its JSON text (from
    /// [`ovsdb::jsonrpc::Framer::next_text`]). A `transact` request is
    /// executed from its text read in place; anything else goes through
    /// [`Core::handle_message`]. An error (the text is not JSON, or not a
    /// JSON-RPC message) means the session should be closed.
    pub fn handle_text(&mut self, s: SessionId, text: &[u8], now: Instant) -> Result<(), RpcError> {
        let mut arena = std::mem::take(&mut self.arena);
        let r = self.handle_json(s, &arena, text, now);
        if arena.allocated_bytes() <= ARENA_KEPT {
            arena.reset();
            self.arena = arena;
        }
        r
    }

    fn handle_json(&mut self, s: SessionId, arena: &Bump, text: &[u8], now: Instant) -> Result<(), RpcError> {
        let j = ovsdb::json::parse_or_serde(arena, text).map_err(|e| RpcError::Json(e.to_string()))?;
        // The fast path takes only what Message::from_json would have made
        // a transact request of; anything else takes the general one.
        let fast = match j {
            Json::Object(members) if members.iter().all(|(k, _)| matches!(*k, "id" | "method" | "params")) => {
                match (j.get("method"), j.get("params").and_then(JsonNode::as_slice), j.get("id")) {
                    (Some(Json::String("transact")), Some(params), Some(id)) if *id != Json::Null => Some((id, params)),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((id, params)) = fast else {
            let msg = Message::from_json(j.to_value())?;
            self.handle_message(s, msg, now);
            return Ok(());
        };
        self.now = now;
        self.poll_compactions();
        let id = id.to_value();
        let db = params.first().and_then(JsonNode::as_str).and_then(|n| self.by_name.get(n).copied());
        match db {
            Some(d) if !self.dbs[d].read_only => self.transact_now(s, id, d, &params[1..], now),
            // Errors and read-only databases, as any other request.
            _ => self.request(s, "transact", params.iter().map(Json::to_value).collect(), id, now),
        }
        Ok(())
    }

    /// A message from a client.
    pub fn handle_message(&mut self, s: SessionId, msg: Message, now: Instant) {
        self.now = now;
        self.poll_compactions();
        match msg {
            Message::Request { method, params, id } => self.request(s, &method, params, id, now),
            Message::Notify { method, params } => {
                if method == "cancel" {
                    if let Some(id) = params.first() {
                        if let Some(i) = self.pending.iter().position(|p| p.session == s && &p.id == id) {
                            let p = self.pending.remove(i);
                            self.error(s, p.id, json!("canceled"));
                        }
                    }
                }
            }
            // Replies to our echo probes, and anything else unsolicited.
            Message::Reply { .. } | Message::Error { .. } => {}
        }
    }

    fn db_param(&mut self, s: SessionId, id: &Value, params: &[Value], method: &str) -> Option<usize> {
        // Only an error names the request (copying a big transaction costs).
        let all = || Value::Array(params.to_vec());
        let Some(name) = params.first().and_then(Value::as_str) else {
            let e = syntax_error(&format!("{method} request params must begin with <db-name>"), &all());
            self.error(s, id.clone(), e);
            return None;
        };
        match self.by_name.get(name) {
            Some(&i) => Some(i),
            None => {
                let details = format!("{method} request specifies unknown database {name}");
                let e = json!({"error": "unknown database", "details": details, "syntax": all().to_string()});
                self.error(s, id.clone(), e);
                None
            }
        }
    }

    fn request(&mut self, s: SessionId, method: &str, params: Vec<Value>, id: Value, now: Instant) {
        match method {
            "echo" => self.reply(s, id, Value::Array(params)),
            "list_dbs" => {
                let names = self.db_names();
                self.reply(s, id, json!(names))
            }
            "get_schema" => {
                if let Some(d) = self.db_param(s, &id, &params, "get_schema") {
                    let schema = self.dbs[d].db.schema().to_json();
                    self.reply(s, id, schema);
                }
            }
            "get_server_id" => {
                let sid = self.server_id.to_string();
                self.reply(s, id, json!(sid))
            }
            "set_db_change_aware" => self.reply(s, id, json!({})),
            "transact" => {
                if let Some(d) = self.db_param(s, &id, &params, "transact") {
                    let mut ops = params;
                    ops.remove(0);
                    if self.dbs[d].read_only {
                        let results = self.read_only_transact(d, &ops);
                        self.reply(s, id, Value::Array(results));
                        return;
                    }
                    self.transact_now(s, id, d, &ops, now);
                }
            }
            "monitor" | "monitor_cond" | "monitor_cond_since" => self.monitor(s, method, params, id),
            "monitor_cancel" => {
                // ovsdb-server answers these two with a bare string.
                if params.len() != 1 {
                    self.error(s, id, json!("invalid parameters"));
                    return;
                }
                let key = params[0].to_string();
                let removed = self.sessions.get_mut(&s).and_then(|ss| ss.monitors.remove(&key)).is_some();
                self.audience += 1;
                if removed {
                    self.reply(s, id, json!({}));
                } else {
                    self.error(s, id, json!("unknown monitor"));
                }
            }
            "monitor_cond_change" => self.monitor_cond_change(s, params, id),
            "lock" | "steal" | "unlock" => {
                let all = Value::Array(params.clone());
                let name = match params.as_slice() {
                    [Value::String(n)] => n.clone(),
                    _ => {
                        self.error(s, id, syntax_error(&format!("{method} request params must be <id>"), &all));
                        return;
                    }
                };
                // Asked for and not unlocked: held, waited for or lost.
                let requested = self.sessions.get(&s).is_some_and(|ss| ss.locks.contains_key(&name));
                if method == "unlock" && !requested {
                    let e = syntax_error("unlock: \"unlock\" without \"lock\" or \"steal\"", &all);
                    self.error(s, id, e);
                    return;
                }
                if method != "unlock" && requested {
                    self.error(s, id, syntax_error(&format!("must issue \"unlock\" before new \"{method}\""), &all));
                    return;
                }
                match method {
                    "lock" => {
                        if let Some(ss) = self.sessions.get_mut(&s) {
                            ss.locks.insert(name.clone(), false);
                        }
                        let q = self.locks.entry(name.clone()).or_default();
                        q.push_back(s);
                        let locked = q.front() == Some(&s);
                        self.reply(s, id, json!({"locked": locked}));
                    }
                    "steal" => {
                        if let Some(ss) = self.sessions.get_mut(&s) {
                            ss.locks.insert(name.clone(), true);
                        }
                        let q = self.locks.entry(name.clone()).or_default();
                        let victim = q.front().copied();
                        q.push_front(s);
                        if let Some(v) = victim {
                            // A thief robbed in turn has lost the lock; one
                            // that asked politely waits for it again.
                            let thief = self.sessions.get(&v).is_some_and(|vs| vs.locks.get(&name) == Some(&true));
                            if thief {
                                q.retain(|x| *x != v);
                            }
                        }
                        self.reply(s, id, json!({"locked": true}));
                        if let Some(v) = victim {
                            self.send(v, &Message::Notify { method: "stolen".into(), params: vec![json!(name)] });
                        }
                    }
                    _ => {
                        if let Some(ss) = self.sessions.get_mut(&s) {
                            ss.locks.remove(&name);
                        }
                        self.release_lock(s, &name);
                        self.reply(s, id, json!({}));
                    }
                }
            }
            _ => self.error(s, id, json!("unknown method")),
        }
    }

    fn release_lock(&mut self, s: SessionId, name: &str) {
        let Some(q) = self.locks.get_mut(name) else { return };
        let was_owner = q.front() == Some(&s);
        q.retain(|x| *x != s);
        let next = q.front().copied();
        if q.is_empty() {
            self.locks.remove(name);
        }
        if was_owner {
            if let Some(n) = next {
                self.send(n, &Message::Notify { method: "locked".into(), params: vec![json!(name)] });
            }
        }
    }

    /// The locks session `s` asked for, by state.
    pub fn session_locks(&self, s: SessionId) -> SessionLocks {
        let mut out = SessionLocks::default();
        let Some(ss) = self.sessions.get(&s) else { return out };
        for name in ss.locks.keys() {
            let q = self.locks.get(name);
            let list = if q.and_then(|q| q.front()) == Some(&s) {
                &mut out.held
            } else if q.is_some_and(|q| q.contains(&s)) {
                &mut out.waiting
            } else {
                &mut out.lost
            };
            list.push(name.clone());
        }
        out
    }

    fn holds_lock(&self, s: SessionId, name: &str) -> bool {
        self.locks.get(name).and_then(|q| q.front()) == Some(&s)
    }

    /// A transaction on a read-only database (`_Server`): its operations up
    /// to the first that would write run as usual; that one is refused.
    fn read_only_transact(&mut self, d: usize, ops: &[Value]) -> Vec<Value> {
        let writes = |op: &Value| {
            matches!(op.get("op").and_then(Value::as_str), Some("insert" | "update" | "mutate" | "delete"))
        };
        let k = ops.iter().position(writes).unwrap_or(ops.len());
        let ctx = TxnContext { waits_expired: true, ..Default::default() };
        let mut results = match self.dbs[d].db.execute(&ops[..k], &ctx) {
            Outcome::Complete(p) if p.failed => return p.results,
            Outcome::Complete(p) => p.results,
            Outcome::Blocked { .. } => return vec![json!({"error": "timed out", "details": "\"wait\" timed out"})],
        };
        if let Some(op) = ops.get(k) {
            let name = op["op"].as_str().unwrap_or_default();
            let details = format!("{name} operation not allowed on table in reserved database {}", self.dbs[d].name);
            results.push(json!({"error": "not allowed", "details": details}));
        }
        results
    }

    /// Runs a new transaction; if a `wait` blocks it, it waits among the
    /// pending ones (its operations kept as `Value`s).
    fn transact_now<J: JsonNode>(&mut self, s: SessionId, id: Value, d: usize, ops: &[J], now: Instant) {
        match self.execute_for(s, d, ops, false) {
            Outcome::Blocked { timeout_ms } => {
                let deadline = timeout_ms.map(|ms| now + Duration::from_millis(ms));
                let ops = ops.iter().map(JsonNode::to_value).collect();
                self.pending.push(Pending { session: s, id, db: d, ops, deadline });
            }
            Outcome::Complete(prepared) => {
                let results = self.commit_prepared(d, prepared);
                self.reply(s, id, Value::Array(results));
            }
        }
    }

    /// Executes a client's transaction (nothing is applied).
    fn execute_for<J: JsonNode>(&self, s: SessionId, d: usize, ops: &[J], expired: bool) -> Outcome {
        let has_lock = |name: &str| self.holds_lock(s, name);
        let peer = self.sessions.get(&s).map(|ss| &ss.peer);
        let db = &self.dbs[d].db;
        let rbac = peer
            .and_then(|p| p.role.as_deref().filter(|_| rbac::enabled(db)).map(|r| rbac::Rbac::new(db, r, p.id.as_deref())));
        let ctx = TxnContext {
            has_lock: &has_lock,
            waits_expired: expired,
            read_only: peer.is_some_and(|p| p.read_only),
            access: rbac.as_ref().map(|r| r as &dyn ovsdb::Access),
        };
        db.execute(ops, &ctx)
    }

    /// Runs pending transaction `i`; removes it unless it is still blocked.
    fn attempt(&mut self, i: usize, now: Instant) -> bool {
        let p = &self.pending[i];
        let (s, d) = (p.session, p.db);
        let expired = p.deadline.is_some_and(|t| t <= now);
        match self.execute_for(s, d, &p.ops, expired) {
            // Its deadline was set when it first blocked.
            Outcome::Blocked { .. } => false,
            Outcome::Complete(prepared) => {
                let p = self.pending.remove(i);
                let results = self.commit_prepared(d, prepared);
                self.reply(s, p.id, Value::Array(results));
                true
            }
        }
    }

    /// Logs and applies a finished transaction's changes; its results.
    fn commit_prepared(&mut self, d: usize, prepared: ovsdb::Prepared) -> Vec<Value> {
        let mut results = prepared.results;
        if let Some(cs) = prepared.changes {
            let db = &mut self.dbs[d];
            let err = if db.read_only {
                Some(json!({"error": "not allowed", "details": format!("database {} is read-only", db.name)}))
            } else if let Some(log) = &mut db.log {
                log.append(&cs, db.db.schema(), prepared.durable)
                    .err()
                    .map(|e| json!({"error": "I/O error", "details": e.to_string()}))
            } else {
                None
            };
            match err {
                Some(e) => results.push(e),
                None => {
                    self.dbs[d].db.apply(&cs);
                    self.committed(d, cs);
                    self.logged(d);
                }
            }
        }
        results
    }

    /// Frees the transactions that aged out of the histories (call it after
    /// sending what [`Core::poll_action`] gave).
    pub fn release_retired(&mut self) {
        self.retired.clear();
    }

    /// After a commit: history, monitors, and blocked transactions.
    fn committed(&mut self, d: usize, cs: ChangeSet) {
        self.commits += 1;
        if self.retired.len() >= RETIRED_MAX {
            self.release_retired();
        }
        for (t, _) in &cs.tables {
            if let Some(c) = self.dbs[d].changed.get_mut(*t) {
                *c = self.commits;
            }
        }
        let cs = Arc::new(cs);
        let txn = Uuid::random();
        let db = &mut self.dbs[d];
        db.last_txn = txn;
        let (mut old, mut new) = (0, 0);
        for rc in cs.tables.iter().flat_map(|(_, rows)| rows) {
            old += rc.old.as_deref().map_or(0, row_atoms);
            new += rc.new.as_deref().map_or(0, row_atoms);
        }
        db.atoms = (db.atoms + new).saturating_sub(old);
        db.history.push_back((txn, cs.clone(), old + new));
        db.history_atoms += old + new;
        while db.history.len() > HISTORY || (db.history.len() > 1 && db.history_atoms > db.atoms.max(HISTORY_FLOOR)) {
            if let Some((t, old, n)) = db.history.pop_front() {
                db.history_atoms -= n;
                db.history_base = t;
                // Freed after the update has gone out (see `retired`).
                self.retired.push(old);
            }
        }
        let schema = db.db.schema().clone();
        // Clients behind: nothing is sent now, each row's net change is
        // remembered.
        for s in &self.behind {
            let Some(ss) = self.sessions.get_mut(s) else { continue };
            for m in ss.monitors.values_mut().filter(|m| m.db == d) {
                m.missed |= m.held.add(&cs, &MonitorView(&m.monitor, &schema));
            }
        }
        if self.dbs[d].recipients.built != Some(self.audience) {
            self.dbs[d].recipients = Recipients::build(&self.sessions, &self.behind, d, self.audience);
        }
        debug_assert_eq!(
            self.dbs[d].recipients,
            Recipients::build(&self.sessions, &self.behind, d, self.audience),
            "a change to monitors or sessions did not count in Core::audience"
        );
        let (recipients, sessions, out) = (&self.dbs[d].recipients.list, &self.sessions, &mut self.out);
        // Serialize each distinct update once, then wrap it once per
        // monitor id: clients whose monitors are alike and named alike
        // share the very same bytes (`None`: the commit is nothing to
        // those monitors).
        let mut bodies: FastMap<u64, Option<Arc<String>>> = FastMap::default();
        let mut wrapped: FastMap<(u64, *const u8), Option<Arc<Vec<u8>>>> = FastMap::default();
        // The last notification made: with a thousand alike clients, the
        // next one is most likely the same (no lookups in the maps then).
        let mut last: Option<(u64, &Arc<str>, Option<Arc<Vec<u8>>>)> = None;
        for r in recipients {
            let bytes = match &last {
                Some((key, id, bytes)) if *key == r.key && Arc::ptr_eq(id, &r.id) => bytes.clone(),
                _ => {
                    let bytes = wrapped
                        .entry((r.key, Arc::as_ptr(&r.id).cast::<u8>()))
                        .or_insert_with(|| {
                            let m = sessions.get(&r.session).and_then(|ss| ss.monitors.get(&*r.id))?;
                            let body = bodies
                                .entry(r.key)
                                .or_insert_with(|| m.monitor.update(&schema, &cs).map(|v| Arc::new(v.to_string())))
                                .as_ref()?;
                            Some(Arc::new(notification(m.monitor.version, &m.id, txn, body)))
                        })
                        .clone();
                    last = Some((r.key, &r.id, bytes.clone()));
                    bytes
                }
            };
            if let Some(b) = bytes {
                out.push_back((Action::Send(r.session, b), true));
            }
        }
        self.wake_pending(d);
    }

    /// Retries the blocked transactions on a database that just changed.
    fn wake_pending(&mut self, d: usize) {
        if self.pending.iter().any(|p| p.db == d) {
            self.retry_pending_on(Some(d));
        }
    }

    fn retry_pending_on(&mut self, d: Option<usize>) {
        let now = self.now;
        let mut i = 0;
        while i < self.pending.len() {
            if d.is_some_and(|d| self.pending[i].db != d) {
                i += 1;
                continue;
            }
            if !self.attempt(i, now) {
                i += 1;
            }
        }
    }

    fn monitor(&mut self, s: SessionId, method: &str, params: Vec<Value>, id: Value) {
        let version = match method {
            "monitor" => Version::V1,
            "monitor_cond" => Version::V2,
            _ => Version::V3,
        };
        let Some(d) = self.db_param(s, &id, &params, method) else { return };
        if version == Version::V3 && params.len() != 4 {
            self.error(s, id, syntax_error("invalid parameters", &Value::Array(params)));
            return;
        }
        // A missing id or request object reads as null, which is refused
        // below (upstream 3.1 crashes on a one-element `monitor`).
        let (mon_id, reqs) = (params.get(1).unwrap_or(&Value::Null), params.get(2).unwrap_or(&Value::Null));
        let key_str = mon_id.to_string();
        if self.sessions.get(&s).is_some_and(|ss| ss.monitors.contains_key(&key_str)) {
            self.error(s, id, syntax_error("duplicate monitor ID", mon_id));
            return;
        }
        let monitor = match Monitor::from_json(self.dbs[d].db.schema(), version, reqs) {
            Ok(m) => m,
            Err(e) => {
                self.error(s, id, e.to_json());
                return;
            }
        };
        let since = match params.get(3) {
            Some(Value::String(t)) => match Uuid::parse(t) {
                Some(u) => Some(u),
                None => {
                    self.error(s, id, syntax_error("last-txn-id must be UUID format.", &params[3]));
                    return;
                }
            },
            Some(v) if version == Version::V3 => {
                self.error(s, id, syntax_error("last-txn-id must be string", v));
                return;
            }
            _ => None,
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (d, method, reqs.to_string()).hash(&mut h);
        let key = h.finish();
        let db = &self.dbs[d];
        let result = match version {
            Version::V1 | Version::V2 => monitor.initial(&db.db),
            Version::V3 => {
                // How many of the oldest transactions the client has.
                let had = since.and_then(|t| {
                    if t == db.history_base {
                        Some(0)
                    } else {
                        db.history.iter().position(|(x, _, _)| *x == t).map(|p| p + 1)
                    }
                });
                match (since, had) {
                    (Some(t), _) if t == db.last_txn => json!([true, db.last_txn.to_string(), {}]),
                    (_, Some(had)) => {
                        let merged = NetChanges::merge(
                            db.history.iter().skip(had).map(|(_, c, _)| &**c),
                            &MonitorView(&monitor, db.db.schema()),
                        );
                        let up = monitor.update(db.db.schema(), &merged).unwrap_or(json!({}));
                        json!([true, db.last_txn.to_string(), up])
                    }
                    _ => json!([false, db.last_txn.to_string(), monitor.initial(&db.db)]),
                }
            }
        };
        self.audience += 1;
        if let Some(ss) = self.sessions.get_mut(&s) {
            ss.monitors.insert(
                key_str,
                MonitorEntry { db: d, id: mon_id.clone(), monitor, key, held: NetChanges::default(), missed: false },
            );
        }
        self.reply(s, id, result);
    }

    fn monitor_cond_change(&mut self, s: SessionId, params: Vec<Value>, id: Value) {
        let [old, new, reqs] = params.as_slice() else {
            self.error(s, id, syntax_error("invalid parameters", &Value::Array(params)));
            return;
        };
        let (old_key, new_key) = (old.to_string(), new.to_string());
        // What is held back was filtered by the old conditions: it goes
        // first, so that the change below applies to an up-to-date view.
        self.send_held(s, &old_key);
        // Its key or id may change below.
        self.audience += 1;
        let Some(mut entry) = self.sessions.get_mut(&s).and_then(|ss| ss.monitors.remove(&old_key)) else {
            self.error(s, id, syntax_error("unknown monitor session", old));
            return;
        };
        if old_key != new_key && self.sessions.get(&s).is_some_and(|ss| ss.monitors.contains_key(&new_key)) {
            if let Some(ss) = self.sessions.get_mut(&s) {
                ss.monitors.insert(old_key, entry);
            }
            self.error(s, id, syntax_error("duplicate monitor ID", new));
            return;
        }
        let d = entry.db;
        match entry.monitor.change_conditions(&self.dbs[d].db, reqs) {
            Ok(update) => {
                entry.id = new.clone();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (entry.key, reqs.to_string()).hash(&mut h);
                entry.key = h.finish();
                if let Some(u) = update {
                    let bytes = notification(entry.monitor.version, &entry.id, self.dbs[d].last_txn, &u.to_string());
                    self.out.push_back((Action::Send(s, Arc::new(bytes)), true));
                }
                if let Some(ss) = self.sessions.get_mut(&s) {
                    ss.monitors.insert(new_key, entry);
                }
                self.reply(s, id, json!({}));
            }
            Err(e) => {
                if let Some(ss) = self.sessions.get_mut(&s) {
                    ss.monitors.insert(old_key, entry);
                }
                self.error(s, id, e.to_json());
            }
        }
    }
}

/// A "syntax error" reply naming the offending JSON, as ovsdb-server sends.
fn syntax_error(details: &str, syntax: &Value) -> Value {
    json!({"error": "syntax error", "details": details, "syntax": syntax.to_string()})
}

/// An update notification around an already-serialized `<table-updates>`.
fn notification(v: Version, id: &Value, txn: Uuid, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 96);
    let method = match v {
        Version::V1 => "update",
        Version::V2 => "update2",
        Version::V3 => "update3",
    };
    out.extend_from_slice(b"{\"id\":null,\"method\":\"");
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(b"\",\"params\":[");
    out.extend_from_slice(id.to_string().as_bytes());
    out.push(b',');
    if v == Version::V3 {
        out.extend_from_slice(format!("\"{txn}\",").as_bytes());
    }
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(b"]}");
    out
}

/// Atoms in a row (a map's pair counts two), as memory/show counts them.
fn row_atoms(row: &Row) -> u64 {
    row.values.iter().map(|v| (v.len() * if v.is_map() { 2 } else { 1 }) as u64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_aged_out_of_the_history_wait_for_release_within_a_bound() {
        let schema = DatabaseSchema::from_json(&json!({
            "name": "t", "version": "1.0.0", "tables": {"T": {"columns": {"n": {"type": "integer"}}}}
        }))
        .unwrap();
        let mut core = Core::in_memory(vec![Database::new(Arc::new(schema))]);
        let insert = |core: &mut Core| {
            let r = core.transact_internal("t", &[json!({"op": "insert", "table": "T", "row": {"n": 1}})]);
            assert!(r[0].get("uuid").is_some(), "{r:?}");
        };
        for _ in 0..HISTORY {
            insert(&mut core);
        }
        assert!(core.retired.is_empty());
        for _ in 0..10 {
            insert(&mut core);
        }
        assert_eq!(core.retired.len(), 10);
        core.release_retired();
        assert!(core.retired.is_empty());
        // A user of the core that never releases them holds a bounded few.
        for _ in 0..3 * RETIRED_MAX {
            insert(&mut core);
        }
        assert!(core.retired.len() <= RETIRED_MAX, "{}", core.retired.len());
        assert_eq!(core.dbs[0].history.len(), HISTORY);
    }
}
