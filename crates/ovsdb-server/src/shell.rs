//! The tokio shell around [`Core`]: listeners, connections, inactivity
//! probes, the control socket, and the task that owns the core.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::Framer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::core::{Action, Core, SessionId};
use crate::outbox::{outbox, Outbox, Refused, MAX_BACKLOG};
use crate::unixctl::{self, Commands, Handler, Reply};

/// Largest JSON-RPC message accepted from a client.
pub const MAX_MESSAGE: usize = 64 << 20;
/// Messages queued to one client before it counts as stuck and is dropped
/// (bytes are bounded too: [`MAX_BACKLOG`]).
const OUT_QUEUE: usize = 8192;
/// Idle time before a TCP client is probed (upstream's default; unix
/// socket clients are not probed).
pub const TCP_PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// The probe the server sends, as upstream words it.
const ECHO_PROBE: &[u8] = br#"{"id":"echo","method":"echo","params":[]}"#;

/// A passive remote to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `punix:PATH`
    Unix(PathBuf),
    /// `ptcp:PORT[:IP]`
    Tcp(String),
}

impl Remote {
    /// Parses `punix:PATH` or `ptcp:PORT[:IP]`.
    pub fn parse(s: &str) -> Result<Remote, String> {
        if let Some(p) = s.strip_prefix("punix:") {
            return Ok(Remote::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("ptcp:") {
            let (port, ip) = match rest.split_once(':') {
                Some((p, ip)) => (p, ip),
                None => (rest, "0.0.0.0"),
            };
            let port: u16 = port.parse().map_err(|_| format!("{s}: bad port number"))?;
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
            return Ok(Remote::Tcp(addr));
        }
        Err(format!("{s}: unsupported remote (expected punix:PATH or ptcp:PORT[:IP])"))
    }

    /// How long a client of this remote may stay silent before it is
    /// probed (and as long again before it is dropped).
    pub fn default_probe_interval(&self) -> Option<Duration> {
        match self {
            Remote::Unix(_) => None,
            Remote::Tcp(_) => Some(TCP_PROBE_INTERVAL),
        }
    }
}

impl std::fmt::Display for Remote {
    /// The remote as `--remote` names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "punix:{}", p.display()),
            Remote::Tcp(addr) => {
                let (ip, port) = addr.rsplit_once(':').unwrap_or(("", addr));
                if ip == "0.0.0.0" {
                    write!(f, "ptcp:{port}")
                } else {
                    write!(f, "ptcp:{port}:{ip}")
                }
            }
        }
    }
}

enum Event {
    Connected { id: SessionId, writer: Outbox, kill: oneshot::Sender<()>, remote: String },
    Message(SessionId, ovsdb::jsonrpc::Message),
    Closed(SessionId, Option<String>),
}

