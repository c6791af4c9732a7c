//! The tokio shell around [`Core`]: listeners, outbound (active) remotes
//! that connect and reconnect with backoff, connections, inactivity probes,
//! the control socket, and the task that owns the core.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::Framer;
use ovsdb::uuid::FastMap;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, Interest};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::batch_send::{BatchSend, Outcome};
use crate::busy_poll::BusyPoll;
use crate::core::{Action, Core, Peer, SessionId};
use crate::dbconfig::{self, DbRef, RemoteStatus};
use crate::outbox::{direct_outbox, outbox, Outbox, Refused, MAX_BACKLOG};
pub use crate::remote::{Backoff, Remote, Setting, Spec, SslOptions, TCP_PROBE_INTERVAL};
use crate::unixctl::{self, Commands, Handler, Reply};

/// Largest JSON-RPC message accepted from a client.
pub const MAX_MESSAGE: usize = 64 << 20;
/// Messages queued to one client before it counts as stuck and is dropped
/// (bytes are bounded too: [`MAX_BACKLOG`]). A last resort: monitor updates
/// are held back, and requests no longer read, far earlier (see
/// [`crate::outbox`]).
const OUT_QUEUE: usize = 8192;
/// Requests handed to the core before the reader lets it run (and checks
/// whether the client has fallen behind on the replies).
const DISPATCH_BATCH: usize = 8;
/// Most read from a connection at once: at first, and at most once reads
/// fill what is asked (into a buffer on the stack, see [`read_into`]).
const READ_BUF_MIN: usize = 512;
const READ_BUF_MAX: usize = 64 << 10;
/// Most connection events handled before their answers are sent.
const EVENT_BATCH: usize = 64;
/// The probe the server sends, as upstream words it.
const ECHO_PROBE: &[u8] = br#"{"id":"echo","method":"echo","params":[]}"#;
/// How often the status of `db:` remotes is written back (as upstream).
const STATUS_INTERVAL: Duration = Duration::from_millis(2500);
/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// An outbound connection attempt must succeed within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

enum Event {
    Connected {
        id: SessionId,
        writer: Outbox,
        kill: oneshot::Sender<()>,
        remote: Arc<str>,
        /// The CN of the client's certificate (TLS remotes).
        peer_id: Option<String>,
    },
    /// The bytes of one JSON text a client sent (parsed by the core).
    Text(SessionId, Vec<u8>),
    Closed(SessionId, Option<String>),
}

/// A running server.
pub struct Server {
    core: Core,
    remotes: Vec<Remote>,
    db_remotes: Vec<DbRef>,
    ssl: SslOptions,
    unixctl: Option<PathBuf>,
    commands: Commands,
    probe: Option<Option<Duration>>,
    busy_poll: Duration,
}

/// The longest the server busy-polls for the next request by default (see
/// [`crate::busy_poll`]).
pub const DEFAULT_BUSY_POLL: Duration = Duration::from_micros(100);

impl Server {
    /// A server for `core` listening on `remotes`.
    pub fn new(core: Core, remotes: Vec<Remote>) -> Server {
        let mut commands = Commands::default();
        for (name, usage, min, max) in [
            ("exit", "", 0, 0),
            ("list-commands", "", 0, 0),
            ("version", "", 0, 0),
            ("memory/show", "", 0, 0),
            ("ovsdb-server/compact", "", 0, 1),
            ("ovsdb-server/add-remote", "REMOTE", 1, 1),
            ("ovsdb-server/remove-remote", "REMOTE", 1, 1),
            ("ovsdb-server/list-remotes", "", 0, 0),
            ("ovsdb-server/list-dbs", "", 0, 0),
            ("ovsdb-server/reconnect", "", 0, 0),
        ] {
            commands.add(name, usage, min, max, None);
        }
        Server {
            core,
            remotes,
            db_remotes: Vec::new(),
            ssl: SslOptions::default(),
            unixctl: None,
            commands,
            probe: None,
            busy_poll: DEFAULT_BUSY_POLL,
        }
    }

    /// Busy-polls for at most `max` after answering requests, adaptively
    /// (zero: never).
    pub fn busy_poll(mut self, max: Duration) -> Server {
        self.busy_poll = max;
        self
    }

    /// Also listens where `db:DB,TABLE,COLUMN` says, following its changes.
    pub fn db_remote(mut self, r: DbRef) -> Server {
        self.db_remotes.push(r);
        self
    }

    /// The private key, certificate and CA certificate for `pssl:` remotes.
    pub fn ssl(mut self, ssl: SslOptions) -> Server {
        self.ssl = ssl;
        self
    }

    /// Also listens for `ovs-appctl` commands on the unix socket `path`.
    pub fn unixctl(mut self, path: PathBuf) -> Server {
        self.unixctl = Some(path);
        self
    }

    /// Adds a control command of the program's own (e.g. `vlog/set`).
    pub fn command(mut self, name: &str, usage: &str, min: usize, max: usize, handler: Handler) -> Server {
        self.commands.add(name, usage, min, max, Some(handler));
        self
    }

    /// Probes idle clients of every remote after `interval` (`None`: never),
    /// instead of each remote's default.
    pub fn inactivity_probe(mut self, interval: Option<Duration>) -> Server {
        self.probe = Some(interval);
        self
    }

    /// Binds the remotes and serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        self.run_with(shutdown, || {}).await
    }

    /// Like [`Server::run`], calling `ready` once every remote is listening.
    /// Also returns when a control client asks the server to `exit`.
    pub async fn run_with(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        ready: impl FnOnce(),
    ) -> std::io::Result<()> {
        let (tx, mut rx) = mpsc::channel::<Event>(4096);
        // Unbounded, but each session has at most one catch-up in flight.
        let (drained_tx, mut drained_rx) = mpsc::unbounded_channel::<SessionId>();
        let (ctl_tx, mut ctl_rx) = mpsc::channel::<unixctl::Event>(64);
        let mut shell = Shell {
            core: self.core,
            conns: FastMap::default(),
            sends: Vec::new(),
            answered: Vec::new(),
            group: Vec::new(),
            runs: Vec::new(),
            batch: BatchSend::new(),
            outcomes: Vec::new(),
            specs: BTreeMap::new(),
            listeners: BTreeMap::new(),
            events: tx,
            drained: drained_tx,
            next_id: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            probe: self.probe,
            commands: self.commands,
            ssl: self.ssl,
            tls: Arc::new(Mutex::new(None)),
            tls_loaded: None,
            seen_commits: u64::MAX,
            complaints: HashMap::new(),
            compactions: Vec::new(),
        };
        let mut result = Ok(());
        // The PKI first: command-line pssl: remotes need it.
        shell.reload_tls();
        for r in &self.remotes {
            shell.specs.insert(r.to_string(), Spec::Listen(r.clone()));
            // Remotes named on the command line must work from the start.
            if let Err(e) = shell.open(r.clone(), shell.default_options(r), Vec::new()).await {
                result = Err(e);
                break;
            }
        }
        for r in self.db_remotes {
            shell.specs.insert(r.to_string(), Spec::Db(r));
        }
        if result.is_ok() {
            shell.reconfigure().await;
        }
        let ctl_task = match (&result, &self.unixctl) {
            (Ok(()), Some(path)) => match unixctl::bind(path) {
                Ok(l) => Some(tokio::spawn(unixctl::serve(l, ctl_tx))),
                Err(e) => {
                    result = Err(e);
                    None
                }
            },
            _ => None,
        };
        if result.is_ok() {
            ready();
            shell.serve(shutdown, &mut rx, &mut drained_rx, &mut ctl_rx, BusyPoll::new(self.busy_poll)).await;
        }
        if let Some(t) = ctl_task {
            t.abort();
        }
        if let Some(p) = &self.unixctl {
            let _ = std::fs::remove_file(p);
        }
        for (_, l) in std::mem::take(&mut shell.listeners) {
            l.close();
        }
        result
    }
}

/// What a remote lets its clients do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RemoteOptions {
    role: Option<String>,
    read_only: bool,
    probe: Option<Duration>,
    /// Longest wait between connection attempts (active remotes).
    max_backoff: Option<Duration>,
}

/// Where an active remote's connection stands (what its status reports).
#[derive(Debug, Clone)]
struct ActiveState {
    /// `CONNECTING`, `ACTIVE` or `BACKOFF` (`ACTIVE` reads `IDLE` while
    /// `idle` is set).
    state: &'static str,
    /// The session of the current connection.
    session: Option<SessionId>,
    connected_at: Option<Instant>,
    disconnected_at: Option<Instant>,
    /// Set while an inactivity probe waits for its answer: `IDLE`.
    idle: Arc<std::sync::atomic::AtomicBool>,
}

/// One remote: listening, or connecting out (`active`).
struct Listener {
    remote: Remote,
    task: JoinHandle<()>,
    /// For an active remote: its connection's state, kept by its task.
    active: Option<Arc<Mutex<ActiveState>>>,
    /// Shared with the accept loop, which reads the probe interval.
    options: Arc<Mutex<RemoteOptions>>,
    /// The TCP port actually bound.
    bound_port: Option<u16>,
    /// The database rows that configured it, whose status the server keeps
    /// up to date.
    rows: Vec<StatusRow>,
}

/// A Connection row: (database, table, row).
type StatusRow = (String, String, ovsdb::Uuid);

impl Listener {
    fn close(self) {
        self.task.abort();
        if let Remote::Unix(p) = &self.remote {
            let _ = std::fs::remove_file(p);
        }
    }

    fn options(&self) -> RemoteOptions {
        self.options.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

/// One client connection, as the main task sees it. Dropping it closes the
/// connection: the reader stops, the writer flushes and shuts down.
struct Conn {
    writer: Outbox,
    _kill: oneshot::Sender<()>,
    /// The name of its remote (shared by the remote's connections).
    remote: Arc<str>,
}

/// What `pssl:` and `ssl:` remotes use for new connections (None until
/// the PKI is configured).
type SharedTls = Arc<Mutex<Option<Tls>>>;

/// The PKI settings: private key, certificate, CA certificate (file
/// names) and protocols.
type PkiNames = [Option<String>; 4];

/// What tells that a file changed: (device, inode, size, mtime in ns).
type FileStamp = (u64, u64, u64, i64);

fn file_stamp(path: &Option<String>) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path.as_ref()?).ok()?;
    Some((m.dev(), m.ino(), m.size(), m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec())))
}

/// How often the PKI files are checked for changes (certificates renewed
/// in place take effect for new connections).
const PKI_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The PKI, loaded: for accepting and for making TLS connections.
#[derive(Clone)]
struct Tls {
    acceptor: rovn_tls::TlsAcceptor,
    connector: rovn_tls::TlsConnector,
}

/// The main task's state.
/// Sends to at least this many clients in one turn go out as one batch
/// (see [`BatchSend`]); fewer, one by one.
const BATCH_MIN: usize = 8;

struct Shell {
    core: Core,
    conns: FastMap<SessionId, Conn>,
    /// `flush`'s buffers, kept between turns: the messages to send, by
    /// recipient, and one recipient's.
    sends: Vec<(SessionId, Arc<Vec<u8>>)>,
    /// Sessions that get a reply, an error or a notification of their own
    /// in the current flush.
    answered: Vec<SessionId>,
    group: Vec<Arc<Vec<u8>>>,
    /// Each recipient's range of `sends`.
    runs: Vec<(SessionId, Range<usize>)>,
    /// Sends to many clients at once, and how each went.
    batch: BatchSend,
    outcomes: Vec<Outcome>,
    /// The remotes configured by name (what `list-remotes` shows):
    /// command line and `add-remote`.
    specs: BTreeMap<String, Spec>,
    /// Listening remotes by name, whether configured directly or found
    /// through a `db:` remote.
    listeners: BTreeMap<String, Listener>,
    events: mpsc::Sender<Event>,
    /// Sessions that were behind and have caught up.
    drained: mpsc::UnboundedSender<SessionId>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    probe: Option<Option<Duration>>,
    commands: Commands,
    ssl: SslOptions,
    tls: SharedTls,
    /// The PKI settings last loaded (or tried): key, certificate, CA,
    /// protocols; and the state of the three files then.
    tls_loaded: Option<(PkiNames, [Option<FileStamp>; 3])>,
    /// The core's commit count when the configuration was last read.
    seen_commits: u64,
    /// Configuration problems already logged, so that each is logged once
    /// (until it goes away).
    complaints: HashMap<String, String>,
    /// `ovsdb-server/compact` calls waiting for their background
    /// compactions.
    compactions: Vec<ManualCompaction>,
}

/// An `ovsdb-server/compact` call: answered once every database it named
/// is compacted.
struct ManualCompaction {
    /// Databases still being compacted.
    waiting: Vec<String>,
    /// Failures so far.
    errors: Vec<String>,
    reply: oneshot::Sender<Reply>,
}