/// A running server.
pub struct Server {
    core: Core,
    remotes: Vec<Remote>,
    unixctl: Option<PathBuf>,
    commands: Commands,
    probe: Option<Option<Duration>>,
}

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
        Server { core, remotes, unixctl: None, commands, probe: None }
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
        let (ctl_tx, mut ctl_rx) = mpsc::channel::<unixctl::Event>(64);
        let mut shell = Shell {
            core: self.core,
            conns: HashMap::new(),
            listeners: BTreeMap::new(),
            events: tx,
            next_id: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            probe: self.probe,
            commands: self.commands,
        };
        let mut result = Ok(());
        for r in &self.remotes {
            if let Err(e) = shell.add_remote(r.clone()).await {
                result = Err(e);
                break;
            }
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
            shell.serve(shutdown, &mut rx, &mut ctl_rx).await;
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

/// One listening remote.
struct Listener {
    remote: Remote,
    task: JoinHandle<()>,
}

impl Listener {
    fn close(self) {
        self.task.abort();
        if let Remote::Unix(p) = &self.remote {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// One client connection, as the main task sees it. Dropping it closes the
/// connection: the reader stops, the writer flushes and shuts down.
struct Conn {
    writer: Outbox,
    _kill: oneshot::Sender<()>,
    remote: String,
}

/// The main task's state.
struct Shell {
    core: Core,
    conns: HashMap<SessionId, Conn>,
    /// Listening remotes by name (what `list-remotes` shows).
    listeners: BTreeMap<String, Listener>,
    events: mpsc::Sender<Event>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    probe: Option<Option<Duration>>,
    commands: Commands,
}

impl Shell {
    async fn serve(
        &mut self,
        shutdown: impl std::future::Future<Output = ()>,
        rx: &mut mpsc::Receiver<Event>,
        ctl: &mut mpsc::Receiver<unixctl::Event>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let deadline = self.core.poll_timeout();
            tokio::select! {
                _ = &mut shutdown => break,
                ev = rx.recv() => match ev {
                    None => break,
                    Some(Event::Connected { id, writer, kill, remote }) => {
                        // A remote removed meanwhile: drop the connection.
                        if self.listeners.contains_key(&remote) {
                            self.conns.insert(id, Conn { writer, _kill: kill, remote });
                            self.core.handle_connect(id);
                        }
                    }
                    Some(Event::Message(s, m)) => {
                        if self.conns.contains_key(&s) {
                            self.core.handle_message(s, m, Instant::now());
                        }
                    }
                    Some(Event::Closed(s, why)) => {
                        if let Some(why) = why {
                            tracing::info!(session = s, "closing connection: {why}");
                        }
                        self.disconnect(s);
                    }
                },
                ev = ctl.recv() => match ev {
                    None | Some(unixctl::Event::Exit) => break,
                    Some(unixctl::Event::Call(call)) => {
                        let reply = match self.commands.check(&call.method, &call.params) {
                            Ok(args) => self.control(&call.method, &args).await,
                            Err(e) => Reply::new(Err(e)),
                        };
                        let _ = call.reply.send(reply);
                    }
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.core.handle_timeout(Instant::now()),
            }
            self.flush();
        }
    }

    /// Carries out what the core asked for.
    fn flush(&mut self) {
        while let Some(a) = self.core.poll_action() {
            match a {
                Action::Send(s, bytes) => {
                    let Some(c) = self.conns.get(&s) else { continue };
                    if let Err(why) = c.writer.push(bytes) {
                        if why == Refused::Stuck {
                            let backlog = c.writer.backlog();
                            tracing::warn!(session = s, backlog, "client is not reading its messages; disconnecting it");
                        }
                        self.disconnect(s);
                    }
                }
                Action::Close(s) => self.disconnect(s),
            }
        }
    }

    fn disconnect(&mut self, s: SessionId) {
        if self.conns.remove(&s).is_some() {
            self.core.handle_disconnect(s);
        }
    }

    /// Starts listening on `r` (nothing if it already is).
    async fn add_remote(&mut self, r: Remote) -> std::io::Result<()> {
        let name = r.to_string();
        if self.listeners.contains_key(&name) {
            return Ok(());
        }
        let probe = self.probe.unwrap_or_else(|| r.default_probe_interval());
        let (events, ids) = (self.events.clone(), self.next_id.clone());
        let remote = name.clone();
        let task = match &r {
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
                                spawn_session(s, id, events.clone(), probe, remote.clone());
                            }
                            Err(e) => accept_failed(e).await,
                        }
                    }
                })
            }
            Remote::Tcp(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
                let bound = l.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.clone());
                tracing::info!(remote = %bound, "listening");
                tokio::spawn(async move {
                    loop {
                        match l.accept().await {
                            Ok((s, peer)) => {
                                let _ = s.set_nodelay(true);
                                let id = ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                tracing::debug!(session = id, %peer, "connection");
                                spawn_session(s, id, events.clone(), probe, remote.clone());
                            }
                            Err(e) => accept_failed(e).await,
                        }
                    }
                })
            }
        };
        self.listeners.insert(name, Listener { remote: r, task });
        Ok(())
    }

    /// Runs a built-in control command, or the program's handler for it.
    async fn control(&mut self, method: &str, args: &[String]) -> Reply {
        let result = match method {
            "exit" => return Reply { result: Ok(String::new()), exit: true },
            "list-commands" => Ok(self.commands.list()),
            "version" => Ok(format!("ovsdb-server (rovn) {}\n", env!("CARGO_PKG_VERSION"))),
            "memory/show" => {
                let items: Vec<String> = self.core.memory_usage().iter().map(|(k, v)| format!("{k}:{v}")).collect();
                Ok(items.join(" "))
            }
            "ovsdb-server/compact" => {
                self.core.handle_timeout(Instant::now());
                let r = self.core.compact_named(args.first().map(String::as_str)).map(|()| String::new());
                self.flush();
                r
            }
            "ovsdb-server/add-remote" => match Remote::parse(&args[0]) {
                Ok(r) => self.add_remote(r).await.map(|()| String::new()).map_err(|e| e.to_string()),
                Err(e) => Err(e),
            },
            "ovsdb-server/remove-remote" => {
                let name = Remote::parse(&args[0]).map(|r| r.to_string()).unwrap_or_else(|_| args[0].clone());
                match self.listeners.remove(&name) {
                    Some(l) => {
                        l.close();
                        let gone: Vec<SessionId> =
                            self.conns.iter().filter(|(_, c)| c.remote == name).map(|(s, _)| *s).collect();
                        for s in gone {
                            self.disconnect(s);
                        }
                        Ok(String::new())
                    }
                    None => Err("no such remote".into()),
                }
            }
            "ovsdb-server/list-remotes" => Ok(self.listeners.keys().map(|k| format!("{k}\n")).collect()),
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
            _ => self.commands.run_handler(method, args).unwrap_or_else(|| Err(format!("\"{method}\" is not implemented"))),
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

/// Sleeps for `d`, or forever.
async fn sleep_for(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

fn spawn_session<S>(stream: S, id: SessionId, events: mpsc::Sender<Event>, probe: Option<Duration>, remote: String)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(stream);
    let (wtx, writer) = outbox(OUT_QUEUE, MAX_BACKLOG);
    tokio::spawn(writer.run(wr));
    tokio::spawn(async move {
        let (kill_tx, mut kill) = oneshot::channel::<()>();
        let prober = wtx.clone();
        if events.send(Event::Connected { id, writer: wtx, kill: kill_tx, remote }).await.is_err() {
            return;
        }
        let mut framer = Framer::new(MAX_MESSAGE);
        let mut buf = vec![0u8; 64 * 1024];
        // Set once a probe went out: silence until the next interval ends
        // the connection.
        let mut probing = false;
        let why = loop {
            let n = tokio::select! {
                // The main task dropped the connection.
                _ = &mut kill => return,
                r = rd.read(&mut buf) => match r {
                    Ok(0) => break None,
                    Ok(n) => n,
                    Err(e) => break Some(format!("read error: {e}")),
                },
                _ = sleep_for(probe) => {
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
            framer.push(&buf[..n]);
            let mut bad = None;
            while let Some(m) = framer.next_message() {
                match m {
                    Ok(m) => {
                        if events.send(Event::Message(id, m)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        bad = Some(e.to_string());
                        break;
                    }
                }
            }
            if bad.is_some() {
                break bad;
            }
        };
        drop(prober);
        let _ = events.send(Event::Closed(id, why)).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_print_as_named() {
        for s in ["punix:/tmp/x.sock", "ptcp:6641", "ptcp:6641:127.0.0.1", "ptcp:0:[::1]"] {
            let r = Remote::parse(s).unwrap();
            let printed = r.to_string();
            assert_eq!(printed.replace(['[', ']'], ""), s.replace(['[', ']'], ""));
            assert_eq!(Remote::parse(&printed).unwrap(), r);
        }
        assert_eq!(Remote::parse("ptcp:6641:0.0.0.0").unwrap().to_string(), "ptcp:6641");
        assert_eq!(Remote::parse("ptcp:1").unwrap().default_probe_interval(), Some(Duration::from_secs(5)));
        assert_eq!(Remote::parse("punix:x").unwrap().default_probe_interval(), None);
    }
}