impl Shell {
    async fn serve(
        &mut self,
        shutdown: impl std::future::Future<Output = ()>,
        rx: &mut mpsc::Receiver<Event>,
        drained: &mut mpsc::UnboundedReceiver<SessionId>,
        ctl: &mut mpsc::Receiver<unixctl::Event>,
        mut poll: BusyPoll,
    ) {
        tokio::pin!(shutdown);
        let mut status = tokio::time::interval(STATUS_INTERVAL);
        status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pki_check = tokio::time::interval(PKI_CHECK_INTERVAL);
        pki_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.core.poll_timeout();
            let spinning = poll.spin(Instant::now());
            let mut requests = false;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = status.tick() => self.write_status(),
                _ = pki_check.tick() => {
                    if self.pki_files_changed() {
                        self.reconfigure().await;
                    }
                }
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    requests = true;
                    poll.request(Instant::now());
                    self.handle_event(ev);
                    // What else has arrived is handled before the answers go
                    // out, so that they go out together: one write per
                    // client for a burst of pipelined requests.
                    for _ in 1..EVENT_BATCH {
                        let Ok(ev) = rx.try_recv() else { break };
                        self.handle_event(ev);
                    }
                }
                Some(s) = drained.recv() => {
                    if self.conns.contains_key(&s) {
                        tracing::debug!(session = s, "client caught up: sending its held-back updates");
                        self.core.handle_caught_up(s);
                    }
                }
                ev = ctl.recv() => match ev {
                    None | Some(unixctl::Event::Exit) => break,
                    Some(unixctl::Event::Call(call)) => {
                        let reply = match self.commands.check(&call.method, &call.params) {
                            Ok(args) if call.method == "ovsdb-server/compact" => {
                                self.compact(args.first().map(String::as_str), call.reply);
                                continue;
                            }
                            Ok(args) => self.control(&call.method, &args).await,
                            Err(e) => Reply::new(Err(e)),
                        };
                        let _ = call.reply.send(reply);
                    }
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.core.handle_timeout(Instant::now()),
                // Busy polling: this turn of the loop lets the runtime look
                // for ready sockets without sleeping.
                _ = tokio::task::yield_now(), if spinning => std::thread::yield_now(),
            }
            self.flush();
            self.answer_compactions();
            if self.core.commits() != self.seen_commits {
                if self.config_changed() {
                    self.reconfigure().await;
                } else {
                    self.seen_commits = self.core.commits();
                }
            }
            if requests {
                poll.idle(Instant::now());
            }
        }
    }

    fn handle_event(&mut self, ev: Event) {
        match ev {
            Event::Connected { id, writer, kill, remote, peer_id } => {
                // A remote removed meanwhile: drop the connection.
                if let Some(l) = self.listeners.get(&*remote) {
                    let o = l.options();
                    let peer = Peer { id: peer_id, role: o.role, read_only: o.read_only };
                    self.conns.insert(id, Conn { writer, _kill: kill, remote });
                    self.core.handle_connect_as(id, peer);
                }
            }
            Event::Text(s, text) => {
                if self.conns.contains_key(&s) {
                    if let Err(e) = self.core.handle_text(s, &text, Instant::now()) {
                        tracing::info!(session = s, "closing connection: {e}");
                        self.disconnect(s);
                    }
                }
            }
            Event::Closed(s, why) => {
                if let Some(why) = why {
                    tracing::info!(session = s, "closing connection: {why}");
                }
                self.disconnect(s);
            }
        }
    }

    /// Carries out what the core asked for: each client's messages go out
    /// together, in order (one write per client for a burst of requests,
    /// or for an update that reaches many), those of clients that get an
    /// answer first.
    fn flush(&mut self) {
        let mut sends = std::mem::take(&mut self.sends);
        let mut answered = std::mem::take(&mut self.answered);
        while let Some((a, update)) = self.core.poll_action_update() {
            match a {
                Action::Send(s, bytes) => {
                    if !update {
                        answered.push(s);
                    }
                    sends.push((s, bytes));
                }
                Action::Close(s) => {
                    // What it was sent before goes out first; whatever
                    // follows finds the session gone.
                    let mut msgs = Vec::new();
                    sends.retain(|(t, b)| {
                        let mine = *t == s;
                        if mine {
                            msgs.push(b.clone());
                        }
                        !mine
                    });
                    if !msgs.is_empty() {
                        self.send(s, &msgs);
                    }
                    self.disconnect(s);
                }
            }
        }
        // Stable: each client's messages keep their order. The core lists
        // an update's recipients by session already, so this is one pass.
        sends.sort_by_key(|(s, _)| *s);
        let mut runs = std::mem::take(&mut self.runs);
        let mut i = 0;
        while i < sends.len() {
            let s = sends[i].0;
            let j = i + sends[i..].iter().take_while(|(t, _)| *t == s).count();
            runs.push((s, i..j));
            i = j;
        }
        let mut group = std::mem::take(&mut self.group);
        if !answered.is_empty() {
            // Clients waiting for a reply get it before an update goes out
            // to the others (as from upstream, which answers a transaction
            // before it flushes other clients' monitors): the requester of
            // a transaction is not kept waiting while its changes reach a
            // thousand monitors. Each client's own messages keep their
            // order (its update of its own transaction comes before the
            // reply). Their runs go first (stable), and those of more than
            // one message, which the batch does not take, now.
            answered.sort_unstable();
            answered.dedup();
            let waits = |s: &SessionId| answered.binary_search(s).is_ok();
            runs.sort_by_key(|(s, _)| !waits(s));
            runs.retain(|(s, r)| {
                if r.len() == 1 || !waits(s) {
                    return true;
                }
                group.extend(sends[r.clone()].iter().map(|(_, b)| b.clone()));
                self.send(*s, &group);
                group.clear();
                false
            });
            answered.clear();
        }
        if runs.len() >= BATCH_MIN {
            self.send_batched(&sends, &mut runs);
        }
        for (s, r) in runs.drain(..) {
            group.extend(sends[r].iter().map(|(_, b)| b.clone()));
            self.send(s, &group);
            group.clear();
        }
        sends.clear();
        self.sends = sends;
        self.answered = answered;
        self.group = group;
        self.runs = runs;
        // Now that the updates are out.
        self.core.release_retired();
    }

    /// Sends in one batch (see [`BatchSend`]) the message of each run of
    /// one message to a client whose socket takes it directly, and takes
    /// those runs out of `runs`; the others are left to be sent one by one.
    fn send_batched(&mut self, sends: &[(SessionId, Arc<Vec<u8>>)], runs: &mut Vec<(SessionId, Range<usize>)>) {
        let mut jobs = Vec::with_capacity(runs.len());
        let mut whose = Vec::with_capacity(runs.len());
        let conns = &self.conns;
        runs.retain(|(s, r)| {
            let direct = if r.len() == 1 { conns.get(s).and_then(|c| Some((c, c.writer.direct_fd()?))) } else { None };
            match direct {
                Some((c, fd)) => {
                    jobs.push((fd, &sends[r.start].1));
                    whose.push((*s, c));
                    false
                }
                None => true,
            }
        });
        let mut outcomes = std::mem::take(&mut self.outcomes);
        self.batch.send(&jobs, &mut outcomes);
        // What needs more than the outbox (rare): done once the borrows
        // of the connections end.
        enum Later {
            /// What [`Shell::pushed`] must see: an error, or a client behind.
            Pushed(Result<(), Refused>),
            /// Not run in the batch: sent the plain way.
            Send(Arc<Vec<u8>>),
        }
        let mut later = Vec::new();
        for (((s, c), (_, msg)), outcome) in whose.into_iter().zip(jobs).zip(outcomes.drain(..)) {
            let msg = std::slice::from_ref(msg);
            let written = match outcome {
                Outcome::Sent(n) if n == msg[0].len() => Ok((1, 0)),
                Outcome::Sent(n) => Ok((0, n)),
                Outcome::Failed(e) => Err(e),
                Outcome::NotRun => {
                    later.push((s, Later::Send(msg[0].clone())));
                    continue;
                }
            };
            let r = c.writer.wrote(msg, written);
            if r.is_err() || c.writer.behind() {
                later.push((s, Later::Pushed(r)));
            }
        }
        self.outcomes = outcomes;
        for (s, what) in later {
            match what {
                Later::Pushed(r) => self.pushed(s, r),
                Later::Send(msg) => self.send(s, &[msg]),
            }
        }
    }

    fn send(&mut self, s: SessionId, msgs: &[Arc<Vec<u8>>]) {
        let Some(c) = self.conns.get(&s) else { return };
        let r = c.writer.push_all(msgs);
        self.pushed(s, r);
    }

    /// After messages were handed to session `s`'s outbox.
    fn pushed(&mut self, s: SessionId, r: Result<(), Refused>) {
        let Some(c) = self.conns.get(&s) else { return };
        match r {
            // From now on its monitor updates wait, merged, until the
            // writer reports the catch-up.
            Ok(()) if c.writer.behind() => self.core.handle_behind(s),
            Ok(()) => {}
            Err(why) => {
                if why == Refused::Stuck {
                    let backlog = c.writer.backlog();
                    let why = "client is not reading the replies to its requests; disconnecting it";
                    tracing::warn!(session = s, backlog, "{why}");
                }
                self.disconnect(s);
            }
        }
    }

    /// `ovsdb-server/compact [DB]`: starts compacting in the background
    /// (clients are served meanwhile) and answers once it is done.
    fn compact(&mut self, db: Option<&str>, reply: oneshot::Sender<Reply>) {
        match self.core.start_compact_named(db) {
            Err(e) => {
                let _ = reply.send(Reply::new(Err(e)));
            }
            Ok(waiting) => {
                self.compactions.push(ManualCompaction { waiting, errors: Vec::new(), reply });
                self.answer_compactions();
            }
        }
    }

    /// Answers the `ovsdb-server/compact` calls whose compactions are done.
    fn answer_compactions(&mut self) {
        while let Some((db, outcome)) = self.core.poll_compacted() {
            for c in &mut self.compactions {
                if let Some(i) = c.waiting.iter().position(|w| *w == db) {
                    c.waiting.remove(i);
                    if let Err(e) = &outcome {
                        c.errors.push(e.clone());
                    }
                }
            }
        }
        let (done, waiting) = std::mem::take(&mut self.compactions).into_iter().partition(|c| c.waiting.is_empty());
        self.compactions = waiting;
        for c in done {
            let ManualCompaction { errors, reply, .. } = c;
            let result = if errors.is_empty() { Ok(String::new()) } else { Err(errors.join("\n")) };
            let _ = reply.send(Reply::new(result));
        }
    }

    fn disconnect(&mut self, s: SessionId) {
        if self.conns.remove(&s).is_some() {
            self.core.handle_disconnect(s);
        }
    }

    /// The options of a remote named directly (not through the database).
    fn default_options(&self, r: &Remote) -> RemoteOptions {
        RemoteOptions { probe: self.probe.unwrap_or_else(|| r.default_probe_interval()), ..Default::default() }
    }

    /// Logs a configuration problem once per distinct message for `key`;
    /// `None` clears it (so that it is logged again if it comes back).
    fn complain(&mut self, key: &str, problem: Option<String>) {
        match problem {
            Some(p) => {
                if self.complaints.get(key) != Some(&p) {
                    tracing::warn!("{p}");
                    self.complaints.insert(key.to_string(), p);
                }
            }
            None => {
                self.complaints.remove(key);
            }
        }
    }

    /// The current value of a PKI setting.
    fn resolve(&mut self, what: &str, s: &Option<Setting>) -> Option<String> {
        match s.as_ref()? {
            Setting::Value(v) => Some(v.clone()),
            Setting::Db(r) => {
                let got = match self.core.database(&r.db) {
                    None => Err(format!("{what}: {r}: no database {}", r.db)),
                    Some(db) => dbconfig::setting(db, r),
                };
                match got {
                    Ok(v) => {
                        self.complain(what, None);
                        v
                    }
                    Err(e) => {
                        self.complain(what, Some(format!("{what}: {e}")));
                        None
                    }
                }
            }
        }
    }

    /// Whether a PKI file loaded (or tried) has changed on disk since.
    fn pki_files_changed(&self) -> bool {
        let Some((names, stamps)) = &self.tls_loaded else { return false };
        (0..3).any(|i| file_stamp(&names[i]) != stamps[i])
    }

    /// Loads the PKI files if their names or contents changed. New
    /// contents that do not load (a renewal half done, say) leave the
    /// previous credentials in use; new names that do not load leave none.
    fn reload_tls(&mut self) {
        let ssl = self.ssl.clone();
        let now = [
            self.resolve("--private-key", &ssl.private_key),
            self.resolve("--certificate", &ssl.certificate),
            self.resolve("--ca-cert", &ssl.ca_cert),
            self.resolve("--ssl-protocols", &ssl.protocols),
        ];
        let stamps = [file_stamp(&now[0]), file_stamp(&now[1]), file_stamp(&now[2])];
        let same_names = self.tls_loaded.as_ref().is_some_and(|(names, _)| *names == now);
        if same_names && self.tls_loaded.as_ref().is_some_and(|(_, st)| *st == stamps) {
            return;
        }
        if same_names {
            tracing::info!("SSL: the private key, certificate or CA certificate file changed; reloading");
        }
        if let Some(c) = self.resolve("--ssl-ciphers", &ssl.ciphers) {
            tracing::info!("SSL ciphers \"{c}\" not applied: rovn uses rustls' own (strong) cipher suites");
        }
        let acceptor = match &now {
            [Some(key), Some(cert), Some(ca), protocols] => {
                let protocols = match protocols.as_deref().map(rovn_tls::parse_protocols) {
                    None => Ok(Vec::new()),
                    Some(Ok((p, skipped))) => {
                        if !skipped.is_empty() {
                            tracing::info!(
                                "SSL protocols {} are not supported (too old); using the others",
                                skipped.join(",")
                            );
                        }
                        Ok(p)
                    }
                    Some(Err(e)) => Err(e),
                };
                let loaded = protocols.and_then(|p| {
                    rovn_tls::Pki::load(key.as_ref(), cert.as_ref(), ca.as_ref())
                        .and_then(|pki| {
                            let pki = pki.with_protocols(p);
                            Ok(Tls { acceptor: pki.acceptor()?, connector: pki.connector()? })
                        })
                        .map_err(|e| e.to_string())
                });
                match loaded {
                    Ok(a) => {
                        tracing::info!("SSL: loaded private key {key}, certificate {cert}, CA certificate {ca}");
                        Some(a)
                    }
                    Err(e) if same_names && self.tls_ready() => {
                        tracing::error!("SSL configuration unusable: {e}; still using the previous one");
                        self.tls_loaded = Some((now, stamps));
                        return;
                    }
                    Err(e) => {
                        tracing::error!("SSL configuration unusable: {e}");
                        None
                    }
                }
            }
            _ => None,
        };
        if let Ok(mut t) = self.tls.lock() {
            *t = acceptor;
        }
        self.tls_loaded = Some((now, stamps));
    }

    /// Whether `pssl:` remotes can serve clients.
    fn tls_ready(&self) -> bool {
        self.tls.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Whether a commit since the configuration was last read changed a
    /// table it is read from (`db:` remotes and PKI settings): most commits
    /// touch none, and re-reading costs more than a small transaction.
    fn config_changed(&self) -> bool {
        let ssl = &self.ssl;
        let settings = [&ssl.private_key, &ssl.certificate, &ssl.ca_cert, &ssl.protocols, &ssl.ciphers];
        let refs = self
            .specs
            .values()
            .filter_map(|s| match s {
                Spec::Db(r) => Some(r),
                Spec::Listen(_) => None,
            })
            .chain(settings.into_iter().filter_map(|s| match s {
                Some(Setting::Db(r)) => Some(r),
                _ => None,
            }));
        for r in refs {
            let Some(db) = self.core.database(&r.db) else { continue };
            if dbconfig::tables_read(db, r)
                .into_iter()
                .any(|t| self.core.table_changed_since(&r.db, t, self.seen_commits))
            {
                return true;
            }
        }
        false
    }

    /// Re-reads what the databases configure (PKI files, `db:` remotes) and
    /// opens and closes listeners to match.
    async fn reconfigure(&mut self) {
        self.seen_commits = self.core.commits();
        self.reload_tls();
        let mut want: BTreeMap<String, (Remote, RemoteOptions, Vec<StatusRow>)> = BTreeMap::new();
        let specs: Vec<(String, Spec)> = self.specs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (name, spec) in specs {
            match spec {
                Spec::Listen(r) => {
                    let o = self.default_options(&r);
                    want.entry(name).or_insert((r, o, Vec::new()));
                }
                Spec::Db(dr) => {
                    let found = match self.core.database(&dr.db) {
                        None => Err(format!("{dr}: no database {}", dr.db)),
                        Some(db) => dbconfig::remotes(db, &dr),
                    };
                    let found = match found {
                        Ok(f) => {
                            self.complain(&name, None);
                            f
                        }
                        Err(e) => {
                            self.complain(&name, Some(e));
                            continue;
                        }
                    };
                    for f in found {
                        let key = format!("{name} {}", f.target);
                        let r = match Remote::parse(&f.target) {
                            Ok(r) => {
                                self.complain(&key, None);
                                r
                            }
                            Err(e) => {
                                self.complain(&key, Some(format!("{dr}: {e}")));
                                continue;
                            }
                        };
                        let probe = f.probe.unwrap_or_else(|| self.default_options(&r).probe);
                        let o =
                            RemoteOptions { role: f.role, read_only: f.read_only, probe, max_backoff: f.max_backoff };
                        let e = want.entry(r.to_string()).or_insert((r, o, Vec::new()));
                        if let Some((table, u)) = f.row {
                            e.2.push((dr.db.clone(), table, u));
                        }
                    }
                }
            }
        }
        let gone: Vec<String> = self.listeners.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
        for name in gone {
            self.close(&name);
        }
        for (name, (r, o, rows)) in want {
            if let Some(l) = self.listeners.get_mut(&name) {
                if let Ok(mut cur) = l.options.lock() {
                    *cur = o;
                }
                l.rows = rows;
                continue;
            }
            if r.is_ssl() && !self.tls_ready() {
                let why = format!("{name}: not listening: SSL needs --private-key, --certificate and --ca-cert (configured and loadable)");
                self.complain(&name, Some(why));
                continue;
            }
            match self.open(r, o, rows).await {
                Ok(()) => self.complain(&name, None),
                Err(e) => self.complain(&name, Some(format!("{name}: {e}"))),
            }
        }
    }

    /// Stops listening on `name` and drops its clients.
    fn close(&mut self, name: &str) {
        if let Some(l) = self.listeners.remove(name) {
            tracing::info!(remote = name, "remote removed");
            l.close();
            let gone: Vec<SessionId> = self.conns.iter().filter(|(_, c)| *c.remote == *name).map(|(s, _)| *s).collect();
            for s in gone {
                self.disconnect(s);
            }
        }
    }

    /// Writes the status of remotes configured by database rows into them.
    fn write_status(&mut self) {
        let mut by_db: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
        for (name, l) in &self.listeners {
            if l.rows.is_empty() {
                continue;
            }
            let st = match &l.active {
                None => {
                    let sessions = self.conns.values().filter(|c| *c.remote == **name).count();
                    RemoteStatus::Listening(dbconfig::ListenerStatus { bound_port: l.bound_port, sessions })
                }
                Some(a) => {
                    let Ok(a) = a.lock().map(|a| a.clone()) else { continue };
                    let now = Instant::now();
                    let session = a.session.filter(|s| self.conns.contains_key(s));
                    let since = |t: Option<Instant>| t.map(|t| now.saturating_duration_since(t).as_secs());
                    RemoteStatus::Active(dbconfig::ActiveStatus {
                        connected: session.is_some(),
                        state: if a.state == "ACTIVE" && a.idle.load(std::sync::atomic::Ordering::Relaxed) {
                            "IDLE"
                        } else {
                            a.state
                        },
                        sec_since_connect: since(a.connected_at),
                        sec_since_disconnect: since(a.disconnected_at),
                        locks: session.map(|s| self.core.session_locks(s)).unwrap_or_default(),
                    })
                }
            };
            for (db, table, row) in &l.rows {
                let Some(d) = self.core.database(db) else { continue };
                if let Some(op) = dbconfig::status_op(d, table, *row, &st) {
                    by_db.entry(db.clone()).or_default().push(op);
                }
            }
        }
        for (db, ops) in by_db {
            let results = self.core.transact_internal(&db, &ops);
            if let Some(e) = results.iter().find(|r| r.get("error").is_some()) {
                tracing::warn!("{db}: could not write remote status: {e}");
            }
        }
        self.flush();
    }

    /// Starts listening on `r` (nothing if it already is).
    async fn open(&mut self, r: Remote, options: RemoteOptions, rows: Vec<StatusRow>) -> std::io::Result<()> {
        let name = r.to_string();
        if self.listeners.contains_key(&name) {
            return Ok(());
        }
        let options = Arc::new(Mutex::new(options));
        let (events, ids, opts) = (self.events.clone(), self.next_id.clone(), options.clone());
        let drained = self.drained.clone();
        let remote: Arc<str> = name.as_str().into();
        let probe = move || opts.lock().map(|o| o.probe).unwrap_or(Some(TCP_PROBE_INTERVAL));
        let mut bound_port = None;
        let mut active = None;
        let task = match &r {
            Remote::ConnectUnix(_) | Remote::ConnectTcp(_) | Remote::ConnectSsl(_) => {
                let state = Arc::new(Mutex::new(ActiveState {
                    state: "CONNECTING",
                    session: None,
                    connected_at: None,
                    disconnected_at: None,
                    idle: Arc::default(),
                }));
                active = Some(state.clone());
                let idle = state.lock().map(|st| st.idle.clone()).unwrap_or_default();
                let events = (events, drained);
                let peer =
                    Outbound { remote: r.clone(), name: name.clone(), tls: self.tls.clone(), events, ids, state, idle };
                tokio::spawn(connect_loop(peer, options.clone()))
            }
            Remote::Unix(p) => {
                let _ = std::fs::remove_file(p);
                let l = UnixListener::bind(p)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                tracing::info!(remote = %p.display(), "listening");
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok((s, _)) => {
                                let id = ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                spawn_session(
                                    SessionIo::unix(s),
                                    id,
                                    (events.clone(), drained.clone()),
                                    probe(),
                                    remote.clone(),
                                    None,
                                    None,
                                );
                            }
                            Err(e) => accept_failed(e).await,
                        }
                    }
                })
            }
            Remote::Tcp(addr) | Remote::Ssl(addr) => {
                let l =
                    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
                let local = l.local_addr().ok();
                bound_port = local.map(|a| a.port());
                let bound = local.map(|a| a.to_string()).unwrap_or_else(|| addr.clone());
                tracing::info!(remote = %name, %bound, "listening");
                let tls = matches!(r, Remote::Ssl(_)).then(|| self.tls.clone());
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok((s, peer)) => {
                                let _ = s.set_nodelay(true);
                                let id = ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                tracing::debug!(session = id, %peer, "connection");
                                match &tls {
                                    None => {
                                        let channels = (events.clone(), drained.clone());
                                        spawn_session(SessionIo::tcp(s), id, channels, probe(), remote.clone(), None, None)
                                    }
                                    Some(tls) => {
                                        let acceptor =
                                            tls.lock().ok().and_then(|t| t.as_ref().map(|t| t.acceptor.clone()));
                                        let Some(acceptor) = acceptor else {
                                            tracing::warn!(%peer, "{remote}: SSL is not configured; dropping the connection");
                                            continue;
                                        };
                                        let channels = (events.clone(), drained.clone());
                                        tokio::spawn(handshake(
                                            acceptor,
                                            s,
                                            peer,
                                            id,
                                            channels,
                                            probe(),
                                            remote.clone(),
                                        ));
                                    }
                                }
                            }
                            Err(e) => accept_failed(e).await,
                        }
                    }
                })
            }
        };
        self.listeners.insert(name, Listener { remote: r, task, active, options, bound_port, rows });
        Ok(())
    }

    /// Runs a built-in control command, or the program's handler for it.
    async fn control(&mut self, method: &str, args: &[String]) -> Reply {
        let result = match method {
            "exit" => return Reply { result: Ok(String::new()), exit: true },
            "list-commands" => Ok(self.commands.list()),
            "version" => Ok(format!("ovsdb-server (rovn) {}\n", env!("CARGO_PKG_VERSION"))),
            "memory/show" => {
                let mut usage = self.core.memory_usage();
                // Bytes waiting to be sent to clients, as upstream reports
                // it: only when there are some.
                let backlog: u64 = self.conns.values().map(|c| c.writer.backlog() as u64).sum();
                if backlog > 0 {
                    usage.push(("backlog", backlog));
                    usage.sort_by_key(|(k, _)| *k);
                }
                let items: Vec<String> = usage.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                Ok(items.join(" "))
            }
            "ovsdb-server/add-remote" => match Spec::parse(&args[0]) {
                Ok(spec) => {
                    // Listed as given (as upstream), e.g. `tcp:IP` without
                    // its default port.
                    let name = args[0].clone();
                    let opened = match &spec {
                        Spec::Listen(r) => self.open(r.clone(), self.default_options(r), Vec::new()).await,
                        Spec::Db(_) => Ok(()),
                    };
                    match opened {
                        Ok(()) => {
                            self.specs.insert(name, spec);
                            self.reconfigure().await;
                            Ok(String::new())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e),
            },
            "ovsdb-server/remove-remote" => {
                // As given, or as rovn prints it.
                let normal = Spec::parse(&args[0]).map(|r| r.to_string()).unwrap_or_else(|_| args[0].clone());
                let name = if self.specs.contains_key(&args[0]) { args[0].clone() } else { normal };
                match self.specs.remove(&name) {
                    Some(_) => {
                        self.reconfigure().await;
                        Ok(String::new())
                    }
                    None => Err("no such remote".into()),
                }
            }
            "ovsdb-server/list-remotes" => Ok(self.specs.keys().map(|k| format!("{k}\n")).collect()),
            "ovsdb-server/list-dbs" => {
                let mut names = self.core.db_names();
                names.sort();
                Ok(names.iter().map(|n| format!("{n}\n")).collect())
            }
            "ovsdb-server/reconnect" => {
                let all: Vec<SessionId> = self.conns.keys().copied().collect();
                for s in all {
                    self.disconnect(s);
                }
                Ok(String::new())
            }
            _ => self
                .commands
                .run_handler(method, args)
                .unwrap_or_else(|| Err(format!("\"{method}\" is not implemented"))),
        };
        Reply::new(result)
    }
}

async fn accept_failed(e: std::io::Error) {
    tracing::warn!("accept failed: {e}");
    // Out of descriptors, typically: do not spin.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// A wait for room in the main task's queue: true once the event is in.
type EventWait<'a> = Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>>;

/// Hands `ev` to the main task at once if its queue has room; otherwise
/// returns the wait for room, boxed (it is rare, and inside the session's
/// future it would make every connection's task larger by its size).
fn send_event(events: &mpsc::Sender<Event>, ev: Event) -> Result<(), EventWait<'_>> {
    match events.try_send(ev) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(ev)) => Err(Box::pin(async move { events.send(ev).await.is_ok() })),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Box::pin(std::future::ready(false))),
    }
}

/// A connection's inactivity timer (None: no probes).
type Timer = Option<Pin<Box<tokio::time::Sleep>>>;

/// Starts `timer` over: it expires `probe` from now.
fn restart(timer: &mut Timer, probe: Option<Duration>) {
    if let (Some(t), Some(d)) = (timer, probe) {
        t.as_mut().reset(tokio::time::Instant::now() + d);
    }
}

/// Waits for `timer` to expire (forever without one).
async fn expiry(timer: &mut Timer) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Reads at most `max` bytes (up to [`READ_BUF_MAX`]) from `rd` and hands
/// them to `framer`, through a buffer on the stack of the poll that reads:
/// a connection waiting for input holds no read buffer of its own.
async fn read_into(rd: &mut Pin<Box<dyn AsyncRead + Send>>, framer: &mut Framer, max: usize) -> std::io::Result<usize> {
    std::future::poll_fn(|cx| {
        // SAFETY: an array of MaybeUninit needs no initialization.
        let mut stack: [std::mem::MaybeUninit<u8>; READ_BUF_MAX] =
            unsafe { std::mem::MaybeUninit::uninit().assume_init() };
        let mut rb = tokio::io::ReadBuf::uninit(&mut stack[..max.min(READ_BUF_MAX)]);
        std::task::ready!(rd.as_mut().poll_read(cx, &mut rb))?;
        framer.push(rb.filled());
        std::task::Poll::Ready(Ok(rb.filled().len()))
    })
    .await
}

/// Completes the TLS handshake of a `pssl:` client, then serves it.
async fn handshake(
    acceptor: rovn_tls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    id: SessionId,
    events: Channels,
    probe: Option<Duration>,
    remote: Arc<str>,
) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let peer_id = rovn_tls::peer_id(tls.get_ref().1);
            tracing::debug!(session = id, %peer, peer_id = peer_id.as_deref().unwrap_or(""), "SSL connection");
            spawn_session(SessionIo::stream(tls), id, events, probe, remote, peer_id, None);
        }
        Ok(Err(e)) => tracing::warn!(%peer, "{remote}: SSL handshake failed: {e}"),
        Err(_) => tracing::warn!(%peer, "{remote}: SSL handshake timed out"),
    }
}

/// Where a connection's tasks report: its events, and its catch-ups.
type Channels = (mpsc::Sender<Event>, mpsc::UnboundedSender<SessionId>);

/// A connection as a session uses it: where it reads, and how it writes.
struct SessionIo {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    writer: SessionWriter,
}

enum SessionWriter {
    /// A plain socket's own descriptor, written directly (`direct_outbox`).
    Direct(OwnedFd),
    /// A stream (TLS) written by the writer task alone.
    Stream(Pin<Box<dyn AsyncWrite + Send>>),
}

impl SessionIo {
    /// Any stream: read and written through tokio.
    fn stream<S: AsyncRead + AsyncWrite + Send + 'static>(s: S) -> SessionIo {
        let (rd, wr) = tokio::io::split(s);
        SessionIo { reader: Box::pin(rd), writer: SessionWriter::Stream(Box::pin(wr)) }
    }

    /// A plain socket: read through the poll loop, which wakes the session
    /// only for input, and written directly.
    fn plain<T>(sock: T) -> std::io::Result<SessionIo>
    where
        T: AsFd + AsRawFd + Send + Sync + Unpin + 'static,
    {
        let own = sock.as_fd().try_clone_to_owned()?;
        // SAFETY: `sock` owns its descriptor, open as long as the AsyncFd
        // holds it.
        let afd = unsafe { AsyncFd::register_with_interest(sock, Interest::READABLE) };
        let reader = FdReader(afd.map_err(|e| e.into_parts().1)?);
        Ok(SessionIo { reader: Box::pin(reader), writer: SessionWriter::Direct(own) })
    }

    fn unix(s: UnixStream) -> SessionIo {
        match s.into_std() {
            Ok(std) => SessionIo::plain(std).unwrap_or_else(broken),
            Err(e) => broken(e),
        }
    }

    fn tcp(s: TcpStream) -> SessionIo {
        match s.into_std() {
            Ok(std) => SessionIo::plain(std).unwrap_or_else(broken),
            Err(e) => broken(e),
        }
    }
}

/// A session on a socket that could not be set up (out of descriptors):
/// it reads the error and ends at once.
fn broken(e: std::io::Error) -> SessionIo {
    struct Failed(Option<std::io::Error>);
    impl AsyncRead for Failed {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let e = self.0.take().unwrap_or_else(|| std::io::Error::other("connection setup failed"));
            std::task::Poll::Ready(Err(e))
        }
    }
    SessionIo { reader: Box::pin(Failed(Some(e))), writer: SessionWriter::Stream(Box::pin(tokio::io::sink())) }
}

/// Reads a nonblocking socket registered for input only.
struct FdReader<T: AsRawFd>(AsyncFd<T>);

impl<T: AsRawFd + Unpin> AsyncRead for FdReader<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        loop {
            let mut guard = std::task::ready!(self.0.poll_read_ready(cx))?;
            // SAFETY: only read(2) writes into the unfilled part, and only
            // the bytes it reports are then marked as filled.
            let unfilled = unsafe { buf.unfilled_mut() };
            let room = unfilled.len();
            let read = |inner: &AsyncFd<T>| {
                // SAFETY: reads into `room` writable bytes of a live buffer.
                let n = unsafe { libc::read(inner.as_raw_fd(), unfilled.as_mut_ptr().cast(), room) };
                usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
            };
            match guard.try_io(read) {
                Ok(Ok(n)) => {
                    if n > 0 && n < room {
                        // A short read took all there was: wait for more
                        // rather than finding out with another read (input
                        // that arrived meanwhile keeps the socket ready).
                        guard.clear_ready();
                    }
                    // SAFETY: read(2) wrote these `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return std::task::Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return std::task::Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

fn spawn_session(
    io: SessionIo,
    id: SessionId,
    (events, drained): Channels,
    probe: Option<Duration>,
    remote: Arc<str>,
    peer_id: Option<String>,
    outbound: Option<OutboundSession>,
) {
    let on_drained: crate::outbox::OnDrained = Box::new(move || {
        let _ = drained.send(id);
    });
    let mut rd = io.reader;
    let wtx = match io.writer {
        SessionWriter::Direct(fd) => {
            direct_outbox(OUT_QUEUE, MAX_BACKLOG, on_drained, fd)
        }
        SessionWriter::Stream(wr) => {
            let (wtx, writer) = outbox(OUT_QUEUE, MAX_BACKLOG, on_drained);
            tokio::spawn(writer.run(wr));
            wtx
        }
    };
    tokio::spawn(async move {
        // Dropped when the session ends, however it ends: tells an active
        // remote's task to reconnect.
        let idle = outbound.as_ref().map(|o| o.idle.clone());
        let _outbound = outbound;
        let (kill_tx, mut kill) = oneshot::channel::<()>();
        let prober = wtx.clone();
        if let Err(wait) = send_event(&events, Event::Connected { id, writer: wtx, kill: kill_tx, remote, peer_id }) {
            if !wait.await {
                return;
            }
        }
        let mut framer = Framer::new(MAX_MESSAGE);
        // Small at first: most clients (monitors) send little; grown for
        // busy ones.
        let mut read_size = READ_BUF_MIN;
        // The inactivity timer, only where probes are on (not on unix
        // sockets, by default): restarted before each wait, as a new one.
        let mut timer = probe.map(|d| Box::pin(tokio::time::sleep(d)));
        // Set once a probe went out: silence until the next interval ends
        // the connection.
        let mut probing = false;
        let why = loop {
            if let Some(idle) = &idle {
                idle.store(probing, std::sync::atomic::Ordering::Relaxed);
            }
            if prober.full() {
                // Replies would pile up behind what the client has not
                // read: read no more requests until it catches up. Sending
                // progress is activity, as a reply to a probe would be.
                let progress = prober.progress();
                restart(&mut timer, probe);
                tokio::select! {
                    _ = &mut kill => return,
                    // Boxed, as the waits below: rare, and large.
                    _ = Box::pin(prober.writable()) => probing = false,
                    _ = expiry(&mut timer) => {
                        if prober.progress() != progress {
                            probing = false;
                        } else if probing {
                            let secs = probe.unwrap_or_default().as_secs_f64();
                            let why = "client read nothing with messages waiting, disconnecting";
                            break Some(format!("{why} (for {secs} seconds)"));
                        } else {
                            probing = true;
                        }
                    }
                }
                continue;
            }
            // Requests already read go to the core a few at a time: its
            // replies then show in the outbox (and pause the reading above)
            // before more are taken, even from one large read.
            let mut dispatched = 0;
            let mut bad = None;
            while dispatched < DISPATCH_BATCH {
                match framer.next_text() {
                    None => break,
                    Some(Ok(text)) => {
                        if let Err(wait) = send_event(&events, Event::Text(id, text)) {
                            if !wait.await {
                                return;
                            }
                        }
                        dispatched += 1;
                    }
                    Some(Err(e)) => {
                        bad = Some(e.to_string());
                        break;
                    }
                }
            }
            if bad.is_some() {
                break bad;
            }
            if dispatched == DISPATCH_BATCH {
                tokio::task::yield_now().await;
                continue;
            }
            restart(&mut timer, probe);
            let n = tokio::select! {
                // The main task dropped the connection.
                _ = &mut kill => return,
                r = read_into(&mut rd, &mut framer, read_size) => match r {
                    Ok(0) => break None,
                    Ok(n) => n,
                    Err(e) => break Some(format!("read error: {e}")),
                },
                _ = expiry(&mut timer) => {
                    if probing {
                        let secs = probe.unwrap_or_default().as_secs_f64();
                        break Some(format!("no response to inactivity probe after {secs} seconds, disconnecting"));
                    }
                    probing = true;
                    let _ = prober.push(Arc::new(ECHO_PROBE.to_vec()));
                    continue;
                }
            };
            probing = false;
            if n == read_size && read_size < READ_BUF_MAX {
                read_size *= 2;
            }
        };
        drop(prober);
        if let Err(wait) = send_event(&events, Event::Closed(id, why)) {
            wait.await;
        }
    });
}

/// What a session of an active remote shares with the remote's task.
struct OutboundSession {
    /// Held by the session, dropped when it ends (never read).
    _done: oneshot::Sender<()>,
    /// Set while an inactivity probe waits for its answer.
    idle: Arc<std::sync::atomic::AtomicBool>,
}

/// What an active remote's task needs.
struct Outbound {
    remote: Remote,
    name: String,
    tls: SharedTls,
    events: Channels,
    ids: Arc<std::sync::atomic::AtomicU64>,
    state: Arc<Mutex<ActiveState>>,
    /// The current session's [`OutboundSession::idle`].
    idle: Arc<std::sync::atomic::AtomicBool>,
}

impl Outbound {
    fn set(&self, f: impl FnOnce(&mut ActiveState)) {
        if let Ok(mut st) = self.state.lock() {
            f(&mut st);
        }
    }

    /// Connects once; on success the session is running and `done` is
    /// dropped when it ends.
    async fn connect(&self, id: SessionId, probe: Option<Duration>, done: oneshot::Sender<()>) -> Result<(), String> {
        let (events, name) = (self.events.clone(), Arc::<str>::from(self.name.as_str()));
        let timed = |_| "connection timed out".to_string();
        let outbound = OutboundSession { _done: done, idle: self.idle.clone() };
        let start = move |io, peer_id| spawn_session(io, id, events, probe, name, peer_id, Some(outbound));
        match &self.remote {
            Remote::ConnectUnix(p) => {
                let s = tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(p)).await.map_err(timed)?;
                start(SessionIo::unix(s.map_err(|e| io_reason(&e))?), None);
            }
            Remote::ConnectTcp(addr) => {
                let s = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await.map_err(timed)?;
                let s = s.map_err(|e| io_reason(&e))?;
                let _ = s.set_nodelay(true);
                start(SessionIo::tcp(s), None);
            }
            Remote::ConnectSsl(addr) => {
                let connector = self.tls.lock().ok().and_then(|t| t.as_ref().map(|t| t.connector.clone()));
                let connector = connector.ok_or("SSL is not configured (--private-key, --certificate, --ca-cert)")?;
                let s = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await.map_err(timed)?;
                let s = s.map_err(|e| io_reason(&e))?;
                let _ = s.set_nodelay(true);
                let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
                let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(rovn_tls::server_name(host), s))
                    .await
                    .map_err(|_| "SSL handshake timed out".to_string())?
                    .map_err(|e| format!("SSL handshake failed: {e}"))?;
                let peer_id =
                    tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| rovn_tls::common_name(c));
                start(SessionIo::stream(tls), peer_id);
            }
            Remote::Unix(_) | Remote::Tcp(_) | Remote::Ssl(_) => return Err("not an active remote".into()),
        }
        Ok(())
    }
}

/// An I/O error as upstream words the reason (strerror, no "os error").
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An active remote: connects, serves the session until it ends, waits,
/// and connects again, for as long as the remote is configured (the task is
/// aborted when it is removed), waiting between attempts as [`Backoff`]
/// says.
async fn connect_loop(peer: Outbound, options: Arc<Mutex<RemoteOptions>>) {
    let mut backoff = Backoff::new(None);
    let mut quiet = false;
    loop {
        let (probe, max) = options.lock().map(|o| (o.probe, o.max_backoff)).unwrap_or((None, None));
        backoff.set_max(max);
        peer.set(|st| st.state = "CONNECTING");
        if !quiet {
            tracing::info!("{}: connecting...", peer.name);
        }
        let id = peer.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (done_tx, done_rx) = oneshot::channel::<()>();
        match peer.connect(id, probe, done_tx).await {
            Ok(()) => {
                let since = Instant::now();
                tracing::info!("{}: connected", peer.name);
                quiet = false;
                peer.set(|st| {
                    st.state = "ACTIVE";
                    st.idle.store(false, std::sync::atomic::Ordering::Relaxed);
                    st.session = Some(id);
                    st.connected_at = Some(since);
                });
                let _ = done_rx.await;
                let now = Instant::now();
                tracing::info!("{}: connection closed", peer.name);
                peer.set(|st| {
                    st.state = "BACKOFF";
                    st.session = None;
                    st.disconnected_at = Some(now);
                });
                tokio::time::sleep(backoff.closed(now - since)).await;
            }
            Err(e) => {
                peer.set(|st| st.state = "BACKOFF");
                let wait = backoff.failed();
                if !quiet {
                    tracing::info!("{}: connection attempt failed ({e})", peer.name);
                    if backoff.at_max() {
                        tracing::info!(
                            "{}: continuing to reconnect in the background but suppressing further logging",
                            peer.name
                        );
                        quiet = true;
                    } else if wait > backoff.min {
                        tracing::info!("{}: waiting {} seconds before reconnect", peer.name, wait.as_secs());
                    }
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}
